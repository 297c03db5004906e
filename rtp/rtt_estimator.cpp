#include "tern/rtp/rtt_estimator.h"

namespace tern::rtp {

std::optional<TimeDelta> rtt_from_compact_ntp(uint32_t arrival_compact, uint32_t echoed,
                                              uint32_t delay_since_echoed) {
  if (echoed == 0) return std::nullopt;
  const uint32_t rtt = arrival_compact - echoed - delay_since_echoed;  // modulo 2^32
  const auto signed_rtt = static_cast<int32_t>(rtt);
  if (signed_rtt < 0) {
    // Each of the three values is rounded to 1/65536 s; allow that much below zero.
    if (signed_rtt >= -3) return TimeDelta::Zero();
    return std::nullopt;
  }
  return compact_ntp_to_delta(rtt);
}

std::optional<TimeDelta> rtt_from_report_block(const rtcp::ReportBlock& block, Timestamp arrival,
                                               const NtpClock& clock) {
  return rtt_from_compact_ntp(clock.to_ntp(arrival).compact(), block.last_sr, block.delay_since_last_sr);
}

std::optional<TimeDelta> rtt_from_dlrr(uint32_t last_rr, uint32_t delay_since_last_rr, Timestamp arrival,
                                       const NtpClock& clock) {
  return rtt_from_compact_ntp(clock.to_ntp(arrival).compact(), last_rr, delay_since_last_rr);
}

void RttEstimator::on_rtt(TimeDelta rtt) {
  if (rtt.is_infinite() || rtt < TimeDelta::Zero()) return;
  latest_ = rtt;
  if (count_ == 0) {
    min_ = rtt;
    smoothed_ = rtt;
  } else {
    min_ = tern::min(min_, rtt);
    smoothed_ = smoothed_ + (rtt - smoothed_) / 8;
  }
  total_ += rtt;
  ++count_;
}

}  // namespace tern::rtp
