// Round-trip time from RTCP timing fields, and a small estimator that keeps the figures stats and
// congestion control read.
//
// Sender side (RFC 3550 6.4.1): a report block echoes the compact NTP time of our last SR (LSR) and
// how long the receiver held it (DLSR); RTT = A - LSR - DLSR where A is the block's arrival in
// compact NTP. Receiver side (RFC 3611 4.4/4.5): the receiver sends an RRTR block with its NTP time,
// the sender echoes it in a DLRR sub-block (LRR, DLRR); RTT = A - LRR - DLRR, the same arithmetic.
#pragma once

#include <cstdint>
#include <optional>

#include "tern/core/ntp_time.h"
#include "tern/core/units.h"
#include "tern/rtp/rtcp/report_block.h"

namespace tern::rtp {

// RTT from compact NTP values (all modulo 2^32): arrival A, echoed time, and the peer's hold delay.
// nullopt when `echoed` is 0 (no report to echo yet) or the result is negative by more than the
// rounding of three compact values (a clock jump or a lying peer); tiny negatives give zero.
std::optional<TimeDelta> rtt_from_compact_ntp(uint32_t arrival_compact, uint32_t echoed,
                                              uint32_t delay_since_echoed);

// RFC 3550 6.4.1: RTT measured by a sender from a report block about its own stream that arrived at
// `arrival` (driver time, mapped to NTP through `clock`).
std::optional<TimeDelta> rtt_from_report_block(const rtcp::ReportBlock& block, Timestamp arrival,
                                               const NtpClock& clock);

// RFC 3611 4.5: RTT measured by a receiver from a DLRR sub-block (its `last_rr` and
// `delay_since_last_rr` fields) answering our RRTR.
std::optional<TimeDelta> rtt_from_dlrr(uint32_t last_rr, uint32_t delay_since_last_rr, Timestamp arrival,
                                       const NtpClock& clock);

// Keeps the latest, minimum and smoothed RTT (EWMA with gain 1/8, as TCP's SRTT, RFC 6298) plus the
// totals webrtc-stats remote-inbound-rtp reports (totalRoundTripTime, roundTripTimeMeasurements).
class RttEstimator {
 public:
  // Adds one sample; negative or infinite samples are ignored.
  void on_rtt(TimeDelta rtt);

  std::optional<TimeDelta> latest() const { return count_ ? std::optional(latest_) : std::nullopt; }
  std::optional<TimeDelta> min() const { return count_ ? std::optional(min_) : std::nullopt; }
  std::optional<TimeDelta> smoothed() const { return count_ ? std::optional(smoothed_) : std::nullopt; }
  TimeDelta total() const { return total_; }
  int64_t count() const { return count_; }

 private:
  TimeDelta latest_;
  TimeDelta min_;
  TimeDelta smoothed_;
  TimeDelta total_;
  int64_t count_ = 0;
};

}  // namespace tern::rtp
