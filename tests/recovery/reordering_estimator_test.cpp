// Tests of the reordering estimator: nearest-rank percentiles of distance and delay, the bounded
// history that forgets old reordering, and the clamps on outliers.
#include "tern/recovery/reordering_estimator.h"

#include <doctest/doctest.h>

using namespace tern;
using namespace tern::recovery;

TEST_CASE("reordering estimator starts at zero waits") {
  ReorderingEstimator e(0.95, TimeDelta::Millis(100));
  CHECK(e.packets_wait() == 0);
  CHECK(e.time_wait() == TimeDelta::Zero());
  CHECK(e.observations() == 0);
}

TEST_CASE("reordering estimator waits for the percentile of distances and delays") {
  ReorderingEstimator e(0.9, TimeDelta::Millis(100));
  for (int i = 1; i <= 10; ++i) e.add(i, TimeDelta::Millis(i * 2));
  // Nearest rank: ceil(0.9 x 10) = 9th smallest.
  CHECK(e.packets_wait() == 9);
  CHECK(e.time_wait() == TimeDelta::Millis(18));
  ReorderingEstimator all(1.0, TimeDelta::Millis(100));
  for (int i = 1; i <= 10; ++i) all.add(i, TimeDelta::Millis(i * 2));
  CHECK(all.packets_wait() == 10);
  CHECK(all.time_wait() == TimeDelta::Millis(20));
}

TEST_CASE("reordering estimator keeps only the last kHistory observations") {
  ReorderingEstimator e(1.0, TimeDelta::Millis(100));
  e.add(50, TimeDelta::Millis(80));  // a burst of deep reordering, long ago
  for (size_t i = 0; i < ReorderingEstimator::kHistory - 1; ++i) e.add(2, TimeDelta::Millis(3));
  CHECK(e.packets_wait() == 50);
  CHECK(e.observations() == ReorderingEstimator::kHistory);
  e.add(2, TimeDelta::Millis(3));  // overwrites the oldest
  CHECK(e.observations() == ReorderingEstimator::kHistory);
  CHECK(e.packets_wait() == 2);
  CHECK(e.time_wait() == TimeDelta::Millis(3));
}

TEST_CASE("reordering estimator clamps outliers") {
  ReorderingEstimator e(1.0, TimeDelta::Millis(100));
  e.add(1 << 20, TimeDelta::Seconds(30));
  CHECK(e.packets_wait() == ReorderingEstimator::kMaxDistance);
  CHECK(e.time_wait() == TimeDelta::Millis(100));
  e.add(-5, TimeDelta::Millis(-3));  // nonsense in: still a sane (minimal) observation
  CHECK(e.packets_wait() == ReorderingEstimator::kMaxDistance);
  ReorderingEstimator low(0.5, TimeDelta::Millis(100));
  low.add(-5, TimeDelta::Millis(-3));
  CHECK(low.packets_wait() == 1);
  CHECK(low.time_wait() == TimeDelta::Zero());
}
