#include "tern/recovery/ulpfec.h"

#include <doctest/doctest.h>

#include <map>
#include <set>
#include <vector>

#include "recovery_test_util.h"
#include "tern/core/byte_io.h"
#include "tern/recovery/red.h"

using namespace tern;
using namespace tern::recovery;
using tern::recovery::test::random_frame;
using tern::recovery::test::same_bytes;

namespace {

rtp::RtpPacket make(uint16_t seq, uint32_t ts, bool marker, std::vector<uint8_t> payload) {
  rtp::RtpPacketBuilder b;
  b.set_payload_type(96).set_sequence_number(seq).set_timestamp(ts).set_ssrc(0x11223344).set_marker(marker);
  b.set_payload(payload);
  return b.build().value();
}

FecProtection protection(uint8_t rate, size_t frames = 1, FecMaskType type = FecMaskType::kRandom) {
  return FecProtection{rate, frames, type};
}

}  // namespace

TEST_CASE("ulpfec: wire layout of a two-packet FEC payload (RFC 5109 7.3/7.4)") {
  const auto a = make(100, 1000, false, {1, 2, 3});
  const auto b = make(101, 1003, true, {4, 5});
  FecGroupEncoder enc;
  enc.set_protection(protection(255), protection(255));
  CHECK(enc.add_media_packet(a, false).empty());
  // k=2, rate 255 -> m=2 with the table masks {0},{1}; use one parity over both instead.
  const rtp::RtpPacket* both[] = {&a, &b};
  FecRepair r;
  r.sn_base = 100;
  r.mask = 0b11;
  r.parity = compute_parity(both);
  const std::vector<uint8_t> expected = {
      0x00, 0x80,              // E=0 L=0 P=0 X=0 CC=0, M^M=1 PT^PT=0
      0x00, 0x64,              // SN base 100
      0x00, 0x00, 0x00, 0x03,  // TS recovery 1000 ^ 1003
      0x00, 0x01,              // length recovery 3 ^ 2
      0x00, 0x03,              // protection length
      0xC0, 0x00,              // mask: SN base and SN base + 1
      0x05, 0x07, 0x03};       // 1^4, 2^5, 3
  CHECK(build_ulpfec_payload(r) == expected);
  auto parsed = parse_ulpfec_payload(expected);
  REQUIRE(parsed.ok());
  CHECK(parsed->sn_base == 100);
  CHECK(!parsed->long_mask);
  CHECK(parsed->protected_sequence_numbers() == std::vector<uint16_t>{100, 101});
  CHECK(parsed->parity.payload == std::vector<uint8_t>{5, 7, 3});
  // Recover b from the FEC and a.
  XorParity residual = parsed->parity;
  residual.add(a.data());
  auto rebuilt = rebuild_from_parity(residual, 101, 0x11223344);
  REQUIRE(rebuilt.ok());
  CHECK(same_bytes(*rebuilt, b));
}

TEST_CASE("ulpfec: masks beyond 16 packets set the L bit and round-trip") {
  FecRepair r;
  r.sn_base = 65530;
  r.mask = (uint64_t{1} << 47) | (uint64_t{1} << 16) | 1;
  r.parity.payload = {9, 9};
  const auto bytes = build_ulpfec_payload(r);
  CHECK((bytes[0] & 0x40) != 0);
  CHECK(bytes.size() == 10 + 8 + 2);
  auto parsed = parse_ulpfec_payload(bytes);
  REQUIRE(parsed.ok());
  CHECK(parsed->long_mask);
  CHECK(parsed->mask == r.mask);
  CHECK(parsed->protected_sequence_numbers() == std::vector<uint16_t>{65530, 10, 41});  // wraps
}

TEST_CASE("ulpfec: bad payloads are rejected with a reason") {
  FecRepair r;
  r.sn_base = 7;
  r.mask = 0x3;
  r.parity.payload = {1, 2, 3, 4};
  const auto good = build_ulpfec_payload(r);
  REQUIRE(parse_ulpfec_payload(good).ok());
  for (size_t n = 0; n < good.size(); ++n) {
    CHECK(!parse_ulpfec_payload(std::span<const uint8_t>(good.data(), n)).ok());
  }
  CHECK(std::string(parse_ulpfec_payload(std::span<const uint8_t>(good.data(), 5)).error()) ==
        "ulpfec: truncated FEC header");
  auto long_claim = good;
  long_claim[0] |= 0x40;  // L=1 but only a 4-byte level header follows, then 4 bytes payload
  long_claim.resize(10 + 6);
  CHECK(std::string(parse_ulpfec_payload(long_claim).error()) == "ulpfec: truncated level 0 header");
  auto e_bit = good;
  e_bit[0] |= 0x80;
  CHECK(!parse_ulpfec_payload(e_bit).ok());
  auto lying = good;
  lying[11] = 200;  // protection length past the end
  CHECK(std::string(parse_ulpfec_payload(lying).error()) == "ulpfec: protection length past the end");
  auto empty_mask = good;
  empty_mask[12] = empty_mask[13] = 0;
  CHECK(!parse_ulpfec_payload(empty_mask).ok());
}

