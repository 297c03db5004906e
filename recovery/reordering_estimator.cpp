// Reordering learnt from late packets (see reordering_estimator.h).
#include "tern/recovery/reordering_estimator.h"

#include <algorithm>
#include <cmath>

namespace tern::recovery {
namespace {

// Nearest-rank percentile of the first `n` values of `values` (reordered in place), n >= 1.
template <typename T>
T nearest_rank(std::array<T, ReorderingEstimator::kHistory>& values, size_t n, double percentile) {
  const auto rank = static_cast<size_t>(std::ceil(percentile * static_cast<double>(n)));
  const size_t index = std::clamp<size_t>(rank, 1, n) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index),
                   values.begin() + static_cast<std::ptrdiff_t>(n));
  return values[index];
}

}  // namespace

ReorderingEstimator::ReorderingEstimator(double percentile, TimeDelta max_delay)
    : percentile_(std::clamp(percentile, 0.01, 1.0)), max_delay_(std::max(max_delay, TimeDelta::Zero())) {}

void ReorderingEstimator::add(int64_t distance, TimeDelta delay) {
  ring_[next_] = Observation{std::clamp<int64_t>(distance, 1, kMaxDistance),
                             std::clamp(delay, TimeDelta::Zero(), max_delay_)};
  next_ = (next_ + 1) % kHistory;
  count_ = std::min(count_ + 1, kHistory);
  // Recomputed per observation (at most kHistory values each): observations are reorderings,
  // far rarer than packets, and the waits are read for every gap.
  std::array<int64_t, kHistory> distances{};
  std::array<TimeDelta, kHistory> delays{};
  for (size_t i = 0; i < count_; ++i) {
    distances[i] = ring_[i].distance;
    delays[i] = ring_[i].delay;
  }
  packets_wait_ = nearest_rank(distances, count_, percentile_);
  time_wait_ = nearest_rank(delays, count_, percentile_);
}

}  // namespace tern::recovery
