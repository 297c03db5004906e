#include "tern/rtp/sender_statistics.h"

#include <doctest/doctest.h>

#include "tern/rtp/rtt_estimator.h"

using namespace tern;
using namespace tern::rtp;

namespace {

RtpHeader sent_header(uint16_t seq, uint32_t ts, uint16_t payload, uint8_t padding = 0) {
  RtpHeader h;
  h.ssrc = 0x1234;
  h.sequence_number = seq;
  h.timestamp = ts;
  h.header_size = 20;
  h.payload_size = payload;
  h.padding_size = padding;
  return h;
}

}  // namespace

TEST_CASE("SenderStatistics: counts payload octets per RFC 3550 and retransmissions separately") {
  SenderStatistics s(0x1234);
  CHECK_FALSE(s.sender_report_info(Timestamp::Zero(), NtpClock(), 90000).has_value());
  s.on_packet_sent(sent_header(1, 1000, 500), 520, Timestamp::Millis(0), Timestamp::Millis(1), false);
  s.on_packet_sent(sent_header(2, 1000, 300, 4), 324, Timestamp::Millis(0), Timestamp::Millis(2), false);
  s.on_packet_sent(sent_header(1, 1000, 500), 520, Timestamp::Millis(0), Timestamp::Millis(50), true);
  const auto& c = s.counters();
  CHECK(c.packets_sent == 3);
  CHECK(c.bytes_sent == 1300);
  CHECK(c.header_bytes_sent == 20 + 24 + 20);
  CHECK(c.retransmitted_packets_sent == 1);
  CHECK(c.retransmitted_bytes_sent == 500);
  CHECK(c.last_packet_sent == Timestamp::Millis(50));
  const auto info = s.sender_report_info(Timestamp::Millis(100), NtpClock(), 90000);
  REQUIRE(info.has_value());
  CHECK(info->packet_count == 3u);
  CHECK(info->octet_count == 1300u);
}

TEST_CASE("SenderStatistics: SR RTP timestamp is extrapolated from the newest capture") {
  SenderStatistics s(1);
  const NtpClock clock(NtpTime(3900000000u, 0));
  // Capture at 1 s with RTP ts 0xFFFFF000 (wraps during extrapolation).
  s.on_packet_sent(sent_header(1, 0xFFFFF000u, 100), 120, Timestamp::Seconds(1), Timestamp::Millis(1005), false);
  // A retransmission of an older frame must not move the reference.
  s.on_packet_sent(sent_header(0, 0xFFFF0000u, 100), 120, Timestamp::Millis(500), Timestamp::Millis(1100), true);
  const auto info = s.sender_report_info(Timestamp::Millis(1500), clock, 90000);
  REQUIRE(info.has_value());
  CHECK(info->rtp_timestamp == static_cast<uint32_t>(0xFFFFF000u + 45000u));
  CHECK(info->ntp == clock.to_ntp(Timestamp::Millis(1500)));
  // A "now" before the capture extrapolates backwards.
  const auto before = s.sender_report_info(Timestamp::Millis(900), clock, 48000);
  REQUIRE(before.has_value());
  CHECK(before->rtp_timestamp == 0xFFFFF000u - 4800u);
  CHECK_FALSE(s.sender_report_info(Timestamp::Millis(900), clock, 0).has_value());
}

TEST_CASE("RTT: RFC 3550 6.4.1 example gives 6.125 s") {
  rtcp::ReportBlock b;
  b.last_sr = 0xb7052000u;              // 46853.125 s
  b.delay_since_last_sr = 0x00054000u;  // 5.25 s
  // The block arrives when our NTP clock reads 0xb710:8000 (46864.5 s) in compact form.
  const NtpClock clock(NtpTime(0xb710u, 0x80000000u));
  const auto rtt = rtt_from_report_block(b, Timestamp::Zero(), clock);
  REQUIRE(rtt.has_value());
  CHECK(*rtt == TimeDelta::Millis(6125));
  // Same arithmetic for XR DLRR (RFC 3611 4.5).
  CHECK(rtt_from_dlrr(0xb7052000u, 0x00054000u, Timestamp::Zero(), clock) == TimeDelta::Millis(6125));
  // LSR = 0: no SR received yet, no RTT.
  b.last_sr = 0;
  CHECK_FALSE(rtt_from_report_block(b, Timestamp::Zero(), clock).has_value());
  // Negative results: tiny rounding gives zero, larger ones are rejected.
  CHECK(rtt_from_compact_ntp(0x10000u, 0x10001u, 1) == TimeDelta::Zero());
  CHECK_FALSE(rtt_from_compact_ntp(0x10000u, 0x20000u, 0).has_value());
  // Wraparound of the compact NTP space.
  CHECK(rtt_from_compact_ntp(0x00008000u, 0xFFFF8000u, 0x00008000u) == TimeDelta::Millis(500));
}

TEST_CASE("RttEstimator keeps latest, min, smoothed and totals") {
  RttEstimator e;
  CHECK_FALSE(e.latest().has_value());
  CHECK_FALSE(e.smoothed().has_value());
  e.on_rtt(TimeDelta::Millis(100));
  CHECK(e.smoothed() == TimeDelta::Millis(100));
  e.on_rtt(TimeDelta::Millis(180));
  CHECK(e.latest() == TimeDelta::Millis(180));
  CHECK(e.min() == TimeDelta::Millis(100));
  CHECK(e.smoothed() == TimeDelta::Millis(110));  // 100 + (180 - 100) / 8
  e.on_rtt(TimeDelta::Millis(-5));
  e.on_rtt(TimeDelta::PlusInfinity());
  CHECK(e.count() == 2);
  CHECK(e.total() == TimeDelta::Millis(280));
  for (int i = 0; i < 200; ++i) e.on_rtt(TimeDelta::Millis(50));
  CHECK(e.min() == TimeDelta::Millis(50));
  CHECK((*e.smoothed() - TimeDelta::Millis(50)).abs() < TimeDelta::Micros(10));
}
