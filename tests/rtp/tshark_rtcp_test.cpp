// Independent dissector check: RTCP compounds built by tern, written to a pcap, read by tshark.
// Every RTCP type tshark knows must dissect with no malformed packet and no expert error, and the
// fields tshark reads must equal what we built. (tshark 4.0 has no RFC 8888 dissector; that packet
// is only checked for clean framing.)
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/pcap_writer.h"
#include "support/process.h"
#include "tern/rtp/rtcp/rtcp_packet.h"

using namespace tern;
using namespace tern::rtcp;

namespace {

ReportBlock block(uint32_t ssrc, uint8_t fraction, int32_t lost, uint32_t high, uint32_t jitter, uint32_t lsr, uint32_t dlsr) {
  ReportBlock b;
  b.source_ssrc = ssrc;
  b.fraction_lost = fraction;
  b.cumulative_lost = lost;
  b.extended_highest_sequence = high;
  b.jitter = jitter;
  b.last_sr = lsr;
  b.delay_since_last_sr = dlsr;
  return b;
}

std::string field(const std::vector<std::string>& f, size_t i) { return i < f.size() ? f[i] : std::string(); }

}  // namespace

TEST_CASE("tshark dissects tern RTCP compounds of every type cleanly") {
  if (!tern::test::have_tool("tshark")) {
    if (tern::test::interop_required()) FAIL("tshark is not installed");
    MESSAGE("tshark not installed: skipped");
    return;
  }
  const std::string dir = tern::test::scratch_dir("tshark_rtcp");
  const std::string pcap = dir + "/rtcp.pcap";

  SenderReport sr;
  sr.sender_ssrc = 0x11111111;
  sr.ntp = NtpTime(3900000000u, 0x80000000u);
  sr.rtp_timestamp = 123456789;
  sr.packet_count = 1000;
  sr.octet_count = 1200000;
  sr.report_blocks = {block(0x22222222, 25, 17, 70000, 345, 0xb7052000u, 0x00054000u),
                      block(0x33333333, 0, -1, 65535, 0, 0, 0)};
  ReceiverReport rr;
  rr.sender_ssrc = 0x44444444;
  rr.report_blocks = {block(0x11111111, 128, 1000, 131072, 90, 0x12345678u, 0x10000u)};
  Bye bye;
  bye.ssrcs = {0x44444444};
  bye.reason = "call ended";
  App app;
  app.subtype = 3;
  app.ssrc = 0x55555555;
  app.name = {'t', 'e', 'r', 'n'};
  app.data = {1, 2, 3, 4, 5, 6, 7, 8};
  Nack nack;
  nack.sender_ssrc = 0x44444444;
  nack.media_ssrc = 0x11111111;
  nack.lost = {65534, 65535, 0, 5, 40};
  Pli pli;
  pli.sender_ssrc = 0x44444444;
  pli.media_ssrc = 0x11111111;
  Fir fir;
  fir.sender_ssrc = 0x44444444;
  fir.entries = {FirEntry{0x11111111, 7}};
  Remb remb;
  remb.sender_ssrc = 0x44444444;
  remb.bitrate = DataRate::BitsPerSec(1234560);
  remb.ssrcs = {0x11111111, 0x66666666};
  TransportFeedback twcc(0x44444444, 0x11111111);
  twcc.set_base(65530, Timestamp::Millis(6400));
  twcc.set_feedback_sequence(9);
  Timestamp t = Timestamp::Millis(6410);
  int received = 0;
  for (uint16_t s = 65530, i = 0; i < 30; ++s, ++i) {
    if (i % 7 == 3) continue;  // lost
    t += TimeDelta::Micros(i % 5 == 0 ? 70000 : 2500);
    REQUIRE(twcc.add_received_packet(s, t));
    ++received;
  }
  ExtendedReports xr;
  xr.sender_ssrc = 0x44444444;
  xr.rrtr = NtpTime(3900000001u, 0x40000000u);
  xr.dlrr = {DlrrItem{0x11111111, 0x12345678u, 0x8000u}};
  CongestionControlFeedback ccfb(0x44444444);
  ccfb.set_report_timestamp(0xABCD1234u);
  REQUIRE(ccfb.add_received_packet(0x11111111, 100, TimeDelta::Millis(10)));
  REQUIRE(ccfb.add_received_packet(0x11111111, 102, TimeDelta::Millis(3)));

  const std::vector<std::vector<RtcpPacket>> compounds = {
      {sr, Sdes::WithCname(0x11111111, "tern@example")},
      {rr, Sdes::WithCname(0x44444444, "receiver"), bye},
      {rr, nack, pli, fir, remb},
      {twcc},  // reduced-size (RFC 5506)
      {rr, xr},
      {app},
      {ccfb},
  };
  {
    tern::test::PcapWriter w(pcap);
    REQUIRE(w.ok());
    int64_t time_us = 1000000;
    for (const auto& c : compounds) {
      const auto bytes = build_compound(c);
      REQUIRE(!bytes.empty());
      REQUIRE(parse_compound(bytes).errors.empty());
      w.add_udp(bytes, 40001, 5005, time_us += 100000);
    }
  }
  const std::string decode = " -d udp.port==5005,rtcp -o rtcp.heuristic_rtcp:FALSE ";
  auto bad = tern::test::run_command("tshark -n -r '" + pcap + "'" + decode + "-Y '_ws.malformed || _ws.expert.severity==error'", 60);
  REQUIRE(bad.exit_code == 0);
  CHECK_MESSAGE(bad.out.empty(), "tshark flagged packets:\n" << bad.out);

  auto fields = tern::test::run_command(
      "tshark -n -r '" + pcap + "'" + decode +
          "-T fields -E separator=/t -e rtcp.pt -e rtcp.senderssrc -e rtcp.timestamp.rtp -e rtcp.sender.packetcount "
          "-e rtcp.sender.octetcount -e rtcp.ssrc.fraction -e rtcp.ssrc.cum_nr -e rtcp.ssrc.high_seq -e rtcp.ssrc.jitter "
          "-e rtcp.ssrc.lsr -e rtcp.ssrc.dlsr -e rtcp.sdes.text -e rtcp.app.name -e rtcp.rtpfb.fmt -e rtcp.psfb.fmt "
          "-e rtcp.rtpfb.nack_pid -e rtcp.psfb.fir.fci.csn -e rtcp.psfb.remb.fci.br_mantissa -e rtcp.psfb.remb.fci.number_ssrcs "
          "-e rtcp.rtpfb.transportcc.baseseq -e rtcp.rtpfb.transportcc.statuscount -e rtcp.rtpfb.transportcc.pktcount "
          "-e rtcp.xr.bt -e rtcp.timestamp.ntp.msw -e rtcp.length_check -e rtcp.psfb.remb.fci.br_exp",
      60);
  REQUIRE(fields.exit_code == 0);
  const auto lines = tern::test::split_lines(fields.out);
  REQUIRE(lines.size() == compounds.size());
  std::vector<std::vector<std::string>> f;
  for (const auto& l : lines) f.push_back(tern::test::split(l, '\t'));
  INFO(fields.out);
  // 1: SR + SDES
  CHECK(field(f[0], 0) == "200,202");
  CHECK(field(f[0], 1) == "0x11111111");
  CHECK(field(f[0], 2) == "123456789");
  CHECK(field(f[0], 3) == "1000");
  CHECK(field(f[0], 4) == "1200000");
  CHECK(field(f[0], 5) == "25,0");
  CHECK(field(f[0], 6) == "17,-1");
  CHECK(field(f[0], 7) == "4464,65535");  // tshark shows the low 16 bits (70000 - 65536)
  CHECK(field(f[0], 8) == "345,0");
  CHECK(field(f[0], 9) == std::to_string(0xb7052000u) + ",0");
  CHECK(field(f[0], 10) == "344064,0");  // 0x00054000 = 5.25 s in 1/65536 s
  CHECK(field(f[0], 11) == "tern@example");
  CHECK(field(f[0], 23) == "3900000000");
  // 2: RR + SDES + BYE
  CHECK(field(f[1], 0) == "201,202,203");
  CHECK(field(f[1], 1) == "0x44444444");
  CHECK(field(f[1], 5) == "128");
  CHECK(field(f[1], 6) == "1000");
  CHECK(field(f[1], 11) == "receiver,call ended");  // tshark files the BYE reason as SDES text too
  // 3: RR + NACK + PLI + FIR + REMB
  CHECK(field(f[2], 0) == "201,205,206,206,206");
  CHECK(field(f[2], 13) == "1");
  CHECK(field(f[2], 14) == "1,4,15");
  CHECK(field(f[2], 16) == "7");
  const int64_t remb_bps = std::stoll(field(f[2], 17)) << std::stoll(field(f[2], 25));  // mantissa << exp
  CHECK(remb_bps == remb.bitrate.bps());
  CHECK(field(f[2], 18) == "2");
  {
    // tshark lists each NACK FCI's PID; the PIDs plus BLP bits must cover exactly what we asked.
    const auto pids = tern::test::split(field(f[2], 15), ',');
    // tshark lists each FCI's PID plus one generated entry per BLP bit (unwrapped past 65535).
    CHECK(nack.item_count() == 2);
    CHECK(pids == std::vector<std::string>{"65534", "65535", "65536", "65541", "40"});
  }
  // 4: transport-cc alone
  CHECK(field(f[3], 0) == "205");
  CHECK(field(f[3], 13) == "15");
  CHECK(field(f[3], 19) == "65530");
  CHECK(field(f[3], 20) == "30");
  CHECK(field(f[3], 21) == "9");
  // 5: RR + XR (RRTR, DLRR)
  CHECK(field(f[4], 0) == "201,207");
  CHECK(field(f[4], 22) == "4,5");
  // 6: APP
  CHECK(field(f[5], 0) == "204");
  CHECK(field(f[5], 12) == "tern");
  // 7: RFC 8888 feedback: framing only
  CHECK(field(f[6], 0) == "205");
  CHECK(field(f[6], 13) == "11");
  for (size_t i = 0; i < f.size(); ++i) {
    INFO("compound " << i);
    CHECK(field(f[i], 24).find("False") == std::string::npos);
    CHECK(field(f[i], 24).find('0') == std::string::npos);
  }
  CHECK(received > 20);
}