namespace {

struct EndToEnd {
  size_t media = 0, lost = 0, recovered = 0, fec = 0;
};

// Sends `frames` random frames through a generator, drops media and FEC packets at `loss`,
// feeds the rest to a receiver and checks that every recovered packet equals the original.
EndToEnd run_end_to_end(uint64_t seed, std::optional<uint8_t> red_pt, double loss, uint8_t rate,
                        FecMaskType type, size_t frames, uint16_t first_seq) {
  Random rng(seed);
  constexpr uint32_t kSsrc = 0xCAFE;
  UlpfecGenerator gen({122, red_pt});
  gen.set_protection(protection(rate, 1, type), protection(255, 1, type));
  UlpfecReceiver rx({kSsrc, 122, red_pt, {}});
  std::map<uint16_t, rtp::RtpPacket> originals;
  std::set<uint16_t> delivered;
  EndToEnd r;
  uint16_t seq = first_seq;
  for (size_t f = 0; f < frames; ++f) {
    const size_t n = static_cast<size_t>(rng.uniform_int(1, 12));
    auto frame = random_frame(rng, seq, static_cast<uint32_t>(f * 3000), kSsrc, 96, n);
    seq = static_cast<uint16_t>(seq + n);
    std::vector<rtp::RtpPacket> wire;
    for (auto& p : frame) {
      gen.add_media_packet(p, f % 10 == 0);
      originals.emplace(p.sequence_number(), p);
      wire.push_back(red_pt ? wrap_red(p, *red_pt).value() : p);
    }
    auto fec = gen.take_fec_packets(seq);
    seq = static_cast<uint16_t>(seq + fec.size());
    r.fec += fec.size();
    for (auto& p : fec) wire.push_back(std::move(p));
    for (auto& p : wire) {
      const bool is_fec = originals.count(p.sequence_number()) == 0;
      if (!is_fec) ++r.media;
      if (rng.bernoulli(loss)) {
        if (!is_fec) ++r.lost;
        continue;
      }
      auto out = rx.on_packet(p);
      if (out.media) {
        REQUIRE(!is_fec);
        CHECK(same_bytes(*out.media, originals.at(p.sequence_number())));  // RED unwrapped exactly
        delivered.insert(out.media->sequence_number());
      }
      for (auto& rec : out.recovered) {
        REQUIRE(originals.count(rec.sequence_number()) == 1);
        CHECK(delivered.count(rec.sequence_number()) == 0);  // never a duplicate
        CHECK(same_bytes(rec, originals.at(rec.sequence_number())));
        delivered.insert(rec.sequence_number());
        ++r.recovered;
      }
    }
  }
  CHECK(rx.stats().packets_recovered == r.recovered);
  CHECK(gen.stats().fec_packets_sent == r.fec);
  return r;
}

}  // namespace

TEST_CASE("ulpfec: end to end, plain FEC payload type (rtpulpfecenc style), byte-exact recovery") {
  for (uint64_t seed : {1u, 2u, 3u}) {
    INFO("seed " << seed);
    auto r = run_end_to_end(seed, std::nullopt, 0.05, 80, FecMaskType::kRandom, 200, 65000);
    CHECK(r.lost > 0);
    CHECK(r.recovered > r.lost / 3);
  }
}

TEST_CASE("ulpfec: end to end inside RED, bursty masks, byte-exact recovery") {
  for (uint64_t seed : {7u, 8u}) {
    INFO("seed " << seed);
    auto r = run_end_to_end(seed, 127, 0.05, 100, FecMaskType::kBursty, 200, 12);
    CHECK(r.lost > 0);
    CHECK(r.recovered > r.lost / 3);
  }
}

TEST_CASE("ulpfec: one lost packet per protected frame is always recovered") {
  Random rng(42);
  constexpr uint32_t kSsrc = 5;
  UlpfecGenerator gen({122, std::nullopt});
  gen.set_protection(protection(60), protection(60));
  UlpfecReceiver rx({kSsrc, 122, std::nullopt, {}});
  uint16_t seq = 65500;  // crosses the wrap
  for (int f = 0; f < 30; ++f) {
    const size_t n = static_cast<size_t>(rng.uniform_int(2, 12));
    auto frame = random_frame(rng, seq, static_cast<uint32_t>(f) * 3000u, kSsrc, 100, n);
    seq = static_cast<uint16_t>(seq + n);
    for (auto& p : frame) gen.add_media_packet(p, false);
    auto fec = gen.take_fec_packets(seq);
    REQUIRE(!fec.empty());
    seq = static_cast<uint16_t>(seq + fec.size());
    const size_t drop = static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(n) - 1));
    std::vector<rtp::RtpPacket> recovered;
    for (size_t i = 0; i < n; ++i) {
      if (i == drop) continue;
      for (auto& p : rx.on_packet(frame[i]).recovered) recovered.push_back(p);
    }
    for (auto& p : fec) {
      for (auto& q : rx.on_packet(p).recovered) recovered.push_back(q);
    }
    REQUIRE(recovered.size() == 1);
    CHECK(same_bytes(recovered[0], frame[drop]));
  }
}

