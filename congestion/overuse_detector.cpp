#include "tern/congestion/overuse_detector.h"

#include <algorithm>
#include <cmath>

namespace tern::congestion {

OveruseDetector::OveruseDetector(Config config)
    : config_(config), threshold_ms_(config.initial_threshold_ms) {}

BandwidthUsage OveruseDetector::detect(double modified_trend_ms, double raw_trend,
                                       TimeDelta group_delta, int num_deltas, Timestamp now) {
  if (num_deltas < 2) return BandwidthUsage::kNormal;
  if (modified_trend_ms > threshold_ms_) {
    if (time_over_using_ms_ < 0) {
      time_over_using_ms_ = group_delta.ms_f() / 2;  // assume we crossed halfway through
    } else {
      time_over_using_ms_ += group_delta.ms_f();
    }
    ++overuse_counter_;
    if (time_over_using_ms_ > config_.overusing_time_threshold.ms_f() && overuse_counter_ > 1 &&
        raw_trend >= prev_trend_) {
      time_over_using_ms_ = 0;
      overuse_counter_ = 0;
      state_ = BandwidthUsage::kOverusing;
    }
  } else if (modified_trend_ms < -threshold_ms_) {
    time_over_using_ms_ = -1;
    overuse_counter_ = 0;
    state_ = BandwidthUsage::kUnderusing;
  } else {
    time_over_using_ms_ = -1;
    overuse_counter_ = 0;
    state_ = BandwidthUsage::kNormal;
  }
  prev_trend_ = raw_trend;
  update_threshold(modified_trend_ms, now);
  return state_;
}

void OveruseDetector::update_threshold(double modified_trend_ms, Timestamp now) {
  if (last_update_.is_minus_infinity()) last_update_ = now;
  const double magnitude = std::abs(modified_trend_ms);
  if (magnitude > threshold_ms_ + config_.max_adapt_jump_ms) {
    // A spike (e.g. a route change) should not drag the threshold along.
    last_update_ = now;
    return;
  }
  const double k = magnitude < threshold_ms_ ? config_.k_down : config_.k_up;
  const double dt_ms = std::min((now - last_update_).ms_f(), config_.max_adapt_step.ms_f());
  threshold_ms_ += k * (magnitude - threshold_ms_) * std::max(dt_ms, 0.0);
  threshold_ms_ = std::clamp(threshold_ms_, config_.min_threshold_ms, config_.max_threshold_ms);
  last_update_ = now;
}

}  // namespace tern::congestion
