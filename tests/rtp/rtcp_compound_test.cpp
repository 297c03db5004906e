// Compound RTCP (RFC 3550 6.1, RFC 5506 reduced size): walking several packets, keeping unknown
// types, skipping malformed bodies, stopping at broken framing; seeded build -> parse properties.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "rtp/rtcp_test_util.h"
#include "tern/rtp/rtcp/rtcp_packet.h"

using namespace tern;
using namespace tern::rtcp;
using namespace tern::rtcp::test;

namespace {

bool has_error(const CompoundParseResult& r, const char* reason) {
  for (const char* e : r.errors)
    if (std::strcmp(e, reason) == 0) return true;
  return false;
}

std::vector<RtcpPacket> sample_compound() {
  SenderReport sr;
  sr.sender_ssrc = 0x1111;
  sr.ntp = NtpTime(0xE0000000u, 1u);
  sr.rtp_timestamp = 90000;
  sr.packet_count = 10;
  sr.octet_count = 12000;
  sr.report_blocks.push_back(ReportBlock{0x2222, 5, 3, 1000, 40, 0x1234, 0x10});
  return {sr, Sdes::WithCname(0x1111, "tern@example"), Nack{0x1111, 0x2222, {7, 9}}};
}

}  // namespace

TEST_CASE("rtcp compound: SR + SDES + NACK build and parse back equal") {
  const auto packets = sample_compound();
  const auto wire = build_compound(packets);
  CHECK(wire.size() == compound_size(packets));
  const CompoundParseResult r = parse_compound(wire);
  CHECK(r.errors.empty());
  CHECK_FALSE(r.reduced_size);
  CHECK(r.packets == packets);
}

TEST_CASE("rtcp compound: write_compound reports a too-small buffer") {
  const auto packets = sample_compound();
  std::vector<uint8_t> out(compound_size(packets) - 1);
  auto w = write_compound(packets, out);
  REQUIRE_FALSE(w.ok());
  CHECK(std::strcmp(w.error(), "rtcp: output buffer too small") == 0);
  out.resize(compound_size(packets) + 8);
  auto ok = write_compound(packets, out);
  REQUIRE(ok.ok());
  CHECK(*ok == compound_size(packets));
}

TEST_CASE("rtcp compound: reduced-size (RFC 5506) starts with feedback") {
  const std::vector<RtcpPacket> packets = {Pli{1, 2}, Remb{1, 0, DataRate::KilobitsPerSec(500), {2}}};
  const CompoundParseResult r = parse_compound(build_compound(packets));
  CHECK(r.reduced_size);
  CHECK(r.errors.empty());
  CHECK(r.packets == packets);
  CHECK_FALSE(parse_compound({}).reduced_size);
}

TEST_CASE("rtcp compound: unknown types and formats become UnknownPacket alongside valid ones") {
  std::vector<uint8_t> wire = build_compound(sample_compound());
  // PSFB FMT 15 that is not REMB, RTPFB FMT 3 (TMMBR), and PT 210.
  const std::vector<uint8_t> extra = {
      0x8F, 0xCE, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 0, 'A', 'B', 'C', 'D',
      0x83, 0xCD, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2,
      0x80, 0xD2, 0x00, 0x00,
  };
  wire.insert(wire.end(), extra.begin(), extra.end());
  const CompoundParseResult r = parse_compound(wire);
  CHECK(r.errors.empty());
  REQUIRE(r.packets.size() == 6);
  CHECK(std::holds_alternative<SenderReport>(r.packets[0]));
  CHECK(std::holds_alternative<Sdes>(r.packets[1]));
  CHECK(std::holds_alternative<Nack>(r.packets[2]));
  const auto* afb = std::get_if<UnknownPacket>(&r.packets[3]);
  REQUIRE(afb != nullptr);
  CHECK(afb->packet_type == kPtPsfb);
  CHECK(afb->count == 15);
  CHECK(afb->payload.size() == 12);
  const auto* tmmbr = std::get_if<UnknownPacket>(&r.packets[4]);
  REQUIRE(tmmbr != nullptr);
  CHECK(tmmbr->count == 3);
  const auto* other = std::get_if<UnknownPacket>(&r.packets[5]);
  REQUIRE(other != nullptr);
  CHECK(other->packet_type == 210);
  CHECK(other->payload.empty());
  // And they serialize back byte for byte.
  CHECK(build_compound(r.packets) == wire);
}

