// SR, RR, SDES, BYE, APP, XR and unknown packets: RFC 3550 / RFC 3611 layouts assembled by hand,
// round trips, and malformed bodies rejected with a reason.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "rtp/rtcp_test_util.h"
#include "tern/rtp/rtcp/rtcp_packet.h"

using namespace tern;
using namespace tern::rtcp;
using namespace tern::rtcp::test;

TEST_CASE("rtcp SR: RFC 3550 6.4.1 layout with one report block") {
  const std::vector<uint8_t> wire = {
      0x81, 0xC8, 0x00, 0x0C,  // V=2 RC=1 PT=200 length=12
      0x12, 0x34, 0x56, 0x78,  // sender SSRC
      0xE1, 0xA2, 0xB3, 0xC4, 0x80, 0x00, 0x00, 0x00,  // NTP
      0x00, 0x01, 0x00, 0x00,  // RTP timestamp
      0x00, 0x00, 0x00, 0x64,  // packet count 100
      0x00, 0x00, 0x3E, 0x80,  // octet count 16000
      0xAA, 0xBB, 0xCC, 0xDD,  // block: SSRC_1
      0x19, 0xFF, 0xFF, 0xFE,  // fraction 25/256, cumulative lost -2
      0x00, 0x01, 0x23, 0x45,  // ext highest seq
      0x00, 0x00, 0x01, 0x00,  // jitter 256
      0x11, 0x22, 0x33, 0x44,  // LSR
      0x00, 0x01, 0x80, 0x00,  // DLSR 1.5 s
  };
  auto sr = parse_one<SenderReport>(wire);
  REQUIRE_MESSAGE(sr.ok(), sr.error());
  CHECK(sr->sender_ssrc == 0x12345678);
  CHECK(sr->ntp == NtpTime(0xE1A2B3C4u, 0x80000000u));
  CHECK(sr->rtp_timestamp == 0x10000);
  CHECK(sr->packet_count == 100);
  CHECK(sr->octet_count == 16000);
  REQUIRE(sr->report_blocks.size() == 1);
  const ReportBlock& b = sr->report_blocks[0];
  CHECK(b.source_ssrc == 0xAABBCCDD);
  CHECK(b.fraction_lost == 0x19);
  CHECK(b.cumulative_lost == -2);
  CHECK(b.extended_highest_sequence == 0x12345);
  CHECK(b.jitter == 256);
  CHECK(b.last_sr == 0x11223344);
  CHECK(compact_ntp_to_delta(b.delay_since_last_sr) == TimeDelta::Millis(1500));
  CHECK(sr->extension.empty());
  CHECK(serialize(*sr) == wire);
}

TEST_CASE("rtcp SR: profile extension kept, RC beyond length and short bodies rejected") {
  SenderReport sr;
  sr.sender_ssrc = 1;
  sr.report_blocks.push_back(ReportBlock{2, 3, 4, 5, 6, 7, 8});
  sr.extension = {1, 2, 3, 4, 5, 6, 7, 8};
  CHECK(roundtrip(sr) == sr);

  auto wire = serialize(sr);
  wire[0] = 0x83;  // RC=3 but only one block and 8 extension bytes follow
  auto bad = parse_one<SenderReport>(wire);
  REQUIRE_FALSE(bad.ok());
  CHECK(std::strcmp(bad.error(), "rtcp report: RC blocks run past the length") == 0);

  const std::vector<uint8_t> short_sr = {0x80, 0xC8, 0x00, 0x01, 0, 0, 0, 1};
  auto s = parse_one<SenderReport>(short_sr);
  REQUIRE_FALSE(s.ok());
  CHECK(std::strcmp(s.error(), "rtcp sr: shorter than sender info") == 0);
}

TEST_CASE("rtcp SR: more than 31 blocks are cut to 31, unaligned extension is padded") {
  Random rng(7);
  SenderReport sr = random_sr(rng);
  sr.report_blocks.clear();
  for (int i = 0; i < 40; ++i) sr.report_blocks.push_back(random_report_block(rng));
  sr.extension = {9, 9, 9};
  const SenderReport back = roundtrip(sr);
  CHECK(back.report_blocks.size() == 31);
  CHECK(back.extension == std::vector<uint8_t>{9, 9, 9, 0});
}

TEST_CASE("rtcp RR: layout, empty report and round trip") {
  const std::vector<uint8_t> empty_rr = {0x80, 0xC9, 0x00, 0x01, 0xDE, 0xAD, 0xBE, 0xEF};
  auto rr = parse_one<ReceiverReport>(empty_rr);
  REQUIRE(rr.ok());
  CHECK(rr->sender_ssrc == 0xDEADBEEF);
  CHECK(rr->report_blocks.empty());
  CHECK(serialize(*rr) == empty_rr);

  Random rng(11);
  for (int i = 0; i < 50; ++i) {
    const ReceiverReport r = random_rr(rng);
    CHECK(roundtrip(r) == r);
  }
  const std::vector<uint8_t> cut = {0x80, 0xC9, 0x00, 0x00};
  CHECK_FALSE(parse_one<ReceiverReport>(cut).ok());
}

