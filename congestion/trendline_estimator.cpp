#include "tern/congestion/trendline_estimator.h"

#include <algorithm>
#include <optional>

namespace tern::congestion {
namespace {

// Least-squares slope of y over x; nullopt when x does not vary.
template <typename P>
std::optional<double> linear_fit_slope(const std::deque<P>& points) {
  double sum_x = 0;
  double sum_y = 0;
  for (const auto& p : points) {
    sum_x += p.x_ms;
    sum_y += p.y_ms;
  }
  const double n = static_cast<double>(points.size());
  const double mean_x = sum_x / n;
  const double mean_y = sum_y / n;
  double num = 0;
  double den = 0;
  for (const auto& p : points) {
    num += (p.x_ms - mean_x) * (p.y_ms - mean_y);
    den += (p.x_ms - mean_x) * (p.x_ms - mean_x);
  }
  if (den == 0) return std::nullopt;
  return num / den;
}

}  // namespace

TrendlineEstimator::TrendlineEstimator(Config config)
    : config_(config), detector_(config.detector) {
  if (config_.window_size < 2) config_.window_size = 2;
}

BandwidthUsage TrendlineEstimator::update(TimeDelta send_delta, TimeDelta arrival_delta,
                                          Timestamp arrival_time, Timestamp now) {
  const double delta_ms = (arrival_delta - send_delta).ms_f();
  num_deltas_ = std::min(num_deltas_ + 1, 1000);
  if (first_arrival_.is_minus_infinity()) first_arrival_ = arrival_time;
  accumulated_delay_ms_ += delta_ms;
  smoothed_delay_ms_ =
      config_.smoothing * smoothed_delay_ms_ + (1 - config_.smoothing) * accumulated_delay_ms_;
  window_.push_back(Point{(arrival_time - first_arrival_).ms_f(), smoothed_delay_ms_});
  if (window_.size() > config_.window_size) window_.pop_front();
  if (window_.size() == config_.window_size) {
    // Keep the previous trend if the fit is degenerate (all points at one time).
    trend_ = linear_fit_slope(window_).value_or(trend_);
  }
  modified_trend_ms_ =
      std::min(num_deltas_, config_.max_num_deltas) * trend_ * config_.threshold_gain;
  return detector_.detect(modified_trend_ms_, trend_, send_delta, num_deltas_, now);
}

}  // namespace tern::congestion
