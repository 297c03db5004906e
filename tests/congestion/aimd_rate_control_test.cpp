#include "tern/congestion/aimd_rate_control.h"

#include <doctest/doctest.h>

using namespace tern;
using namespace tern::congestion;
using namespace tern::unit_literals;

namespace {
// Runs `normal` updates every 100 ms for `duration`, with the acked rate following the estimate.
DataRate increase_for(AimdRateControl& aimd, Timestamp& now, TimeDelta duration) {
  const Timestamp end = now + duration;
  while (now < end) {
    now += 100_ms;
    (void)aimd.update(BandwidthUsage::kNormal, aimd.estimate(), now);
  }
  return aimd.estimate();
}
}  // namespace

TEST_CASE("AIMD: multiplicative increase of about 8% per second far from capacity") {
  AimdRateControl aimd;
  Timestamp now = Timestamp::Seconds(10);
  aimd.set_estimate(500_kbps, now);
  (void)aimd.update(BandwidthUsage::kNormal, 500_kbps, now);  // hold -> increase
  const DataRate start = aimd.estimate();
  const DataRate after = increase_for(aimd, now, 1_s);
  const double ratio = after / start;
  MESSAGE("1 s of increase: " << start.kbps() << " -> " << after.kbps() << " kbps (x" << ratio << ")");
  CHECK(ratio == doctest::Approx(1.08).epsilon(0.01));
  CHECK(aimd.state() == AimdRateControl::State::kIncrease);
}

TEST_CASE("AIMD: decrease to beta x acknowledged rate, then additive increase near capacity") {
  AimdRateControl aimd;
  Timestamp now = Timestamp::Seconds(10);
  aimd.set_estimate(1000_kbps, now);
  now += 1_s;
  const DataRate dec = aimd.update(BandwidthUsage::kOverusing, 600_kbps, now);
  CHECK(dec == 510_kbps);  // 0.85 x 600
  CHECK(aimd.state() == AimdRateControl::State::kHold);
  REQUIRE(aimd.link_capacity().has_estimate());
  CHECK(aimd.link_capacity().estimate()->kbps() == 600);

  // Under-use holds.
  now += 100_ms;
  CHECK(aimd.update(BandwidthUsage::kUnderusing, 510_kbps, now) == 510_kbps);
  // Normal: increase, additively (close to the 600 kbps capacity estimate).
  now += 100_ms;
  (void)aimd.update(BandwidthUsage::kNormal, 510_kbps, now);
  const DataRate start = aimd.estimate();
  const DataRate per_second = aimd.near_max_increase_rate_per_second();
  const DataRate after = increase_for(aimd, now, 1_s);
  MESSAGE("additive: " << start.kbps() << " -> " << after.kbps() << " kbps, expected +"
                       << per_second.kbps() << " kbps/s");
  CHECK((after - start).bps_f() == doctest::Approx(per_second.bps_f()).epsilon(0.15));
  CHECK(after / start < 1.08);
}

TEST_CASE("AIMD: additive increase is about one packet per response time") {
  AimdRateControl aimd;
  Timestamp now = Timestamp::Seconds(1);
  aimd.set_estimate(600_kbps, now);
  aimd.set_rtt(100_ms);
  // 600 kbps / 30 fps = 20000 bits a frame = 3 packets of 6667 bits; response time 200 ms.
  CHECK(aimd.near_max_increase_rate_per_second().bps() == doctest::Approx(33333).epsilon(0.01));
  aimd.set_rtt(900_ms);
  CHECK(aimd.near_max_increase_rate_per_second().bps() == doctest::Approx(6667).epsilon(0.01));
  aimd.set_estimate(10_kbps, now);
  CHECK(aimd.near_max_increase_rate_per_second() == 4_kbps);  // floor
}

TEST_CASE("AIMD: bounds, throughput cap and reduce-further timing") {
  AimdRateControl::Config cfg;
  cfg.min_rate = 50_kbps;
  cfg.max_rate = 2_mbps;
  AimdRateControl aimd(cfg);
  Timestamp now = Timestamp::Seconds(1);
  aimd.set_estimate(10_mbps, now);
  CHECK(aimd.estimate() == 2_mbps);
  aimd.set_estimate(1_kbps, now);
  CHECK(aimd.estimate() == 50_kbps);
  now += 1_s;
  CHECK(aimd.update(BandwidthUsage::kOverusing, 10_kbps, now) == 50_kbps);

  // The increase never runs beyond 1.5 x acked + 10 kbps.
  aimd.set_estimate(400_kbps, now);
  for (int i = 0; i < 100; ++i) {
    now += 100_ms;
    (void)aimd.update(BandwidthUsage::kNormal, 200_kbps, now);
  }
  CHECK(aimd.estimate() <= 410_kbps);

  aimd.set_rtt(100_ms);
  const Timestamp t = now + 10_s;
  (void)aimd.update(BandwidthUsage::kOverusing, 300_kbps, t);
  CHECK_FALSE(aimd.time_to_reduce_further(t + 50_ms, aimd.estimate()));
  CHECK(aimd.time_to_reduce_further(t + 50_ms, aimd.estimate() * 0.4));  // acked collapsed
  CHECK(aimd.time_to_reduce_further(t + 100_ms, aimd.estimate()));
}
