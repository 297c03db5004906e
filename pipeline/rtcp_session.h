// RtcpSession: the RTCP side of one endpoint (RFC 3550 6, RFC 4585): when to send regular
// compound reports (RtcpScheduler), building them (SR per sending SSRC or RR, report blocks from
// ReceiveStatistics, SDES CNAME, extra packets such as REMB), sending feedback at once as
// reduced-size RTCP (RFC 5506), and parsing received compounds and dispatching what they carry to
// one narrow listener: NACK -> packet history, PLI/FIR -> encoder, REMB/transport-cc -> congestion
// controller, report blocks -> RTT and loss, SR -> A/V sync and LSR/DLSR.
//
// Round-trip time for a receive-only endpoint (RFC 3611 4.4/4.5): with `send_rrtr`, every regular
// compound that carries no SR also carries an XR with a Receiver Reference Time block; a session
// that receives one answers in its next compound with a DLRR sub-block (LRR = that time, DLRR = how
// long it was held), and the receiver measures RTT = arrival - LRR - DLRR. Only DLRRs echoing one
// of our last kRrtrHistory RRTRs count, so garbage cannot make up an RTT. Answering is always on:
// it is what lets a peer that receives from us see the RTT that its NACKs and jitter buffer need.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tern/core/ntp_time.h"
#include "tern/core/result.h"
#include "tern/rtp/receive_statistics.h"
#include "tern/rtp/rtcp/rtcp_packet.h"
#include "tern/rtp/rtcp_scheduler.h"
#include "tern/rtp/sender_statistics.h"

namespace tern::pipeline {

class RtcpSession {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void on_nack(uint32_t media_ssrc, std::span<const uint16_t> seqs, Timestamp now) = 0;
    virtual void on_keyframe_request(uint32_t media_ssrc, bool fir, Timestamp now) = 0;
    virtual void on_remb(DataRate bitrate, Timestamp now) = 0;
    virtual void on_transport_feedback(const rtcp::TransportFeedback& feedback, Timestamp now) = 0;
    // RFC 8888 congestion control feedback (ignored unless a listener uses it).
    virtual void on_congestion_control_feedback(const rtcp::CongestionControlFeedback& /*feedback*/,
                                                Timestamp /*now*/) {}
    // A report block about one of our SSRCs; `rtt` from its LSR/DLSR; `packets_expected` since
    // the previous block about the same SSRC (for loss reports).
    virtual void on_report_block(const rtcp::ReportBlock& block, std::optional<TimeDelta> rtt,
                                 int64_t packets_expected, Timestamp now) = 0;
    virtual void on_sender_report(const rtcp::SenderReport& report, Timestamp now) = 0;
    // RTT measured as a receiver, from a DLRR answering one of our RRTRs (RFC 3611 4.5).
    virtual void on_receiver_rtt(TimeDelta rtt, Timestamp now) = 0;
  };

  // Bounds: remembered RRTRs we sent (to match DLRRs), and peers whose RRTR awaits our DLRR (when
  // full, the one heard from longest ago is forgotten).
  static constexpr size_t kRrtrHistory = 8;
  static constexpr size_t kMaxRrtrPeers = 16;

  struct Config {
    uint32_t ssrc = 0;  // our RR / feedback sender SSRC
    std::string cname = "tern";
    TimeDelta min_interval = TimeDelta::Seconds(1);
    DataRate session_bandwidth = DataRate::KilobitsPerSec(1000);
    NtpClock ntp_clock;
    uint64_t seed = 1;
    bool send_rrtr = false;  // XR Receiver Reference Time in compounds without an SR
  };
  // One SSRC we send on, with its SR figures (nullopt: nothing sent yet).
  struct Sender {
    uint32_t ssrc = 0;
    std::optional<rtp::SenderReportInfo> info;
  };
  struct Counters {
    int64_t compounds_sent = 0;
    int64_t feedback_sent = 0;
    int64_t packets_received = 0;  // RTCP datagrams
    int64_t parse_errors = 0;
    int64_t rrtr_sent = 0;
    int64_t dlrr_sent = 0;               // DLRR sub-blocks (one per peer answered)
    int64_t receiver_rtt_measured = 0;   // DLRRs that matched an RRTR of ours
    int64_t dlrr_unmatched = 0;          // DLRRs about us echoing no RRTR we remember
  };

  static Result<RtcpSession> Create(const Config& config);

  std::optional<Timestamp> next_wakeup() const { return scheduler_.next_wakeup(); }
  // A regular compound report when one is due at `now`, else nullopt. `senders` lists our SSRCs;
  // `extra` packets (e.g. REMB) are appended.
  std::optional<std::vector<uint8_t>> maybe_build_report(Timestamp now, std::span<const Sender> senders,
                                                         rtp::ReceiveStatistics& statistics,
                                                         std::vector<rtcp::RtcpPacket> extra = {});
  // Feedback (NACK, PLI, FIR, transport-cc, REMB) as one reduced-size RTCP datagram.
  std::vector<uint8_t> build_feedback(std::span<const rtcp::RtcpPacket> packets, Timestamp now);
  // Parses a received RTCP datagram and dispatches it to `listener`; `own_ssrcs` are the SSRCs we
  // send on (report blocks about others are ignored).
  void on_receive(std::span<const uint8_t> datagram, Timestamp now, std::span<const uint32_t> own_ssrcs,
                  Listener& listener);

  uint32_t ssrc() const { return config_.ssrc; }
  const Counters& counters() const { return counters_; }

 private:
  RtcpSession(const Config& config, rtp::RtcpScheduler scheduler) : config_(config), scheduler_(std::move(scheduler)) {}
  void on_blocks(std::span<const rtcp::ReportBlock> blocks, Timestamp now, std::span<const uint32_t> own_ssrcs,
                 Listener& listener);
  void on_xr(const rtcp::ExtendedReports& xr, Timestamp now, Listener& listener);
  // The XR for a compound with head SSRC `head` (RRTR if due, DLRRs owed), or nullopt.
  std::optional<rtcp::ExtendedReports> build_xr(Timestamp now, uint32_t head, bool with_rrtr);

  struct PendingRrtr {
    uint32_t last_rr = 0;  // compact NTP of their RRTR
    Timestamp arrival;
  };

  Config config_;
  rtp::RtcpScheduler scheduler_;
  bool started_ = false;
  std::map<uint32_t, uint32_t> last_extended_seq_;  // per reported SSRC of ours (bounded by own SSRCs)
  std::map<uint32_t, PendingRrtr> pending_rrtrs_;  // peer SSRC -> RRTR to answer (<= kMaxRrtrPeers)
  std::vector<uint32_t> sent_rrtrs_;                // compact NTP of our last RRTRs (<= kRrtrHistory)
  Counters counters_;
};

}  // namespace tern::pipeline