TEST_CASE("rtcp SDES: CNAME chunk layout and null padding") {
  const std::vector<uint8_t> wire = {
      0x81, 0xCA, 0x00, 0x03,                    // SC=1 PT=202 length=3
      0x11, 0x22, 0x33, 0x44,                    // SSRC
      0x01, 0x05, 'h', 'e', 'l', 'l', 'o', 0x00  // CNAME "hello", end (no extra padding needed)
  };
  auto sdes = parse_one<Sdes>(wire);
  REQUIRE_MESSAGE(sdes.ok(), sdes.error());
  CHECK(sdes->cname(0x11223344) == std::string_view("hello"));
  CHECK_FALSE(sdes->cname(1).has_value());
  CHECK(serialize(*sdes) == wire);

  // "abcdef": 2 + 6 item bytes + null = 9, padded to 12.
  const Sdes six = Sdes::WithCname(7, "abcdef");
  const auto six_wire = serialize(six);
  CHECK(six_wire.size() == 4 + 4 + 12);
  CHECK(six_wire[16] == 0);
  CHECK(six_wire[17] == 0);
  CHECK(six_wire[18] == 0);
  CHECK(six_wire[19] == 0);
  CHECK(roundtrip(six) == six);

  // A chunk without items is SSRC + one word of nulls.
  Sdes empty_chunk;
  empty_chunk.chunks.push_back(SdesChunk{5, {}});
  CHECK(serialize(empty_chunk).size() == 12);
  CHECK(roundtrip(empty_chunk) == empty_chunk);
}

TEST_CASE("rtcp SDES: PRIV and unknown items kept raw, bad chunks rejected") {
  Sdes sdes;
  sdes.chunks.push_back(SdesChunk{1, {SdesItem{SdesItem::kCname, "user@host"},
                                      SdesItem{SdesItem::kPriv, std::string("\x03" "abcvalue", 9)},
                                      SdesItem{200, "future"}}});
  sdes.chunks.push_back(SdesChunk{2, {SdesItem{SdesItem::kTool, "tern"}}});
  CHECK(roundtrip(sdes) == sdes);

  // Item length runs past the end of the packet.
  const std::vector<uint8_t> past_end = {0x81, 0xCA, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x09, 'a', 'b'};
  auto r = parse_one<Sdes>(past_end);
  REQUIRE_FALSE(r.ok());
  CHECK(std::strcmp(r.error(), "rtcp sdes: item past the end") == 0);

  // Items never terminated by a null octet.
  const std::vector<uint8_t> unterminated = {0x81, 0xCA, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x02, 'a', 'b'};
  auto u = parse_one<Sdes>(unterminated);
  REQUIRE_FALSE(u.ok());
  CHECK(std::strcmp(u.error(), "rtcp sdes: item list not terminated") == 0);

  // SC says two chunks, only one present.
  auto wire = serialize(Sdes::WithCname(1, "x"));
  wire[0] = 0x82;
  auto two = parse_one<Sdes>(wire);
  REQUIRE_FALSE(two.ok());
  CHECK(std::strcmp(two.error(), "rtcp sdes: chunk past the end") == 0);
}

TEST_CASE("rtcp SDES: values longer than 255 bytes are cut, 31 chunks at most") {
  Sdes sdes = Sdes::WithCname(1, std::string(300, 'x'));
  CHECK(roundtrip(sdes).chunks[0].items[0].value == std::string(255, 'x'));
  Sdes many;
  for (uint32_t i = 0; i < 40; ++i) many.chunks.push_back(SdesChunk{i, {}});
  CHECK(roundtrip(many).chunks.size() == 31);
}

