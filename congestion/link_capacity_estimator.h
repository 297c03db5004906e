// Running estimate of the bottleneck capacity, sampled at the acknowledged rate whenever an
// over-use is detected (libwebrtc's LinkCapacityEstimator): a mean and a normalised variance, so
// that AIMD can tell whether it is close to the capacity (additive increase) or far from it.
#pragma once

#include <optional>

#include "tern/core/units.h"

namespace tern::congestion {

class LinkCapacityEstimator {
 public:
  // Folds in a sample of the acknowledged rate at an over-use.
  void on_overuse_detected(DataRate acknowledged_rate) { update(acknowledged_rate, 0.05); }
  // Folds in a probe result (trusted more).
  void on_probe_rate(DataRate probe_rate) { update(probe_rate, 0.5); }
  void reset() { estimate_kbps_.reset(); }

  bool has_estimate() const { return estimate_kbps_.has_value(); }
  std::optional<DataRate> estimate() const;
  // Mean +/- 3 standard deviations; +inf / 0 without an estimate.
  DataRate upper_bound() const;
  DataRate lower_bound() const;

 private:
  void update(DataRate sample, double alpha);
  double deviation_estimate_kbps() const;

  std::optional<double> estimate_kbps_;
  double deviation_kbps_ = 0.4;
};

}  // namespace tern::congestion