TEST_CASE("rtcp compound: malformed known packet is skipped, walk continues") {
  std::vector<uint8_t> wire = build_compound(sample_compound());
  // An SR claiming 2 report blocks but carrying none, between the SDES and the NACK.
  const std::vector<uint8_t> bad_sr = {0x82, 0xC8, 0x00, 0x06, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
                                       0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  const size_t nack_offset = wire.size() - Nack{0, 0, {7, 9}}.size();
  wire.insert(wire.begin() + static_cast<std::ptrdiff_t>(nack_offset), bad_sr.begin(), bad_sr.end());
  const CompoundParseResult r = parse_compound(wire);
  CHECK(r.packets.size() == 3);
  REQUIRE(r.errors.size() == 1);
  CHECK(has_error(r, "rtcp report: RC blocks run past the length"));
  CHECK(std::holds_alternative<Nack>(r.packets.back()));
}

TEST_CASE("rtcp compound: broken framing stops the walk and keeps what came before") {
  const auto packets = sample_compound();
  const std::vector<uint8_t> good = build_compound(packets);
  const size_t sr_size = std::get<SenderReport>(packets[0]).size();

  SUBCASE("lying length on the last packet") {
    auto wire = good;
    const size_t nack_offset = wire.size() - std::get<Nack>(packets[2]).size();
    wire[nack_offset + 3] = 0x40;  // length 64 words
    const auto r = parse_compound(wire);
    CHECK(r.packets.size() == 2);
    CHECK(has_error(r, "rtcp: length field runs past the data"));
  }
  SUBCASE("truncated datagram") {
    const auto r = parse_compound(std::span(good).first(good.size() - 2));
    CHECK(r.packets.size() == 2);
    CHECK(r.errors.size() == 1);
  }
  SUBCASE("bad version in the second packet") {
    auto wire = good;
    wire[sr_size] = static_cast<uint8_t>((wire[sr_size] & 0x3F) | 0x40);
    const auto r = parse_compound(wire);
    CHECK(r.packets.size() == 1);
    CHECK(has_error(r, "rtcp: version is not 2"));
  }
  SUBCASE("padding count beyond the packet") {
    std::vector<uint8_t> wire = {0xA0, 0xC9, 0x00, 0x01, 0, 0, 0, 1};
    wire[7] = 9;  // pad count larger than the payload
    const auto r = parse_compound(wire);
    CHECK(r.packets.empty());
    CHECK(has_error(r, "rtcp: bad padding count"));
  }
  SUBCASE("trailing bytes shorter than a header") {
    auto wire = good;
    wire.push_back(0x80);
    const auto r = parse_compound(wire);
    CHECK(r.packets == packets);
    CHECK(has_error(r, "rtcp: shorter than 4 bytes"));
  }
}

TEST_CASE("rtcp compound: padding on the last packet is honoured") {
  // RR with 4 bytes of RTCP padding after the SSRC.
  const std::vector<uint8_t> wire = {0xA0, 0xC9, 0x00, 0x02, 0, 0, 0, 5, 0, 0, 0, 4};
  const auto r = parse_compound(wire);
  CHECK(r.errors.empty());
  REQUIRE(r.packets.size() == 1);
  CHECK(std::get<ReceiverReport>(r.packets[0]).sender_ssrc == 5);
}

TEST_CASE("rtcp compound: seeded property, every type survives build -> parse") {
  Random rng(20260101);
  for (int iter = 0; iter < 300; ++iter) {
    std::vector<RtcpPacket> packets;
    const auto n = rng.uniform_int(1, 6);
    for (int64_t i = 0; i < n; ++i) packets.push_back(random_packet(rng));
    const auto wire = build_compound(packets);
    REQUIRE(wire.size() == compound_size(packets));
    const auto r = parse_compound(wire);
    INFO("seed 20260101 iteration " << iter);
    CHECK(r.errors.empty());
    CHECK(r.packets == packets);
  }
}

TEST_CASE("rtcp compound: seeded garbage and truncations never crash, parsed parts rebuild equal") {
  Random rng(77);
  const auto base = build_compound(sample_compound());
  for (int iter = 0; iter < 2000; ++iter) {
    std::vector<uint8_t> wire;
    if (iter % 2 == 0) {
      wire = random_bytes(rng, static_cast<size_t>(rng.uniform_int(0, 120)));
      if (!wire.empty()) wire[0] = static_cast<uint8_t>(0x80 | (wire[0] & 0x3F));
    } else {
      wire = base;
      for (int64_t flips = rng.uniform_int(1, 4); flips > 0; --flips)
        wire[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(wire.size()) - 1))] ^=
            static_cast<uint8_t>(1u << rng.uniform_int(0, 7));
      wire.resize(static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(wire.size()))));
    }
    const auto r = parse_compound(wire);
    const auto rebuilt = build_compound(r.packets);
    const auto again = parse_compound(rebuilt);
    CHECK(again.errors.empty());
    CHECK(again.packets == r.packets);
  }
}
