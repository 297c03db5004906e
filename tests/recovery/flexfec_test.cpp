#include "tern/recovery/flexfec.h"

#include <doctest/doctest.h>

#include <map>
#include <vector>

#include "recovery_test_util.h"

using namespace tern;
using namespace tern::recovery;
using tern::recovery::test::random_frame;
using tern::recovery::test::same_bytes;

TEST_CASE("flexfec: wire layout with the 15-bit mask (RFC 8627 4.2.2.1)") {
  FecRepair r;
  r.sn_base = 0x1234;
  r.mask = 0b101;  // SN base and SN base + 2
  r.parity.bits = 0x10;  // X
  r.parity.marker_pt = 0xE0;
  r.parity.timestamp = 0xAABBCCDD;
  r.parity.length = 0x0102;
  r.parity.payload = {0xFE};
  const std::vector<uint8_t> expected = {0x10, 0xE0, 0x01, 0x02, 0xAA, 0xBB, 0xCC, 0xDD,
                                         0x12, 0x34, 0xD0, 0x00,  // k=1, then mask bits 0 and 2
                                         0xFE};
  CHECK(build_flexfec_payload(r) == expected);
  auto parsed = parse_flexfec_payload(expected);
  REQUIRE(parsed.ok());
  CHECK(parsed->sn_base == 0x1234);
  CHECK(parsed->offsets == std::vector<uint16_t>{0, 2});
  CHECK(parsed->parity.timestamp == 0xAABBCCDD);
  CHECK(parsed->parity.length == 0x0102);
  CHECK(parsed->parity.payload == std::vector<uint8_t>{0xFE});
}

TEST_CASE("flexfec: 46- and 109-bit masks round-trip and pick the shortest form") {
  for (uint64_t mask : {uint64_t{1} << 14, uint64_t{1} << 15, uint64_t{1} << 45, uint64_t{1} << 46,
                        (uint64_t{1} << 47) | 1}) {
    FecRepair r;
    r.sn_base = 65535;
    r.mask = mask;
    r.parity.payload = {1, 2, 3};
    const auto bytes = build_flexfec_payload(r);
    const size_t mask_bytes = mask < (uint64_t{1} << 15) ? 2 : (mask < (uint64_t{1} << 46) ? 6 : 14);
    CHECK(bytes.size() == 10 + mask_bytes + 3);
    auto parsed = parse_flexfec_payload(bytes);
    REQUIRE(parsed.ok());
    uint64_t back = 0;
    for (uint16_t o : parsed->offsets) back |= uint64_t{1} << o;
    CHECK(back == mask);
    CHECK(parsed->parity.payload == std::vector<uint8_t>{1, 2, 3});
  }
  // A hand-made 110-bit mask: the third chunk is 64 plain mask bits (no k bit), its first bit is
  // offset 46 and its last offset 109 (RFC 8627 section 4.2.2.1, "Mask [46-109]").
  std::vector<uint8_t> bytes = {0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                0x80, 0, 0, 0, 0, 0, 0, 0x01};
  auto parsed = parse_flexfec_payload(bytes);
  REQUIRE(parsed.ok());
  CHECK(parsed->offsets == std::vector<uint16_t>{46, 109});
  CHECK(parsed->protected_sequence_numbers() == std::vector<uint16_t>{56, 119});
}

TEST_CASE("flexfec: golden FEC header with all three mask chunks, built by hand from RFC 8627 4.2.2.1") {
  // Offsets 0, 15, 46 and 63: the first bit of each chunk and one inside the third.
  FecRepair r;
  r.sn_base = 0x1234;
  r.mask = (uint64_t{1} << 0) | (uint64_t{1} << 15) | (uint64_t{1} << 46) | (uint64_t{1} << 63);
  r.parity.bits = 0x10;
  r.parity.marker_pt = 0xE0;
  r.parity.timestamp = 0xAABBCCDD;
  r.parity.length = 0x0102;
  r.parity.payload = {0xFE};
  const std::vector<uint8_t> expected = {
      0x10, 0xE0, 0x01, 0x02,                          // R=0 F=0 P X CC | M PT | length recovery
      0xAA, 0xBB, 0xCC, 0xDD,                          // TS recovery
      0x12, 0x34, 0x40, 0x00,                          // SN base | k=0, Mask [0-14]: bit 0
      0x40, 0x00, 0x00, 0x00,                          // k=0, Mask [15-45]: bit 15
      0x80, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00,  // Mask [46-109]: bits 46 and 63
      0xFE};
  CHECK(build_flexfec_payload(r) == expected);
  auto parsed = parse_flexfec_payload(expected);
  REQUIRE(parsed.ok());
  CHECK(parsed->offsets == std::vector<uint16_t>{0, 15, 46, 63});
}

