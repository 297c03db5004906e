// Reception statistics of one RTP source (one SSRC), as a receiver keeps them for its RTCP reception
// report blocks and for webrtc-stats "inbound-rtp":
//   - RFC 3550 Appendix A.1: sequence number validation (probation, MAX_DROPOUT, MAX_MISORDER,
//     resynchronisation after a large jump confirmed by the next sequential packet);
//   - RFC 3550 Appendix A.3: extended highest sequence number, cumulative and interval loss;
//   - RFC 3550 Appendix A.8 / 6.4.1: interarrival jitter in RTP timestamp units, integer form;
//   - RFC 3550 6.4.1: LSR / DLSR from the last sender report heard from the source.
// Sans-I/O: arrival times are Timestamp arguments. All state is fixed-size.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "tern/core/ntp_time.h"
#include "tern/core/units.h"
#include "tern/rtp/rtcp/report_block.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::rtp {

// Counters of one received SSRC, shaped after webrtc-stats RTCInboundRtpStreamStats.
struct InboundRtpCounters {
  uint32_t ssrc = 0;
  int64_t packets_received = 0;       // every packet handed in, retransmissions and duplicates included
  int64_t bytes_received = 0;         // payload bytes only (no header, no padding), as RFC 3550 6.4.1
  int64_t header_bytes_received = 0;  // RTP header + extensions + CSRCs + padding
  int64_t packets_lost = 0;           // RFC 3550 A.3 cumulative lost; negative with duplicates
  int64_t packets_duplicated = 0;     // seen twice within the last kDuplicateWindow sequence numbers
  int64_t packets_invalid = 0;        // rejected by A.1 validation (probation, unconfirmed jumps)
  int64_t retransmitted_packets_received = 0;
  int64_t retransmitted_bytes_received = 0;  // payload bytes of retransmissions
  double jitter_seconds = 0;          // A.8 interarrival jitter converted with the clock rate
  uint32_t jitter_rtp_units = 0;
  uint32_t extended_highest_sequence = 0;
  Timestamp last_packet_received = Timestamp::MinusInfinity();  // MinusInfinity: none yet
};

class StreamStatistician {
 public:
  static constexpr int kMinSequential = 2;     // RFC 3550 A.1 MIN_SEQUENTIAL
  static constexpr int kMaxDropout = 3000;     // RFC 3550 A.1 MAX_DROPOUT
  static constexpr int kMaxMisorder = 100;     // RFC 3550 A.1 MAX_MISORDER
  static constexpr int kDuplicateWindow = 512; // sequence numbers remembered for duplicate counting

  explicit StreamStatistician(uint32_t ssrc) : ssrc_(ssrc) {}

  // Accounts one packet of this SSRC. `clock_rate` (Hz) of its payload type drives the jitter; 0
  // means unknown and skips the jitter update, as do retransmissions (their timing is the
  // sender's, not the network's). Returns true when the packet passed A.1 validation; packets that
  // did not are counted as invalid and do not enter the loss figures.
  bool on_packet(const RtpHeader& header, Timestamp arrival, size_t packet_bytes, uint32_t clock_rate,
                 bool retransmitted);
  // Remembers the middle 32 bits of a sender report's NTP time (LSR) and when it arrived.
  void on_sender_report(NtpTime ntp, Timestamp arrival);

  // A report block for now (A.3 interval state advances: the next block's fraction lost covers
  // the time since this one). LSR/DLSR are zero when no SR was heard.
  rtcp::ReportBlock make_report_block(Timestamp now);

  uint32_t ssrc() const { return ssrc_; }
  // True once a packet passed validation (the source is reportable).
  bool validated() const { return validated_; }
  // True when a validated packet arrived since the last make_report_block().
  bool received_since_last_report() const { return received_since_report_; }
  // Last arrival of any packet of this SSRC (MinusInfinity before the first).
  Timestamp last_packet_time() const { return counters_.last_packet_received; }
  uint32_t extended_highest_sequence() const { return static_cast<uint32_t>(cycles_ + max_seq_); }
  // RFC 3550 A.3: expected - received, unclamped.
  int64_t cumulative_lost() const;
  // Jitter in RTP timestamp units (A.8 integer form: the scaled estimate >> 4).
  uint32_t jitter() const { return jitter_q4_ >> 4; }
  InboundRtpCounters counters() const;

 private:
  void init_seq(uint16_t seq);
  // RFC 3550 A.1 update_seq; returns false for a packet to be discarded.
  bool update_seq(uint16_t seq);
  int64_t expected() const { return cycles_ + max_seq_ - base_seq_ + 1; }
  void reset_window(int64_t ext_seq);
  // Marks ext_seq as seen; true when it was already marked.
  bool mark_seen(int64_t ext_seq);
  void update_jitter(uint32_t rtp_timestamp, Timestamp arrival, uint32_t clock_rate);

  uint32_t ssrc_;
  bool validated_ = false;
  bool received_since_report_ = false;
  bool resynced_ = false;  // set by init_seq during the current update

  // A.1 state. cycles_ counts wraps times 65536, kept in 64 bits so expected() never overflows.
  bool seen_any_ = false;
  uint16_t max_seq_ = 0;
  uint16_t base_seq_ = 0;
  uint32_t bad_seq_ = 0x10001;  // RTP_SEQ_MOD + 1: matches no sequence number
  int probation_ = 0;
  int64_t cycles_ = 0;
  int64_t received_ = 0;
  int64_t expected_prior_ = 0;
  int64_t received_prior_ = 0;

  // A.8 state.
  bool have_transit_ = false;
  int32_t transit_ = 0;
  uint32_t jitter_q4_ = 0;  // jitter * 16
  uint32_t jitter_clock_rate_ = 0;

  // Duplicate detection: bit i set when extended sequence number (window_max_ - k), with
  // i = ext % kDuplicateWindow, was seen. Fixed size.
  std::array<uint64_t, kDuplicateWindow / 64> seen_{};
  int64_t window_max_ = -1;

  // LSR bookkeeping.
  uint32_t last_sr_compact_ = 0;
  Timestamp last_sr_arrival_ = Timestamp::MinusInfinity();

  InboundRtpCounters counters_;
};

}  // namespace tern::rtp
