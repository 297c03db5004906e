// RFC 8888 congestion control feedback: a hand-assembled two-stream vector (ECN codepoints,
// over-range and unavailable offsets, odd-count padding, sequence wrap), builder limits, seeded
// round trips and rejection of truncated or inconsistent input.
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rtp/rtcp_test_util.h"
#include "tern/core/random.h"
#include "tern/rtp/rtcp/congestion_control_feedback.h"

using namespace tern;
using namespace tern::rtcp;
using namespace tern::rtcp::test;

namespace {

using Ccfb = CongestionControlFeedback;
using Report = Ccfb::PacketReport;

Result<Ccfb> parse_payload(std::span<const uint8_t> payload) {
  CommonHeader h;
  h.count = Ccfb::kFormat;
  h.packet_type = Ccfb::kPacketType;
  h.packet_size = kCommonHeaderSize + payload.size();
  h.payload = payload;
  return Ccfb::parse(h);
}

std::string reason(const Result<Ccfb>& r) { return r.error(); }

}  // namespace

TEST_CASE("rtcp ccfb: RFC 8888 3.1 layout, two streams") {
  const std::vector<uint8_t> wire = {
      0x8B, 0xCD, 0x00, 0x09,  // FMT=11 PT=205 length=9
      0x11, 0x22, 0x33, 0x44,  // sender SSRC
      0xAA, 0xBB, 0xCC, 0xDD,  // SSRC of 1st stream
      0xFF, 0xFE, 0x00, 0x03,  // begin_seq 65534, num_reports 3
      0xE4, 0x00,              // R=1 ECN=11 (CE) ATO=1024 (1 s)
      0x00, 0x00,              // not received
      0xDF, 0xFE,              // R=1 ECN=10 (ECT(0)) ATO=0x1FFE over-range
      0x00, 0x00,              // padding to 32 bits
      0x01, 0x02, 0x03, 0x04,  // SSRC of 2nd stream
      0x00, 0x0A, 0x00, 0x02,  // begin_seq 10, num_reports 2
      0x9F, 0xFF,              // R=1 ECN=00 ATO=0x1FFF unavailable
      0xA0, 0x01,              // R=1 ECN=01 (ECT(1)) ATO=1 (1/1024 s)
      0x12, 0x34, 0x56, 0x78,  // report timestamp
  };
  auto fb = parse_one<Ccfb>(wire);
  REQUIRE_MESSAGE(fb.ok(), fb.error());
  CHECK(fb->sender_ssrc() == 0x11223344);
  CHECK(fb->report_timestamp() == 0x12345678);
  REQUIRE(fb->streams().size() == 2);
  const auto& s1 = fb->streams()[0];
  CHECK(s1.media_ssrc == 0xAABBCCDD);
  CHECK(s1.begin_seq == 65534);
  REQUIRE(s1.packets.size() == 3);  // 65534, 65535, 0
  CHECK(s1.packets[0] == Report{true, EcnMarking::kCe, TimeDelta::Seconds(1)});
  CHECK(s1.packets[1] == Report{});
  CHECK(s1.packets[2] == Report{true, EcnMarking::kEct0, TimeDelta::PlusInfinity()});
  const auto& s2 = fb->streams()[1];
  CHECK(s2.media_ssrc == 0x01020304);
  CHECK(s2.begin_seq == 10);
  CHECK(s2.packets == std::vector<Report>{{true, EcnMarking::kNotEct, std::nullopt},
                                          {true, EcnMarking::kEct1, TimeDelta::Micros(977)}});
  CHECK(fb->size() == wire.size());
  CHECK(serialize(*fb) == wire);
}

TEST_CASE("rtcp ccfb: arrival time offset coding") {
  CHECK(Ccfb::ato_code(TimeDelta::Zero()) == 0);
  CHECK(Ccfb::ato_code(TimeDelta::Millis(500)) == 512);
  CHECK(Ccfb::ato_code(TimeDelta::Micros(488)) == 0);  // under half a tick
  CHECK(Ccfb::ato_code(TimeDelta::Micros(489)) == 1);
  CHECK(Ccfb::ato_code(TimeDelta::Micros(7'997'070)) == 0x1FFD);  // 8189/1024 s, largest in range
  CHECK(Ccfb::ato_code(TimeDelta::Micros(7'998'047)) == 0x1FFE);  // 8190/1024 s: over-range
  CHECK(Ccfb::ato_code(TimeDelta::Seconds(100)) == 0x1FFE);
  CHECK(Ccfb::ato_code(TimeDelta::PlusInfinity()) == 0x1FFE);
  CHECK(Ccfb::ato_code(TimeDelta::Micros(-1)) == 0x1FFF);  // arrived after the report timestamp
  CHECK(Ccfb::ato_code(std::nullopt) == 0x1FFF);
  CHECK(Ccfb::ato_from_code(512) == TimeDelta::Millis(500));
  CHECK(Ccfb::ato_from_code(0x1FFE) == TimeDelta::PlusInfinity());
  CHECK(Ccfb::ato_from_code(0x1FFF) == std::nullopt);
  for (uint16_t code = 0; code <= 0x1FFF; ++code) CHECK(Ccfb::ato_code(Ccfb::ato_from_code(code)) == code);
}

