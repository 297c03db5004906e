#include "tern/congestion/link_capacity_estimator.h"

#include <algorithm>
#include <cmath>

namespace tern::congestion {

std::optional<DataRate> LinkCapacityEstimator::estimate() const {
  if (!estimate_kbps_) return std::nullopt;
  return DataRate::KilobitsPerSecF(*estimate_kbps_);
}

double LinkCapacityEstimator::deviation_estimate_kbps() const {
  // The variance is normalised by the estimate so that it is comparable across rates.
  return std::sqrt(deviation_kbps_ * *estimate_kbps_);
}

DataRate LinkCapacityEstimator::upper_bound() const {
  if (!estimate_kbps_) return DataRate::PlusInfinity();
  return DataRate::KilobitsPerSecF(*estimate_kbps_ + 3 * deviation_estimate_kbps());
}

DataRate LinkCapacityEstimator::lower_bound() const {
  if (!estimate_kbps_) return DataRate::Zero();
  return DataRate::KilobitsPerSecF(std::max(0.0, *estimate_kbps_ - 3 * deviation_estimate_kbps()));
}

void LinkCapacityEstimator::update(DataRate sample, double alpha) {
  const double sample_kbps = sample.kbps_f();
  if (!estimate_kbps_) {
    estimate_kbps_ = sample_kbps;
  } else {
    estimate_kbps_ = (1 - alpha) * *estimate_kbps_ + alpha * sample_kbps;
  }
  const double norm = std::max(*estimate_kbps_, 1.0);
  const double error = *estimate_kbps_ - sample_kbps;
  deviation_kbps_ = (1 - alpha) * deviation_kbps_ + alpha * error * error / norm;
  deviation_kbps_ = std::clamp(deviation_kbps_, 0.4, 2.5);
}

}  // namespace tern::congestion