TEST_CASE("flexfec: golden repair packet (RFC 8627 4.2.1 + 4.2.2.1) recovers its one protected packet") {
  // The protected packet: seq 0x1234 + 46, PT 96, marker, ts 0x01020304, SSRC 0x1000, 3 bytes.
  const std::vector<uint8_t> media = {0x80, 0xE0, 0x12, 0x62, 0x01, 0x02, 0x03, 0x04,
                                      0x00, 0x00, 0x10, 0x00, 0xA1, 0xB2, 0xC3};
  // The repair packet by hand: RTP header with CC=1 and the protected SSRC as its CSRC, then the
  // FEC header with the 110-bit mask whose only bit is offset 46 (first bit of the third chunk),
  // then the repair payload (the protected packet's bytes after its fixed header).
  const std::vector<uint8_t> repair = {
      0x81, 49, 0x00, 0x07,    // V=2 CC=1 | PT 49 | seq 7
      0x01, 0x02, 0x03, 0x04,  // timestamp
      0x00, 0x00, 0x20, 0x00,  // SSRC of the FlexFEC stream
      0x00, 0x00, 0x10, 0x00,  // CSRC: the protected SSRC
      0x00, 0xE0, 0x00, 0x03,  // R=0 F=0 P=0 X=0 CC=0 | M=1 PT=96 | length recovery 3
      0x01, 0x02, 0x03, 0x04,  // TS recovery
      0x12, 0x34, 0x00, 0x00,  // SN base | k=0, Mask [0-14] empty
      0x00, 0x00, 0x00, 0x00,  // k=0, Mask [15-45] empty
      0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // Mask [46-109]: bit 46
      0xA1, 0xB2, 0xC3};
  auto fec = rtp::RtpPacket::parse(repair);
  REQUIRE(fec.ok());
  FlexfecReceiver rx({0x2000, 49, 0x1000, {}});
  const auto recovered = rx.on_packet(*fec);
  REQUIRE(recovered.size() == 1);
  CHECK(std::vector<uint8_t>(recovered[0].data().begin(), recovered[0].data().end()) == media);

  // A repair packet naming another SSRC in its CSRC list (or none) protects something else.
  auto other = repair;
  other[15] = 0x01;
  FlexfecReceiver rx2({0x2000, 49, 0x1000, {}});
  CHECK(rx2.on_packet(rtp::RtpPacket::parse(other).value()).empty());
  CHECK(rx2.stats().fec_packets_discarded == 1);
}

TEST_CASE("flexfec generator: the protected SSRC goes in the repair packet's CSRC list (RFC 8627 4.2.1)") {
  Random rng(3);
  FlexfecGenerator gen({0x2000, 49, 0, 0x1000});
  gen.set_protection({255, 1, FecMaskType::kRandom}, {255, 1, FecMaskType::kRandom});
  for (auto& p : random_frame(rng, 100, 0, 0x1000, 96, 4)) gen.add_media_packet(p, false);
  const auto fec = gen.take_fec_packets();
  REQUIRE(!fec.empty());
  for (const auto& p : fec) {
    CHECK(p.ssrc() == 0x2000);
    REQUIRE(p.view().csrc_count() == 1);
    CHECK(p.view().csrc(0) == 0x1000);
  }
}

TEST_CASE("flexfec: R=1, F=1, truncated headers and masks are rejected") {
  FecRepair r;
  r.mask = uint64_t{1} << 40;  // needs the 46-bit form
  r.parity.payload = {};
  const auto good = build_flexfec_payload(r);
  REQUIRE(parse_flexfec_payload(good).ok());
  for (size_t n = 0; n < good.size(); ++n) CHECK(!parse_flexfec_payload(std::span<const uint8_t>(good.data(), n)).ok());
  auto rbit = good;
  rbit[0] |= 0x80;
  CHECK(!parse_flexfec_payload(rbit).ok());
  auto fbit = good;
  fbit[0] |= 0x40;
  CHECK(!parse_flexfec_payload(fbit).ok());
  std::vector<uint8_t> empty_mask(12, 0);
  empty_mask[10] = 0x80;
  CHECK(std::string(parse_flexfec_payload(empty_mask).error()) == "flexfec: empty mask");
  std::vector<uint8_t> long_claim(12 + 4, 0);  // k=0 twice but the 64-bit chunk is missing
  CHECK(std::string(parse_flexfec_payload(long_claim).error()) == "flexfec: truncated mask");
}

