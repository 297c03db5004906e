// RFC 4585 / RFC 5104 / REMB feedback: NACK PID/BLP packing (wraparound, long gaps), PLI, FIR and
// the REMB mantissa/exponent rate encoding, from hand-assembled wire layouts and round trips.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "rtp/rtcp_test_util.h"
#include "tern/rtp/rtcp/rtcp_packet.h"

using namespace tern;
using namespace tern::rtcp;
using namespace tern::rtcp::test;

TEST_CASE("rtcp NACK: RFC 4585 6.2.1 layout, PID and BLP") {
  const std::vector<uint8_t> wire = {
      0x81, 0xCD, 0x00, 0x03,  // FMT=1 PT=205 length=3
      0x00, 0x00, 0x00, 0x01,  // sender SSRC
      0x00, 0x00, 0x00, 0x02,  // media SSRC
      0x00, 0x64, 0x80, 0x01,  // PID=100, BLP: 101 (bit 0) and 116 (bit 15)
  };
  auto nack = parse_one<Nack>(wire);
  REQUIRE_MESSAGE(nack.ok(), nack.error());
  CHECK(nack->sender_ssrc == 1);
  CHECK(nack->media_ssrc == 2);
  CHECK(nack->lost == std::vector<uint16_t>{100, 101, 116});
  CHECK(serialize(*nack) == wire);
}

TEST_CASE("rtcp NACK: packing across the 16-bit wrap") {
  Nack nack{1, 2, {65533, 65534, 65535, 0, 1, 12}};
  CHECK(nack.item_count() == 1);  // all within 16 after PID 65533
  const auto wire = serialize(nack);
  CHECK(load_be16(&wire[12]) == 65533);
  // offsets 1, 2, 3, 4, 15 -> bits 0, 1, 2, 3, 14
  CHECK(load_be16(&wire[14]) == 0x400F);
  CHECK(roundtrip(nack) == nack);
}

TEST_CASE("rtcp NACK: gaps over 16 start new entries, 17 numbers fill one entry") {
  Nack full{1, 2, {}};
  for (uint16_t s = 1000; s < 1017; ++s) full.lost.push_back(s);
  CHECK(full.item_count() == 1);
  CHECK(load_be16(&serialize(full)[14]) == 0xFFFF);
  full.lost.push_back(1017);  // 18th number needs a second entry
  CHECK(full.item_count() == 2);
  CHECK(roundtrip(full) == full);

  // Twenty numbers each more than 16 apart: one entry each, BLP 0.
  Nack sparse{1, 2, {}};
  for (uint16_t i = 0; i < 20; ++i) sparse.lost.push_back(static_cast<uint16_t>(65000 + i * 40));
  CHECK(sparse.item_count() == 20);
  const auto wire = serialize(sparse);
  for (size_t i = 0; i < 20; ++i) CHECK(load_be16(&wire[14 + 4 * i]) == 0);
  CHECK(roundtrip(sparse) == sparse);
}

TEST_CASE("rtcp NACK: unsorted and duplicate numbers survive in order") {
  Nack odd{1, 2, {10, 11, 11, 5, 12, 10}};
  CHECK(roundtrip(odd) == odd);
}

TEST_CASE("rtcp NACK: bad bodies") {
  const std::vector<uint8_t> no_fci = {0x81, 0xCD, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2};
  auto r = parse_one<Nack>(no_fci);
  REQUIRE_FALSE(r.ok());
  CHECK(std::strcmp(r.error(), "rtcp nack: no FCI entries") == 0);
  const std::vector<uint8_t> short_header = {0x81, 0xCD, 0x00, 0x01, 0, 0, 0, 1};
  CHECK_FALSE(parse_one<Nack>(short_header).ok());
}

TEST_CASE("rtcp NACK: seeded property, random ascending lists round-trip") {
  Random rng(1234);
  for (int i = 0; i < 200; ++i) {
    const Nack n = random_nack(rng);
    CHECK(roundtrip(n) == n);
    CHECK(n.item_count() <= n.lost.size());
  }
}

TEST_CASE("rtcp PLI: layout") {
  const std::vector<uint8_t> wire = {0x81, 0xCE, 0x00, 0x02, 0, 0, 0, 1, 0xAB, 0xCD, 0xEF, 0x01};
  auto pli = parse_one<Pli>(wire);
  REQUIRE(pli.ok());
  CHECK(*pli == Pli{1, 0xABCDEF01});
  CHECK(serialize(*pli) == wire);
  const std::vector<uint8_t> cut = {0x81, 0xCE, 0x00, 0x01, 0, 0, 0, 1};
  CHECK_FALSE(parse_one<Pli>(cut).ok());
}

