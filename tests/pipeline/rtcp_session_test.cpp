// RtcpSession: receiver round-trip time through RFC 3611 XR (RRTR from a receive-only session,
// DLRR answer from the sender, RTT = arrival - LRR - DLRR), and the bounds on what it remembers.
#include <cstdint>
#include <optional>
#include <vector>

#include "doctest/doctest.h"
#include "tern/pipeline/rtcp_session.h"

namespace tern::pipeline {
namespace {

struct Heard : RtcpSession::Listener {
  std::vector<TimeDelta> receiver_rtts;
  std::vector<std::optional<TimeDelta>> block_rtts;
  void on_nack(uint32_t, std::span<const uint16_t>, Timestamp) override {}
  void on_keyframe_request(uint32_t, bool, Timestamp) override {}
  void on_remb(DataRate, Timestamp) override {}
  void on_transport_feedback(const rtcp::TransportFeedback&, Timestamp) override {}
  void on_report_block(const rtcp::ReportBlock&, std::optional<TimeDelta> rtt, int64_t, Timestamp) override {
    block_rtts.push_back(rtt);
  }
  void on_sender_report(const rtcp::SenderReport&, Timestamp) override {}
  void on_receiver_rtt(TimeDelta rtt, Timestamp) override { receiver_rtts.push_back(rtt); }
};

RtcpSession Make(uint32_t ssrc, bool send_rrtr, uint64_t seed) {
  RtcpSession::Config c;
  c.ssrc = ssrc;
  c.send_rrtr = send_rrtr;
  c.seed = seed;
  c.min_interval = TimeDelta::Millis(100);
  auto s = RtcpSession::Create(c);
  REQUIRE(s.ok());
  return std::move(s).value();
}

std::optional<rtcp::ExtendedReports> FindXr(const std::vector<uint8_t>& compound) {
  for (const rtcp::RtcpPacket& p : rtcp::parse_compound(compound).packets) {
    if (const auto* xr = std::get_if<rtcp::ExtendedReports>(&p)) return *xr;
  }
  return std::nullopt;
}

// Polls `s` every millisecond from `t` until it builds a report (bounded).
std::vector<uint8_t> NextReport(RtcpSession& s, Timestamp& t, std::span<const RtcpSession::Sender> senders,
                                rtp::ReceiveStatistics& stats) {
  for (int i = 0; i < 5000; ++i, t += TimeDelta::Millis(1)) {
    if (auto r = s.maybe_build_report(t, senders, stats)) return *r;
  }
  FAIL("no report within 5 s");
  return {};
}

rtp::ReceiveStatistics Stats() { return std::move(rtp::ReceiveStatistics::Create({})).value(); }

constexpr uint32_t kSenderSsrc = 0x1111;
constexpr uint32_t kReceiverSsrc = 0x2222;

TEST_CASE("rtcp session receiver measures RTT from the DLRR answering its RRTR") {
  RtcpSession receiver = Make(kReceiverSsrc, true, 1);
  RtcpSession sender = Make(kSenderSsrc, false, 2);
  auto stats_r = Stats();
  auto stats_s = Stats();
  const rtp::SenderReportInfo info{NtpTime(uint32_t{3900000001u}, 0u), 1234, 10, 12000};
  const RtcpSession::Sender senders[] = {{kSenderSsrc, info}};
  Heard at_receiver, at_sender;
  const TimeDelta one_way = TimeDelta::Millis(37);

  Timestamp t = Timestamp::Seconds(10);
  int measured = 0;
  for (int round = 0; round < 6; ++round) {
    // Receiver -> sender: RR + SDES + XR(RRTR) after `one_way`.
    const std::vector<uint8_t> rr = NextReport(receiver, t, {}, stats_r);
    const auto xr = FindXr(rr);
    REQUIRE(xr.has_value());
    CHECK(xr->sender_ssrc == kReceiverSsrc);
    CHECK(xr->rrtr.has_value());
    sender.on_receive(rr, t + one_way, std::span<const uint32_t>(&kSenderSsrc, 1), at_sender);
    // The sender answers in its next report, held for however long its schedule says.
    Timestamp ts = t + one_way;
    const std::vector<uint8_t> sr = NextReport(sender, ts, senders, stats_s);
    const auto answer = FindXr(sr);
    REQUIRE(answer.has_value());
    CHECK_FALSE(answer->rrtr.has_value());  // a sender sends no RRTR
    REQUIRE(answer->dlrr.size() == 1);
    CHECK(answer->dlrr[0].ssrc == kReceiverSsrc);
    CHECK(answer->dlrr[0].last_rr == xr->rrtr->compact());
    receiver.on_receive(sr, ts + one_way, std::span<const uint32_t>(), at_receiver);
    ++measured;
    REQUIRE(at_receiver.receiver_rtts.size() == static_cast<size_t>(measured));
    // Compact NTP is 1/65536 s: three roundings.
    CHECK(at_receiver.receiver_rtts.back().us() == doctest::Approx(2 * one_way.us()).epsilon(0.002));
    // The answer is sent once: the sender's next report carries no DLRR until a new RRTR.
    Timestamp again = ts + TimeDelta::Millis(1);
    const auto later = FindXr(NextReport(sender, again, senders, stats_s));
    CHECK_FALSE(later.has_value());
    t = again;
  }
  CHECK(receiver.counters().rrtr_sent >= 6);
  CHECK(receiver.counters().receiver_rtt_measured == 6);
  CHECK(sender.counters().dlrr_sent == 6);
}

TEST_CASE("rtcp session sends no RRTR while it sends media or when disabled") {
  auto stats = Stats();
  const rtp::SenderReportInfo info{NtpTime(uint32_t{3900000001u}, 0u), 1, 1, 100};
  const RtcpSession::Sender senders[] = {{kSenderSsrc, info}};
  RtcpSession both = Make(kReceiverSsrc, true, 3);
  Timestamp t = Timestamp::Seconds(1);
  CHECK_FALSE(FindXr(NextReport(both, t, senders, stats)).has_value());  // an SR gives RTT already
  RtcpSession off = Make(kReceiverSsrc, false, 4);
  t = Timestamp::Seconds(1);
  CHECK_FALSE(FindXr(NextReport(off, t, {}, stats)).has_value());
  CHECK(off.counters().rrtr_sent == 0);
}

TEST_CASE("rtcp session ignores DLRRs that echo no RRTR of its own") {
  RtcpSession receiver = Make(kReceiverSsrc, true, 5);
  auto stats = Stats();
  Heard heard;
  Timestamp t = Timestamp::Seconds(3);
  const auto sent = FindXr(NextReport(receiver, t, {}, stats));
  REQUIRE(sent.has_value());
  auto deliver = [&](uint32_t about, uint32_t last_rr) {
    rtcp::ReceiverReport rr;
    rr.sender_ssrc = kSenderSsrc;
    rtcp::ExtendedReports xr;
    xr.sender_ssrc = kSenderSsrc;
    xr.dlrr.push_back({about, last_rr, 0x100});
    const std::vector<rtcp::RtcpPacket> packets = {rr, xr};
    receiver.on_receive(rtcp::build_compound(packets), t + TimeDelta::Millis(50), std::span<const uint32_t>(), heard);
  };
  deliver(kReceiverSsrc, sent->rrtr->compact() + 12345);  // made-up LRR
  deliver(kReceiverSsrc, 0);                              // "no RRTR received"
  deliver(0x9999, sent->rrtr->compact());                 // about someone else
  CHECK(heard.receiver_rtts.empty());
  CHECK(receiver.counters().dlrr_unmatched == 2);
  deliver(kReceiverSsrc, sent->rrtr->compact());          // the real echo
  REQUIRE(heard.receiver_rtts.size() == 1);
  // 50 ms minus the 0x100/65536 s (3.9 ms) the answer claims to have held it.
  CHECK(heard.receiver_rtts[0].us() == doctest::Approx(50000 - 3906).epsilon(0.01));
}

TEST_CASE("rtcp session answers at most kMaxRrtrPeers receivers, forgetting the oldest") {
  RtcpSession sender = Make(kSenderSsrc, false, 6);
  auto stats = Stats();
  Heard heard;
  Timestamp t = Timestamp::Seconds(5);
  const size_t peers = RtcpSession::kMaxRrtrPeers + 4;
  for (size_t i = 0; i < peers; ++i) {
    rtcp::ReceiverReport rr;
    rr.sender_ssrc = 0x7000 + static_cast<uint32_t>(i);
    rtcp::ExtendedReports xr;
    xr.sender_ssrc = rr.sender_ssrc;
    xr.rrtr = NtpTime(uint32_t{3900000100u} + static_cast<uint32_t>(i), 0u);
    const std::vector<rtcp::RtcpPacket> packets = {rr, xr};
    sender.on_receive(rtcp::build_compound(packets), t, std::span<const uint32_t>(&kSenderSsrc, 1), heard);
    t += TimeDelta::Millis(1);
  }
  const rtp::SenderReportInfo info{NtpTime(uint32_t{3900000001u}, 0u), 1, 1, 100};
  const RtcpSession::Sender senders[] = {{kSenderSsrc, info}};
  const auto xr = FindXr(NextReport(sender, t, senders, stats));
  REQUIRE(xr.has_value());
  REQUIRE(xr->dlrr.size() == RtcpSession::kMaxRrtrPeers);
  for (const rtcp::DlrrItem& item : xr->dlrr) CHECK(item.ssrc >= 0x7000 + 4);  // the first 4 were dropped
}

TEST_CASE("rtcp session matches only its last kRrtrHistory RRTRs") {
  RtcpSession receiver = Make(kReceiverSsrc, true, 7);
  auto stats = Stats();
  Heard heard;
  Timestamp t = Timestamp::Seconds(2);
  std::vector<uint32_t> sent;
  for (size_t i = 0; i < RtcpSession::kRrtrHistory + 2; ++i) {
    const auto xr = FindXr(NextReport(receiver, t, {}, stats));
    REQUIRE(xr.has_value());
    sent.push_back(xr->rrtr->compact());
    t += TimeDelta::Millis(1);
  }
  auto deliver = [&](uint32_t last_rr) {
    rtcp::ExtendedReports xr;
    xr.sender_ssrc = kSenderSsrc;
    xr.dlrr.push_back({kReceiverSsrc, last_rr, 0});
    rtcp::ReceiverReport rr;
    rr.sender_ssrc = kSenderSsrc;
    const std::vector<rtcp::RtcpPacket> packets = {rr, xr};
    receiver.on_receive(rtcp::build_compound(packets), t, std::span<const uint32_t>(), heard);
  };
  deliver(sent.front());  // too old: forgotten
  CHECK(heard.receiver_rtts.empty());
  deliver(sent.back());
  CHECK(heard.receiver_rtts.size() == 1);
}

}  // namespace
}  // namespace tern::pipeline
