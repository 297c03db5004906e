#include "tern/congestion/alr_detector.h"

#include <algorithm>

namespace tern::congestion {

namespace {
double window_bytes(DataRate rate, TimeDelta window) {
  return static_cast<double>((rate * window).bytes());
}
}  // namespace

void AlrDetector::set_estimated_bitrate(DataRate rate) {
  target_rate_ = rate * config_.bandwidth_usage_ratio;
  const double cap = window_bytes(target_rate_, config_.budget_window);
  bytes_remaining_ = std::clamp(bytes_remaining_, -cap, cap);
}

double AlrDetector::budget_ratio() const {
  const double cap = window_bytes(target_rate_, config_.budget_window);
  if (cap <= 0) return 0;
  return bytes_remaining_ / cap;
}

void AlrDetector::on_bytes_sent(DataSize size, Timestamp send_time) {
  if (last_send_.is_minus_infinity()) {
    last_send_ = send_time;
    return;
  }
  const TimeDelta delta = max(send_time - last_send_, TimeDelta::Zero());
  last_send_ = max(last_send_, send_time);
  const double cap = window_bytes(target_rate_, config_.budget_window);
  // Unused budget may build up: that build-up is exactly what marks the application limit.
  bytes_remaining_ = std::max(bytes_remaining_ - static_cast<double>(size.bytes()), -cap);
  bytes_remaining_ = std::min(bytes_remaining_ + static_cast<double>((target_rate_ * delta).bytes()), cap);
  const double ratio = budget_ratio();
  if (ratio > config_.start_budget_level_ratio && !alr_started_) {
    alr_started_ = send_time;
    alr_ended_.reset();
  } else if (ratio < config_.stop_budget_level_ratio && alr_started_) {
    alr_started_.reset();
    alr_ended_ = send_time;
  }
}

}  // namespace tern::congestion
