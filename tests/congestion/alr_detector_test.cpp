#include "tern/congestion/alr_detector.h"

#include <doctest/doctest.h>

using namespace tern;
using namespace tern::congestion;
using namespace tern::unit_literals;

namespace {
// Sends at `rate` in 10 ms slices for `duration`.
void send(AlrDetector& d, Timestamp& now, DataRate rate, TimeDelta duration) {
  const Timestamp end = now + duration;
  while (now < end) {
    now += 10_ms;
    d.on_bytes_sent(rate * 10_ms, now);
  }
}
}  // namespace

TEST_CASE("AlrDetector starts ALR when sending well below the estimate and ends it when not") {
  AlrDetector d;
  d.set_estimated_bitrate(1_mbps);
  Timestamp now = Timestamp::Seconds(1);
  send(d, now, 900_kbps, 2_s);  // above 65% of the estimate: budget stays empty
  CHECK_FALSE(d.alr_start_time());
  send(d, now, 100_kbps, 2_s);  // 10%: budget fills past 80%
  REQUIRE(d.alr_start_time());
  CHECK(*d.alr_start_time() < now);
  send(d, now, 1_mbps, 2_s);
  CHECK_FALSE(d.alr_start_time());
  REQUIRE(d.alr_end_time());
  CHECK(d.budget_ratio() < 0.5);
}
