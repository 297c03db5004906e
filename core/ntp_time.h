// NTP timestamps (RFC 5905 64-bit fixed point: 32-bit seconds since 1900 + 32-bit fraction) and the
// 32-bit "compact" form used by RTCP LSR/DLSR (RFC 3550 6.4.1), with conversions to tern units.
#pragma once

#include <cstdint>

#include "tern/core/units.h"

namespace tern {

// Seconds between the NTP epoch (1900-01-01) and the Unix epoch (1970-01-01).
inline constexpr int64_t kNtpUnixEpochOffsetSeconds = 2208988800LL;

class NtpTime {
 public:
  constexpr NtpTime() = default;
  constexpr explicit NtpTime(uint64_t value) : value_(value) {}
  constexpr NtpTime(uint32_t seconds, uint32_t fraction)
      : value_((uint64_t{seconds} << 32) | fraction) {}

  // From microseconds since the NTP epoch (negative or out-of-range values clamp).
  static constexpr NtpTime FromMicros(int64_t us_since_ntp_epoch) {
    if (us_since_ntp_epoch <= 0) return NtpTime(0);
    const uint64_t us = static_cast<uint64_t>(us_since_ntp_epoch);
    const uint64_t secs = us / 1000000;
    if (secs > 0xFFFFFFFFull) return NtpTime(~uint64_t{0});
    const uint64_t frac_us = us % 1000000;
    // fraction = frac_us * 2^32 / 1e6, rounded.
    const uint64_t frac = (frac_us * (uint64_t{1} << 32) + 500000) / 1000000;
    return NtpTime((secs << 32) + frac);
  }
  static constexpr NtpTime FromUnixMicros(int64_t unix_us) {
    return FromMicros(unix_us + kNtpUnixEpochOffsetSeconds * 1000000);
  }

  constexpr uint64_t value() const { return value_; }
  constexpr uint32_t seconds() const { return static_cast<uint32_t>(value_ >> 32); }
  constexpr uint32_t fraction() const { return static_cast<uint32_t>(value_); }
  // Middle 32 bits: 16.16 fixed point seconds, as carried in LSR.
  constexpr uint32_t compact() const { return static_cast<uint32_t>(value_ >> 16); }
  // Microseconds since the NTP epoch, rounded to nearest.
  constexpr int64_t to_micros() const {
    return static_cast<int64_t>(seconds()) * 1000000 +
           static_cast<int64_t>((uint64_t{fraction()} * 1000000 + (uint64_t{1} << 31)) >> 32);
  }
  constexpr int64_t to_unix_micros() const { return to_micros() - kNtpUnixEpochOffsetSeconds * 1000000; }

  constexpr bool valid() const { return value_ != 0; }
  friend constexpr bool operator==(NtpTime a, NtpTime b) { return a.value_ == b.value_; }

 private:
  uint64_t value_ = 0;
};

// A compact NTP (16.16 seconds) interval, e.g. DLSR or a round-trip computed as A - LSR - DLSR,
// to a TimeDelta (rounded to nearest microsecond). Values are unsigned 32-bit; callers that compute
// differences must do so modulo 2^32 and interpret them as durations under ~18 hours.
constexpr TimeDelta compact_ntp_to_delta(uint32_t compact) {
  return TimeDelta::Micros(static_cast<int64_t>((uint64_t{compact} * 1000000 + 0x8000) >> 16));
}

// A non-negative duration to compact NTP (saturating at 0xFFFFFFFF; negatives give 0).
constexpr uint32_t delta_to_compact_ntp(TimeDelta d) {
  if (d.us() <= 0) return 0;
  if (d.is_plus_infinity() || d.us() >= 65536LL * 1000000) return 0xFFFFFFFFu;
  return static_cast<uint32_t>((static_cast<uint64_t>(d.us()) * 65536 + 500000) / 1000000);
}

// Maps a driver's Timestamp to wall-clock NTP time: the driver knows the NTP time of one instant
// (its epoch) and the mapping is linear from there. Simulated runs pick any epoch deterministically.
class NtpClock {
 public:
  // `ntp_at_zero` is the NTP time of Timestamp::Zero().
  constexpr explicit NtpClock(NtpTime ntp_at_zero = NtpTime(uint32_t{3900000000u}, 0u))
      : base_us_(ntp_at_zero.to_micros()) {}
  constexpr NtpTime to_ntp(Timestamp t) const { return NtpTime::FromMicros(base_us_ + t.us()); }
  constexpr Timestamp from_ntp(NtpTime ntp) const { return Timestamp::Micros(ntp.to_micros() - base_us_); }

 private:
  int64_t base_us_;
};

}  // namespace tern
