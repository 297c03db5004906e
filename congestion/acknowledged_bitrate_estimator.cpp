#include "tern/congestion/acknowledged_bitrate_estimator.h"

#include <algorithm>
#include <cmath>

namespace tern::congestion {

void AcknowledgedBitrateEstimator::incoming_packet_feedback(
    const std::vector<PacketResult>& packets) {
  std::vector<const PacketResult*> received;
  received.reserve(packets.size());
  for (const auto& p : packets) {
    if (p.is_received()) received.push_back(&p);
  }
  std::stable_sort(received.begin(), received.end(),
                   [](const PacketResult* a, const PacketResult* b) {
                     return a->receive_time < b->receive_time;
                   });
  for (const PacketResult* p : received) {
    if (alr_ended_time_ && p->sent.send_time > *alr_ended_time_) {
      estimate_var_ += config_.fast_change_variance_kbps2;
      alr_ended_time_.reset();
    }
    update(p->receive_time, p->sent.size);
  }
}

std::optional<DataRate> AcknowledgedBitrateEstimator::bitrate() const {
  if (estimate_kbps_ < 0) return std::nullopt;
  return DataRate::KilobitsPerSecF(estimate_kbps_);
}

std::optional<DataRate> AcknowledgedBitrateEstimator::peek_rate() const {
  if (!last_sample_kbps_) return std::nullopt;
  return DataRate::KilobitsPerSecF(*last_sample_kbps_);
}

void AcknowledgedBitrateEstimator::update(Timestamp at, DataSize amount) {
  const TimeDelta window = estimate_kbps_ < 0 ? config_.initial_window : config_.window;
  bool small_sample = false;
  const std::optional<double> sample = update_window(at, amount, window, &small_sample);
  if (!sample) return;
  last_sample_kbps_ = *sample;
  if (estimate_kbps_ < 0) {
    estimate_kbps_ = *sample;
    return;
  }
  const double scale = (in_alr_ && small_sample && *sample < estimate_kbps_)
                           ? config_.uncertainty_scale_in_alr
                           : config_.uncertainty_scale;
  // Relative disagreement -> sample variance; a Kalman-style blend with the predicted variance.
  const double uncertainty = scale * std::abs(estimate_kbps_ - *sample) / std::max(estimate_kbps_, 1.0);
  const double sample_var = uncertainty * uncertainty;
  const double pred_var = estimate_var_ + config_.process_noise_kbps2;
  estimate_kbps_ = (sample_var * estimate_kbps_ + pred_var * *sample) / (sample_var + pred_var);
  estimate_kbps_ = std::max(estimate_kbps_, 0.0);
  estimate_var_ = sample_var * pred_var / (sample_var + pred_var);
}

std::optional<double> AcknowledgedBitrateEstimator::update_window(Timestamp at, DataSize amount,
                                                                  TimeDelta window,
                                                                  bool* small_sample) {
  if (at < prev_time_) {
    // Time went backwards (new receiver clock): restart the window.
    prev_time_ = Timestamp::MinusInfinity();
    sum_ = DataSize::Zero();
    current_window_ = TimeDelta::Zero();
  }
  if (prev_time_.is_finite()) {
    const TimeDelta gap = at - prev_time_;
    current_window_ += gap;
    if (gap > window) {
      // Nothing acked for a whole window: the previous bytes no longer say anything.
      sum_ = DataSize::Zero();
      current_window_ = TimeDelta::Micros(current_window_.us() % window.us());
    }
  }
  prev_time_ = at;
  std::optional<double> sample;
  if (current_window_ >= window) {
    *small_sample = sum_ < DataSize::Bytes(3000);
    sample = static_cast<double>(sum_.bits()) / window.ms_f();  // kbps
    current_window_ -= window;
    sum_ = DataSize::Zero();
  }
  sum_ += amount;
  return sample;
}

}  // namespace tern::congestion
