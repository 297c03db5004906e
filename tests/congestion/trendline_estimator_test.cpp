#include "tern/congestion/trendline_estimator.h"

#include <doctest/doctest.h>

#include "tern/congestion/overuse_detector.h"
#include "tern/core/random.h"

using namespace tern;
using namespace tern::congestion;
using namespace tern::unit_literals;

namespace {
// Feeds groups 10 ms apart whose one-way delay grows by `growth_us` per group, with jitter.
BandwidthUsage run(TrendlineEstimator& t, int groups, int64_t growth_us, double jitter_us,
                   uint64_t seed) {
  Random rnd(seed);
  Timestamp arrival = Timestamp::Seconds(1);
  BandwidthUsage last = BandwidthUsage::kNormal;
  for (int i = 0; i < groups; ++i) {
    const TimeDelta send_delta = 10_ms;
    const TimeDelta arrival_delta =
        send_delta + TimeDelta::Micros(growth_us + static_cast<int64_t>(rnd.gaussian(0, jitter_us)));
    arrival += arrival_delta;
    last = t.update(send_delta, arrival_delta, arrival, arrival);
  }
  return last;
}
}  // namespace

TEST_CASE("Trendline: steadily increasing delay is detected as overuse") {
  TrendlineEstimator t;
  bool overused = false;
  Random rnd(42);
  Timestamp arrival = Timestamp::Seconds(1);
  for (int i = 0; i < 100 && !overused; ++i) {
    const TimeDelta arrival_delta = 10_ms + 1_ms;  // queue grows 1 ms per 10 ms
    arrival += arrival_delta;
    overused = t.update(10_ms, arrival_delta, arrival, arrival) == BandwidthUsage::kOverusing;
  }
  CHECK(overused);
  CHECK(t.trend() > 0.05);
  MESSAGE("trend " << t.trend() << " modified " << t.modified_trend_ms() << " threshold "
                   << t.threshold_ms());
}

TEST_CASE("Trendline: constant delay with jitter stays normal") {
  TrendlineEstimator t;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    TrendlineEstimator fresh;
    CHECK(run(fresh, 500, 0, 300, seed) == BandwidthUsage::kNormal);
    CHECK(fresh.trend() == doctest::Approx(0).epsilon(0.02));
  }
}

TEST_CASE("Trendline: draining queue is detected as underuse") {
  TrendlineEstimator t;
  (void)run(t, 40, 1000, 0, 1);  // build a queue
  BandwidthUsage s = BandwidthUsage::kNormal;
  Timestamp arrival = Timestamp::Seconds(10);
  for (int i = 0; i < 40 && s != BandwidthUsage::kUnderusing; ++i) {
    arrival += 8_ms;  // sent 10 ms apart, arrive 8 ms apart: the queue drains
    s = t.update(10_ms, 8_ms, arrival, arrival);
  }
  CHECK(s == BandwidthUsage::kUnderusing);
}

TEST_CASE("OveruseDetector needs sustained overuse and adapts its threshold") {
  OveruseDetector d;
  const Timestamp t0 = Timestamp::Seconds(1);
  // One sample above the threshold is not enough (10 ms overuse time, two samples).
  CHECK(d.detect(20, 0.1, 5_ms, 60, t0) == BandwidthUsage::kNormal);
  CHECK(d.detect(20, 0.1, 5_ms, 60, t0 + 5_ms) == BandwidthUsage::kNormal);
  BandwidthUsage s = BandwidthUsage::kNormal;
  for (int i = 2; i < 10 && s != BandwidthUsage::kOverusing; ++i) {
    s = d.detect(20, 0.1, 5_ms, 60, t0 + TimeDelta::Millis(5 * i));
  }
  CHECK(s == BandwidthUsage::kOverusing);
  CHECK(d.detect(-30, -0.1, 5_ms, 60, t0 + 100_ms) == BandwidthUsage::kUnderusing);

  // The threshold follows small trends down to its floor and is clamped at 6 ms.
  OveruseDetector quiet;
  for (int i = 0; i < 1000; ++i) {
    (void)quiet.detect(0, 0, 10_ms, 60, t0 + TimeDelta::Millis(10 * i));
  }
  CHECK(quiet.threshold_ms() == doctest::Approx(6.0));
  // Large but not huge trends raise it slowly (k_up), never above 600 ms.
  OveruseDetector busy;
  double prev = busy.threshold_ms();
  for (int i = 0; i < 100; ++i) {
    (void)busy.detect(prev + 10, 0, 10_ms, 60, t0 + TimeDelta::Millis(10 * i));
    CHECK(busy.threshold_ms() >= prev);
    prev = busy.threshold_ms();
  }
  CHECK(prev > 12.5);
  CHECK(prev <= 600.0);
  CHECK(OveruseDetector().detect(100, 1, 10_ms, 1, t0) == BandwidthUsage::kNormal);  // too few
}
