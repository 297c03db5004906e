// Receive side of send-side bandwidth estimation (libwebrtc's RemoteEstimatorProxy): records the
// arrival time of every packet carrying a transport-wide sequence number and periodically reports
// them back as transport-cc feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01), or, in
// the RFC 8888 variant, as congestion control feedback per (SSRC, RTP sequence number).
//
// Sans-I/O: feed on_received_packet(), ask next_wakeup(), call process(now) and send what it
// returns. The feedback interval keeps feedback near 5% of the media bitrate (bitrate hint),
// between 50 and 250 ms (100 ms without a hint).
//
// Reordering: a packet arriving after its sequence number was already reported as lost moves the
// start of the next report back to it, so it is reported received (the sender ignores the
// duplicates this causes). Memory is bounded: arrivals older than `history` behind the newest
// packet (or beyond max_packets) are forgotten, oldest first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "tern/core/seq_num.h"
#include "tern/core/units.h"
#include "tern/rtp/rtcp/congestion_control_feedback.h"
#include "tern/rtp/rtcp/transport_feedback.h"

namespace tern::congestion {

// Feedback interval for a bitrate: a ~68-byte report at `fraction` of `bitrate`, clamped.
TimeDelta feedback_interval_for(DataRate bitrate, double fraction, TimeDelta min_interval,
                                TimeDelta max_interval);

class TransportFeedbackGenerator {
 public:
  struct Config {
    uint32_t sender_ssrc = 0;
    uint32_t media_ssrc = 0;
    TimeDelta default_interval = TimeDelta::Millis(100);
    TimeDelta min_interval = TimeDelta::Millis(50);
    TimeDelta max_interval = TimeDelta::Millis(250);
    double bandwidth_fraction = 0.05;
    size_t max_packets = 1 << 14;                        // arrivals kept
    TimeDelta back_window = TimeDelta::Millis(500);      // reported arrivals kept this long
    size_t max_feedback_packets_per_process = 16;        // bounds one process() call
  };

  TransportFeedbackGenerator() : TransportFeedbackGenerator(Config{}) {}
  explicit TransportFeedbackGenerator(Config config);

  // Records that the packet with transport-wide sequence number `seq` arrived at `arrival`.
  // A duplicate keeps its first arrival time.
  void on_received_packet(uint16_t seq, Timestamp arrival);
  // Media bitrate the feedback interval is derived from (see feedback_interval_for).
  void set_bitrate_hint(DataRate bitrate);
  // The "SSRC of media source" the next reports carry. libwebrtc (Chromium) drops transport-cc
  // feedback whose media SSRC is not one it sends, so a receiver that did not know the SSRCs up
  // front (simulcast, learned from the rid) sets it to one it received (e.g. the latest packet's).
  void set_media_ssrc(uint32_t ssrc) { config_.media_ssrc = ssrc; }
  uint32_t media_ssrc() const { return config_.media_ssrc; }

  // When the next report is due; nullopt when nothing is waiting to be reported.
  std::optional<Timestamp> next_wakeup() const;
  // Builds the reports due at `now`: every packet from the report window start to the newest
  // arrival, split into several feedback packets when one would exceed kMaxSizeBytes.
  std::vector<rtcp::TransportFeedback> process(Timestamp now);

  TimeDelta interval() const { return interval_; }
  size_t stored_packets() const { return arrivals_.size(); }

 private:
  void prune(Timestamp now);

  Config config_;
  TimeDelta interval_;
  RtpSeqUnwrapper unwrapper_;
  std::map<int64_t, Timestamp> arrivals_;  // unwrapped seq -> arrival
  std::optional<int64_t> window_start_;   // first seq of the next report
  Timestamp last_process_ = Timestamp::MinusInfinity();
  uint8_t feedback_count_ = 0;
};

// RFC 8888 variant: one report covers, per SSRC, every RTP sequence number from the last report's
// end to the newest arrival; the report timestamp is `now` as compact NTP and arrival time offsets
// are now - arrival. Reports are split to stay under max_report_size (the path MTU).
class CongestionControlFeedbackGenerator {
 public:
  struct Config {
    uint32_t sender_ssrc = 0;
    TimeDelta default_interval = TimeDelta::Millis(100);
    TimeDelta min_interval = TimeDelta::Millis(50);
    TimeDelta max_interval = TimeDelta::Millis(250);
    double bandwidth_fraction = 0.05;
    size_t max_report_size = 1200;
    size_t max_ssrcs = 64;                // packets of further SSRCs are ignored
    size_t max_packets_per_ssrc = 1 << 13;
    TimeDelta back_window = TimeDelta::Millis(500);
    size_t max_feedback_packets_per_process = 16;
  };

  CongestionControlFeedbackGenerator() : CongestionControlFeedbackGenerator(Config{}) {}
  explicit CongestionControlFeedbackGenerator(Config config);

  void on_received_packet(uint32_t ssrc, uint16_t seq, Timestamp arrival,
                          rtcp::EcnMarking ecn = rtcp::EcnMarking::kNotEct);
  void set_bitrate_hint(DataRate bitrate);
  std::optional<Timestamp> next_wakeup() const;
  std::vector<rtcp::CongestionControlFeedback> process(Timestamp now);

  // Compact NTP (16.16 s, middle 32 bits) for a receiver-clock time.
  static uint32_t CompactNtp(Timestamp t);

 private:
  struct Arrival {
    Timestamp time;
    rtcp::EcnMarking ecn;
  };
  struct Stream {
    RtpSeqUnwrapper unwrapper;
    std::map<int64_t, Arrival> arrivals;
    std::optional<int64_t> window_start;
  };
  bool has_pending() const;

  Config config_;
  TimeDelta interval_;
  std::map<uint32_t, Stream> streams_;
  Timestamp last_process_ = Timestamp::MinusInfinity();
};

}  // namespace tern::congestion
