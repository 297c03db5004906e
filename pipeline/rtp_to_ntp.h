// RtpToNtp: maps a remote stream's RTP timestamps to its sender's NTP wall clock through the last
// sender report's NTP/RTP pair (RFC 3550 6.4.1), and from there to local driver time through an
// NtpClock. This is what A/V synchronisation and capture-time estimates are built on.
#pragma once

#include <cstdint>
#include <optional>

#include "tern/core/ntp_time.h"
#include "tern/core/units.h"

namespace tern::pipeline {

class RtpToNtp {
 public:
  explicit RtpToNtp(uint32_t clock_rate) : clock_rate_(clock_rate) {}
  // Remembers the NTP/RTP pair of a sender report (an all-zero NTP time is ignored).
  void on_sender_report(NtpTime ntp, uint32_t rtp_timestamp) {
    if (!ntp.valid()) return;
    ntp_us_ = ntp.to_micros();
    rtp_ = rtp_timestamp;
  }
  bool valid() const { return ntp_us_.has_value(); }
  // The sender's NTP time (microseconds since the NTP epoch) of `rtp_timestamp`, assuming it lies
  // within half the 32-bit RTP space of the SR's; nullopt before the first SR.
  std::optional<int64_t> ntp_micros(uint32_t rtp_timestamp) const {
    if (!ntp_us_ || clock_rate_ == 0) return std::nullopt;
    const int64_t ticks = static_cast<int32_t>(rtp_timestamp - rtp_);
    return *ntp_us_ + ticks * 1000000 / static_cast<int64_t>(clock_rate_);
  }
  // The same instant as local driver time through `clock`.
  std::optional<Timestamp> to_local(uint32_t rtp_timestamp, const NtpClock& clock) const {
    auto us = ntp_micros(rtp_timestamp);
    if (!us) return std::nullopt;
    return clock.from_ntp(NtpTime::FromMicros(*us));
  }

 private:
  uint32_t clock_rate_;
  std::optional<int64_t> ntp_us_;
  uint32_t rtp_ = 0;
};

}  // namespace tern::pipeline
