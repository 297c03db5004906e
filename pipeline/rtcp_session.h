// RtcpSession: the RTCP side of one endpoint (RFC 3550 6, RFC 4585): when to send regular
// compound reports (RtcpScheduler), building them (SR per sending SSRC or RR, report blocks from
// ReceiveStatistics, SDES CNAME, extra packets such as REMB), sending feedback at once as
// reduced-size RTCP (RFC 5506), and parsing received compounds and dispatching what they carry to
// one narrow listener: NACK -> packet history, PLI/FIR -> encoder, REMB/transport-cc -> congestion
// controller, report blocks -> RTT and loss, SR -> A/V sync and LSR/DLSR.
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
    // A report block about one of our SSRCs; `rtt` from its LSR/DLSR; `packets_expected` since
    // the previous block about the same SSRC (for loss reports).
    virtual void on_report_block(const rtcp::ReportBlock& block, std::optional<TimeDelta> rtt,
                                 int64_t packets_expected, Timestamp now) = 0;
    virtual void on_sender_report(const rtcp::SenderReport& report, Timestamp now) = 0;
  };

  struct Config {
    uint32_t ssrc = 0;  // our RR / feedback sender SSRC
    std::string cname = "tern";
    TimeDelta min_interval = TimeDelta::Seconds(1);
    DataRate session_bandwidth = DataRate::KilobitsPerSec(1000);
    NtpClock ntp_clock;
    uint64_t seed = 1;
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

  Config config_;
  rtp::RtcpScheduler scheduler_;
  bool started_ = false;
  std::map<uint32_t, uint32_t> last_extended_seq_;  // per reported SSRC of ours (bounded by own SSRCs)
  Counters counters_;
};

// True when a datagram is RTCP rather than RTP under RFC 5761 multiplexing (second byte, the RTP
// marker + payload type position, in 192..223).
bool is_rtcp(std::span<const uint8_t> datagram);

}  // namespace tern::pipeline