TEST_CASE("ulpfec: a 20-packet frame uses the 48-bit mask and chains recoveries for a burst") {
  Random rng(9);
  constexpr uint32_t kSsrc = 77;
  UlpfecGenerator gen({122, std::nullopt});
  gen.set_protection(protection(128, 1, FecMaskType::kBursty), protection(128, 1, FecMaskType::kBursty));
  UlpfecReceiver rx({kSsrc, 122, std::nullopt, {}});
  auto frame = random_frame(rng, 1000, 90000, kSsrc, 96, 20);
  for (auto& p : frame) gen.add_media_packet(p, false);
  auto fec = gen.take_fec_packets(1020);
  REQUIRE(fec.size() == 10);
  for (auto& p : fec) CHECK((p.payload()[0] & 0x40) != 0);  // L on every packet of a 20-group
  // Lose a burst of 10 consecutive media packets: needs several chained recoveries.
  std::vector<rtp::RtpPacket> recovered;
  for (size_t i = 0; i < frame.size(); ++i) {
    if (i >= 5 && i < 15) continue;
    for (auto& p : rx.on_packet(frame[i]).recovered) recovered.push_back(p);
  }
  for (auto& p : fec) {
    for (auto& q : rx.on_packet(p).recovered) recovered.push_back(q);
  }
  CHECK(recovered.size() == 10);
  for (auto& p : recovered) CHECK(same_bytes(p, frame[p.sequence_number() - 1000]));
}

TEST_CASE("ulpfec: keyframes get the keyframe protection, groups span max_frames frames") {
  Random rng(3);
  UlpfecGenerator gen({122, std::nullopt});
  gen.set_protection(protection(26, 2), protection(255, 1));
  auto f1 = random_frame(rng, 0, 0, 1, 96, 10);
  for (auto& p : f1) gen.add_media_packet(p, true);
  CHECK(gen.pending_fec_packets() == 10);  // key: 255 -> one FEC per media packet
  CHECK(gen.take_fec_packets(10).size() == 10);
  auto f2 = random_frame(rng, 20, 3000, 1, 96, 10);
  for (auto& p : f2) gen.add_media_packet(p, false);
  CHECK(gen.pending_fec_packets() == 0);  // delta: waits for the second frame
  auto f3 = random_frame(rng, 30, 6000, 1, 96, 10);
  for (auto& p : f3) gen.add_media_packet(p, false);
  CHECK(gen.pending_fec_packets() == 2);  // 20 packets at 26/256 -> 2
  auto fec = gen.take_fec_packets(40);
  CHECK(fec[0].sequence_number() == 40);
  CHECK(fec[1].sequence_number() == 41);
  CHECK(fec[0].payload_type() == 122);
  CHECK(fec[0].ssrc() == 1);
  CHECK(fec[0].timestamp() == 6000);
  CHECK(!fec[0].marker());
}

TEST_CASE("ulpfec: RED-wrapped FEC carries the ULPFEC payload type in the RED header") {
  Random rng(4);
  UlpfecGenerator gen({122, 127});
  gen.set_protection(protection(128), protection(128));
  for (auto& p : random_frame(rng, 0, 0, 1, 96, 4)) gen.add_media_packet(p, false);
  auto fec = gen.take_fec_packets(4);
  REQUIRE(!fec.empty());
  CHECK(fec[0].payload_type() == 127);
  auto red = parse_red_payload(fec[0].payload());
  REQUIRE(red.ok());
  CHECK(red->redundant.empty());
  CHECK(red->primary.payload_type == 122);
  CHECK(parse_ulpfec_payload(red->primary.data).ok());
}

TEST_CASE("ulpfec receiver: garbage FEC packets neither crash nor recover, and are counted") {
  Random rng(11);
  UlpfecReceiver rx({1, 122, 127, {32, 8}});
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> bytes(static_cast<size_t>(rng.uniform_int(12, 80)));
    for (auto& b : bytes) b = static_cast<uint8_t>(rng.next_u32());
    bytes[0] = static_cast<uint8_t>(0x80 | (bytes[0] & 0x0F));
    store_be32(&bytes[8], 1);
    bytes[1] = static_cast<uint8_t>(rng.bernoulli(0.5) ? 122 : (rng.bernoulli(0.5) ? 127 : 96));
    auto p = rtp::RtpPacket::parse(std::move(bytes));
    if (!p) continue;
    (void)rx.on_packet(*p);
  }
  const auto s = rx.stats();
  CHECK(s.fec_packets_received > 0);
  CHECK(s.fec_packets_discarded <= s.fec_packets_received);
}