TEST_CASE("rtcp FIR: RFC 5104 4.3.1 layout") {
  const std::vector<uint8_t> wire = {
      0x84, 0xCE, 0x00, 0x04,  // FMT=4 PT=206 length=4
      0x00, 0x00, 0x00, 0x01,  // sender SSRC
      0x00, 0x00, 0x00, 0x00,  // media SSRC (unused)
      0x00, 0x00, 0x30, 0x39,  // SSRC 12345
      0x07, 0x00, 0x00, 0x00,  // seq nr 7
  };
  auto fir = parse_one<Fir>(wire);
  REQUIRE(fir.ok());
  REQUIRE(fir->entries.size() == 1);
  CHECK(fir->entries[0] == FirEntry{12345, 7});
  CHECK(serialize(*fir) == wire);

  auto cut = wire;
  cut[3] = 0x03;
  cut.resize(16);  // half an entry
  CHECK_FALSE(parse_one<Fir>(cut).ok());
  Random rng(3);
  for (int i = 0; i < 50; ++i) {
    const Fir f = random_fir(rng);
    CHECK(roundtrip(f) == f);
  }
}

TEST_CASE("rtcp REMB: layout and mantissa/exponent") {
  const std::vector<uint8_t> wire = {
      0x8F, 0xCE, 0x00, 0x05,  // FMT=15 PT=206 length=5
      0x00, 0x00, 0x00, 0x01,  // sender SSRC
      0x00, 0x00, 0x00, 0x00,  // media SSRC
      'R',  'E',  'M',  'B',
      0x01, 0x0B, 0xFB, 0x93,  // 1 SSRC, exp 2, mantissa 0x3FB93
      0x00, 0x00, 0x00, 0x63,  // SSRC 99
  };
  auto remb = parse_one<Remb>(wire);
  REQUIRE_MESSAGE(remb.ok(), remb.error());
  CHECK(remb->bitrate == DataRate::BitsPerSec(0x3FB93 * 4));
  CHECK(remb->ssrcs == std::vector<uint32_t>{99});
  CHECK(serialize(*remb) == wire);

  auto not_remb = wire;
  not_remb[12] = 'X';
  CHECK_FALSE(Remb::is_remb(std::span(not_remb).subspan(4)));
  CHECK_FALSE(parse_one<Remb>(not_remb).ok());
  auto too_many = wire;
  too_many[16] = 2;  // two SSRCs announced, one present
  CHECK_FALSE(parse_one<Remb>(too_many).ok());
}

TEST_CASE("rtcp REMB: large rates keep 18 significant bits, rounding down") {
  CHECK(Remb::Encode(DataRate::BitsPerSec((1 << 18) - 1)).exponent == 0);
  CHECK(Remb::Encode(DataRate::BitsPerSec(1 << 18)).exponent == 1);
  for (int64_t bps : {int64_t{300'000}, int64_t{2'500'000}, int64_t{10'000'000'000}, int64_t{1} << 40,
                      (int64_t{1} << 62) + 12345}) {
    const Remb::Encoded e = Remb::Encode(DataRate::BitsPerSec(bps));
    CHECK(e.mantissa < (1u << 18));
    CHECK(e.mantissa >= (1u << 17));  // smallest exponent: the top mantissa bit is used
    const Remb back = roundtrip(Remb{1, 0, DataRate::BitsPerSec(bps), {2}});
    CHECK(back.bitrate.bps() <= bps);
    CHECK(static_cast<double>(bps - back.bitrate.bps()) < static_cast<double>(bps) / (1 << 17));
  }
  // 10 Gbps: exponent 16.
  CHECK(Remb::Encode(DataRate::BitsPerSec(10'000'000'000)).exponent == 16);
  CHECK(roundtrip(Remb{1, 0, DataRate::BitsPerSec(-5), {}}).bitrate == DataRate::Zero());
  const DataRate inf = roundtrip(Remb{1, 0, DataRate::PlusInfinity(), {}}).bitrate;
  CHECK(inf.is_finite());
  CHECK(inf.bps() == int64_t{(1 << 18) - 1} << 45);

  // A wire exponent that would overflow int64 is rejected.
  std::vector<uint8_t> huge = serialize(Remb{1, 0, DataRate::BitsPerSec(1), {}});
  huge[17] = 0xFF;  // exp 63, mantissa high bits set
  CHECK_FALSE(parse_one<Remb>(huge).ok());

  Random rng(99);
  for (int i = 0; i < 100; ++i) {
    const Remb r = random_remb(rng);
    CHECK(roundtrip(r) == r);
  }
}