TEST_CASE("flexfec: end to end on its own SSRC, random losses, byte-exact recovery") {
  constexpr uint32_t kMedia = 0x1000, kFec = 0x2000;
  for (uint64_t seed : {21u, 22u, 23u}) {
    INFO("seed " << seed);
    Random rng(seed);
    FlexfecGenerator gen({kFec, 49, 500, kMedia});
    gen.set_protection({90, 1, FecMaskType::kRandom}, {200, 1, FecMaskType::kRandom});
    FlexfecReceiver rx({kFec, 49, kMedia, {}});
    std::map<uint16_t, rtp::RtpPacket> originals;
    size_t lost = 0, recovered = 0;
    uint16_t seq = 65300;
    uint16_t expected_fec_seq = 500;
    for (int f = 0; f < 150; ++f) {
      const size_t n = static_cast<size_t>(rng.uniform_int(1, 12));
      auto frame = random_frame(rng, seq, static_cast<uint32_t>(f) * 3000u, kMedia, 96, n);
      seq = static_cast<uint16_t>(seq + n);
      std::vector<rtp::RtpPacket> wire;
      for (auto& p : frame) {
        gen.add_media_packet(p, f == 0);
        originals.emplace(p.sequence_number(), p);
        wire.push_back(p);
      }
      for (auto& p : gen.take_fec_packets()) {
        CHECK(p.ssrc() == kFec);
        CHECK(p.sequence_number() == expected_fec_seq++);
        wire.push_back(std::move(p));
      }
      for (auto& p : wire) {
        if (rng.bernoulli(0.06)) {
          lost += p.ssrc() == kMedia ? 1 : 0;
          continue;
        }
        for (auto& rec : rx.on_packet(p)) {
          REQUIRE(originals.count(rec.sequence_number()) == 1);
          CHECK(same_bytes(rec, originals.at(rec.sequence_number())));
          ++recovered;
        }
      }
    }
    CHECK(lost > 0);
    CHECK(recovered > lost / 3);
    CHECK(rx.stats().packets_recovered == recovered);
  }
}

TEST_CASE("flexfec: packets of other SSRCs are ignored by generator and receiver") {
  Random rng(5);
  FlexfecGenerator gen({2, 49, 0, 1});
  gen.set_protection({255, 1, FecMaskType::kRandom}, {255, 1, FecMaskType::kRandom});
  for (auto& p : random_frame(rng, 0, 0, 99, 96, 4)) gen.add_media_packet(p, false);
  CHECK(gen.pending_fec_packets() == 0);
  FlexfecReceiver rx({2, 49, 1, {}});
  for (auto& p : random_frame(rng, 0, 0, 99, 96, 4)) CHECK(rx.on_packet(p).empty());
}

TEST_CASE("flexfec receiver: seeded garbage neither crashes nor yields invalid packets") {
  Random rng(12);
  FlexfecReceiver rx({2, 49, 1, {32, 8}});
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> bytes(static_cast<size_t>(rng.uniform_int(12, 90)));
    for (auto& b : bytes) b = static_cast<uint8_t>(rng.next_u32());
    bytes[0] = static_cast<uint8_t>(0x80 | (bytes[0] & 0x0F));
    const bool fec = rng.bernoulli(0.5);
    bytes[1] = fec ? 49 : 96;
    bytes[8] = bytes[9] = bytes[10] = 0;
    bytes[11] = fec ? 2 : 1;
    auto p = rtp::RtpPacket::parse(std::move(bytes));
    if (!p) continue;
    for (const auto& rec : rx.on_packet(*p)) {
      CHECK(rec.ssrc() == 1);
      CHECK(rtp::RtpPacketView::parse(rec.data()).ok());
    }
  }
  CHECK(rx.stats().fec_packets_discarded <= rx.stats().fec_packets_received);
}