TEST_CASE("rtcp ccfb: builder fills gaps, keeps streams apart, quantises like the parser") {
  Ccfb fb(42);
  fb.set_report_timestamp(0xCAFEF00D);
  REQUIRE(fb.add_received_packet(7, 65535, TimeDelta::Millis(30), EcnMarking::kEct0));
  REQUIRE(fb.add_received_packet(9, 100, TimeDelta::Millis(25)));
  REQUIRE(fb.add_received_packet(7, 2, TimeDelta::Micros(12'345), EcnMarking::kCe));  // 0, 1 lost
  REQUIRE(fb.add_received_packet(7, 3, TimeDelta::Millis(-5)));                     // after RTS
  CHECK_FALSE(fb.add_received_packet(7, 3, TimeDelta::Millis(1)));   // duplicate
  CHECK_FALSE(fb.add_received_packet(7, 1, TimeDelta::Millis(1)));   // behind the block's end
  REQUIRE(fb.streams().size() == 2);
  const auto& s = fb.streams()[0];
  CHECK(s.begin_seq == 65535);
  REQUIRE(s.packets.size() == 5);
  CHECK(s.packets[1] == Report{});
  CHECK(s.packets[2] == Report{});
  CHECK(s.packets[3].ecn == EcnMarking::kCe);
  CHECK(*s.packets[3].arrival_time_offset == *Ccfb::ato_from_code(13));  // 12.345 ms -> 12.64/1024 s
  CHECK(s.packets[4] == Report{true, EcnMarking::kNotEct, std::nullopt});
  CHECK(fb.size() == 4 + 4 + (8 + 10 + 2) + (8 + 2 + 2) + 4);
  CHECK(roundtrip(fb) == fb);

  // add_stream clears fields of packets not received.
  Ccfb other(1);
  const std::vector<Report> reports = {{false, EcnMarking::kCe, TimeDelta::Millis(3)}, {true, EcnMarking::kEct1, TimeDelta::Millis(2)}};
  REQUIRE(other.add_stream(5, 10, reports));
  CHECK(other.streams()[0].packets[0] == Report{});
  CHECK(roundtrip(other) == other);
  // An empty block is legal too.
  REQUIRE(other.add_stream(6, 0, {}));
  CHECK(roundtrip(other) == other);
}

TEST_CASE("rtcp ccfb: 16384 metric blocks per stream at most") {
  Ccfb fb(1);
  REQUIRE(fb.add_received_packet(3, 60000, TimeDelta::Millis(1)));
  REQUIRE(fb.add_received_packet(3, static_cast<uint16_t>(60000 + 16383), TimeDelta::Millis(1)));
  CHECK(fb.streams()[0].packets.size() == 16384);
  const Ccfb full = fb;
  CHECK_FALSE(fb.add_received_packet(3, static_cast<uint16_t>(60000 + 16384), TimeDelta::Millis(1)));
  CHECK(fb == full);
  CHECK(roundtrip(fb) == fb);
  const std::vector<Report> too_many(16385, Report{true, EcnMarking::kNotEct, TimeDelta::Zero()});
  CHECK_FALSE(fb.add_stream(4, 0, too_many));
  CHECK(fb.add_stream(4, 0, std::span(too_many).first(16384)));

  // The parser refuses num_reports = 16385 even when the bytes are all there.
  std::vector<uint8_t> p = {0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0x40, 0x01};
  p.resize(p.size() + 2 * 16385 + 2 + 4, 0);
  CHECK(reason(parse_payload(p)) == "rtcp ccfb: num_reports above 16384");
  store_be16(&p[10], 16384);
  p.resize(p.size() - 4);
  CHECK(parse_payload(p).ok());
}

TEST_CASE("rtcp ccfb: builder stops at the RTCP length limit") {
  Ccfb fb(1);
  const std::vector<Report> block(16384, Report{true, EcnMarking::kEct0, TimeDelta::Millis(1)});
  size_t added = 0;
  for (uint32_t ssrc = 0; ssrc < 20; ++ssrc) {
    if (!fb.add_stream(ssrc, 0, block)) break;
    ++added;
  }
  CHECK(added == 7);  // 8 blocks of 32776 bytes would pass 4 * 65536
  CHECK(fb.size() <= Ccfb::kMaxSizeBytes);
  CHECK(fb.add_received_packet(100, 0, TimeDelta::Zero()));  // a small block still fits
}

TEST_CASE("rtcp ccfb: seeded round trips") {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    CAPTURE(seed);
    Random rng(seed);
    Ccfb fb(rng.next_u32());
    fb.set_report_timestamp(rng.next_u32());
    const int streams = static_cast<int>(rng.uniform_int(0, 4));
    for (int s = 0; s < streams; ++s) {
      const auto ssrc = rng.next_u32();
      uint16_t seq = rng.bernoulli(0.3) ? static_cast<uint16_t>(65535 - rng.uniform_int(0, 20)) : static_cast<uint16_t>(rng.next_u32());
      const int n = static_cast<int>(rng.uniform_int(1, 500));
      std::vector<std::pair<uint16_t, Report>> added;
      for (int i = 0; i < n; ++i) {
        seq = static_cast<uint16_t>(seq + (rng.bernoulli(0.1) ? rng.uniform_int(2, 30) : 1));
        std::optional<TimeDelta> ato = TimeDelta::Micros(rng.uniform_int(-100'000, 9'000'000));
        if (rng.bernoulli(0.05)) ato = std::nullopt;
        const auto ecn = static_cast<EcnMarking>(rng.uniform_int(0, 3));
        if (!fb.add_received_packet(ssrc, seq, ato, ecn)) break;
        added.emplace_back(seq, Report{true, ecn, Ccfb::ato_from_code(Ccfb::ato_code(ato))});
      }
      // Every added packet is found at its offset with the quantised values.
      const auto& block = fb.streams().back();
      CHECK(block.media_ssrc == ssrc);
      for (const auto& [sq, r] : added) {
        const size_t off = static_cast<uint16_t>(sq - block.begin_seq);
        REQUIRE(off < block.packets.size());
        CHECK(block.packets[off] == r);
      }
    }
    // A block from add_stream with arbitrary trailing losses.
    std::vector<Report> reports(static_cast<size_t>(rng.uniform_int(0, 50)));
    for (auto& r : reports) {
      if (rng.bernoulli(0.3)) continue;
      r = Report{true, static_cast<EcnMarking>(rng.uniform_int(0, 3)), TimeDelta::Micros(rng.uniform_int(0, 8'000'000))};
    }
    REQUIRE(fb.add_stream(rng.next_u32(), static_cast<uint16_t>(rng.next_u32()), reports));
    const Ccfb back = roundtrip(fb);
    CHECK(back == fb);
    CHECK(serialize(back) == serialize(fb));
  }
}

TEST_CASE("rtcp ccfb: truncation and inconsistent lengths are rejected") {
  Ccfb fb(1);
  fb.set_report_timestamp(99);
  for (uint16_t s = 0; s < 9; ++s) REQUIRE(fb.add_received_packet(77, s, TimeDelta::Millis(s)));
  const auto bytes = serialize(fb);  // one block of 9 (odd: padded)
  const std::vector<uint8_t> payload(bytes.begin() + 4, bytes.end());
  REQUIRE(parse_payload(payload).ok());
  for (size_t len = 0; len < payload.size(); ++len) {
    CAPTURE(len);
    auto r = parse_payload(std::span(payload).first(len));
    // Cut to 8 bytes, the first word of the block reads as a report timestamp: a valid empty report.
    if (len == 8) {
      CHECK(r.ok());
      continue;
    }
    CHECK_FALSE(r.ok());
  }
  for (size_t len = 0; len < bytes.size(); ++len) CHECK_FALSE(parse_one<Ccfb>(std::span(bytes).first(len)).ok());

  CHECK(reason(parse_payload(std::span(payload).first(7))) == "rtcp ccfb: payload is not 32-bit aligned");
  CHECK(reason(parse_payload(std::span(payload).first(4))) == "rtcp ccfb: shorter than sender SSRC and timestamp");
  CHECK(reason(parse_payload(std::span(payload).first(12))) == "rtcp ccfb: report block header runs into the report timestamp");
  // num_reports larger than the bytes present (10 would read the padding word as a metric block).
  for (uint16_t lie = 11; lie < 200; ++lie) {
    auto p = payload;
    store_be16(&p[10], lie);
    CHECK(reason(parse_payload(p)) == "rtcp ccfb: metric blocks run into the report timestamp");
  }
  // Smaller, the rest is read as another block header, which does not fit either.
  auto p = payload;
  store_be16(&p[10], 8);
  CHECK(reason(parse_payload(p)) == "rtcp ccfb: report block header runs into the report timestamp");

  CommonHeader wrong;
  wrong.packet_type = kPtRtpfb;
  wrong.count = 15;
  wrong.payload = payload;
  CHECK(reason(Ccfb::parse(wrong)) == "rtcp ccfb: wrong type");
}

TEST_CASE("rtcp ccfb: random garbage never crashes, what parses survives a round trip") {
  Random rng(88);
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    auto payload = random_bytes(rng, 4 * static_cast<size_t>(rng.uniform_int(0, 24)));
    if (payload.size() >= 12 && rng.bernoulli(0.8)) store_be16(&payload[10], static_cast<uint16_t>(rng.uniform_int(0, 40)));
    auto fb = parse_payload(payload);
    if (!fb) continue;
    ++parsed;
    CHECK(roundtrip(*fb) == *fb);
  }
  CHECK(parsed > 100);
}