TEST_CASE("rtcp BYE: SSRC list, reason padding, bad lengths") {
  const std::vector<uint8_t> wire = {0x81, 0xCB, 0x00, 0x02, 0x01, 0x02, 0x03, 0x04, 0x03, 'b', 'y', 'e'};
  auto bye = parse_one<Bye>(wire);
  REQUIRE(bye.ok());
  CHECK(bye->ssrcs == std::vector<uint32_t>{0x01020304});
  CHECK(bye->reason == "bye");
  CHECK(serialize(*bye) == wire);

  Bye no_reason{{1, 2, 3}, ""};
  CHECK(serialize(no_reason).size() == 16);
  CHECK(roundtrip(no_reason) == no_reason);
  Bye long_reason{{9}, "going away now"};  // 1 + 14 = 15 -> 16
  CHECK(serialize(long_reason).size() == 4 + 4 + 16);
  CHECK(roundtrip(long_reason) == long_reason);

  const std::vector<uint8_t> reason_past_end = {0x81, 0xCB, 0x00, 0x02, 0, 0, 0, 1, 0x09, 'a', 'b', 'c'};
  auto r = parse_one<Bye>(reason_past_end);
  REQUIRE_FALSE(r.ok());
  CHECK(std::strcmp(r.error(), "rtcp bye: reason past the end") == 0);
  const std::vector<uint8_t> sc_too_big = {0x83, 0xCB, 0x00, 0x01, 0, 0, 0, 1};
  CHECK_FALSE(parse_one<Bye>(sc_too_big).ok());
}

TEST_CASE("rtcp APP: subtype, name and data") {
  const std::vector<uint8_t> wire = {0x85, 0xCC, 0x00, 0x03, 0, 0, 0, 42, 'T', 'E', 'R', 'N', 1, 2, 3, 4};
  auto app = parse_one<App>(wire);
  REQUIRE(app.ok());
  CHECK(app->subtype == 5);
  CHECK(app->ssrc == 42);
  CHECK(app->name == std::array<char, 4>{'T', 'E', 'R', 'N'});
  CHECK(app->data == std::vector<uint8_t>{1, 2, 3, 4});
  CHECK(serialize(*app) == wire);

  const std::vector<uint8_t> no_name = {0x80, 0xCC, 0x00, 0x01, 0, 0, 0, 42};
  CHECK_FALSE(parse_one<App>(no_name).ok());
}

TEST_CASE("rtcp XR: RRTR and DLRR blocks, unknown blocks preserved") {
  const std::vector<uint8_t> wire = {
      0x80, 0xCF, 0x00, 0x0A,  // PT=207 length=10
      0x00, 0x00, 0x00, 0x07,  // sender SSRC
      0x04, 0x00, 0x00, 0x02,  // RRTR
      0xE1, 0x00, 0x00, 0x01, 0x40, 0x00, 0x00, 0x00,
      0x05, 0x00, 0x00, 0x03,  // DLRR, one sub-block
      0x00, 0x00, 0x00, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00,
      0x2A, 0x07, 0x00, 0x01,  // BT=42, one word
      0xCA, 0xFE, 0xBA, 0xBE,
  };
  auto xr = parse_one<ExtendedReports>(wire);
  REQUIRE_MESSAGE(xr.ok(), xr.error());
  CHECK(xr->sender_ssrc == 7);
  REQUIRE(xr->rrtr.has_value());
  CHECK(*xr->rrtr == NtpTime(0xE1000001u, 0x40000000u));
  REQUIRE(xr->dlrr.size() == 1);
  CHECK(xr->dlrr[0] == DlrrItem{9, 0x10000, 0x8000});
  CHECK(compact_ntp_to_delta(xr->dlrr[0].delay_since_last_rr) == TimeDelta::Millis(500));
  REQUIRE(xr->other_blocks.size() == 1);
  CHECK(xr->other_blocks[0] == XrBlock{42, 7, {0xCA, 0xFE, 0xBA, 0xBE}});
  CHECK(serialize(*xr) == wire);

  auto bad_rrtr = wire;
  bad_rrtr[11] = 0x03;  // RRTR claims 3 words: swallows the DLRR header, then misframes
  CHECK_FALSE(parse_one<ExtendedReports>(bad_rrtr).ok());
  auto past_end = wire;
  past_end[39] = 0x02;  // the unknown block claims 2 words, only 1 left
  auto r = parse_one<ExtendedReports>(past_end);
  REQUIRE_FALSE(r.ok());
  CHECK(std::strcmp(r.error(), "rtcp xr: block runs past the end") == 0);

  Random rng(5);
  for (int i = 0; i < 50; ++i) {
    const ExtendedReports x = random_xr(rng);
    CHECK(roundtrip(x) == x);
  }
}

TEST_CASE("rtcp unknown packet: kept raw, unaligned payload written with padding") {
  const UnknownPacket u{195, 3, {1, 2, 3, 4, 5}};
  const auto wire = serialize(u);
  CHECK(wire.size() == 12);
  CHECK((wire[0] & 0x20) != 0);  // P bit
  CHECK(wire.back() == 3);
  CHECK(roundtrip(u) == u);
  const UnknownPacket aligned{210, 0, {1, 2, 3, 4}};
  CHECK((serialize(aligned)[0] & 0x20) == 0);
  CHECK(roundtrip(aligned) == aligned);
}
