#include "tern/core/sliding_extremum.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "tern/core/random.h"

using namespace tern;

namespace {

struct ExtremumSample {
  Timestamp time;
  int value;
};

// The answer by brute force: the extreme of the samples pushed at or after `from` (times never
// decrease, so the walk back from the newest stops at the window's start).
int BruteExtremum(const std::vector<ExtremumSample>& all, Timestamp from, bool maximum) {
  int best = maximum ? INT32_MIN : INT32_MAX;
  for (auto it = all.rbegin(); it != all.rend() && it->time >= from; ++it) {
    best = maximum ? std::max(best, it->value) : std::min(best, it->value);
  }
  return best;
}

}  // namespace

TEST_CASE("sliding extremum: minimum and maximum over a time window match brute force (seeded)") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    Random rng(seed);
    SlidingExtremum<int> lo(1000);
    SlidingExtremum<int, std::greater<int>> hi(1000);
    std::vector<ExtremumSample> all;
    Timestamp t = Timestamp::Millis(0);
    const TimeDelta window = TimeDelta::Millis(rng.uniform_int(1, 500));
    for (int i = 0; i < 2000; ++i) {
      t = t + TimeDelta::Millis(rng.uniform_int(0, 20));  // repeated times and ties included
      const int v = static_cast<int>(rng.uniform_int(-50, 50));
      all.push_back({t, v});
      lo.push(t, v);
      lo.expire_before(t - window);
      hi.push(t, v);
      hi.expire_before(t - window);
      REQUIRE(lo.value() == BruteExtremum(all, t - window, false));
      REQUIRE(hi.value() == BruteExtremum(all, t - window, true));
    }
  }
}

TEST_CASE("sliding extremum: a tie keeps the newer time, full drops the oldest, clear empties") {
  SlidingExtremum<int> lo(3);
  lo.push(Timestamp::Millis(1), 5);
  lo.push(Timestamp::Millis(2), 5);
  CHECK(lo.size() == 1);
  CHECK(lo.time() == Timestamp::Millis(2));
  lo.expire_before(Timestamp::Millis(2));
  CHECK(lo.value() == 5);  // pushed at 2: kept
  // Increasing values are all kept (each may become the minimum later) until the bound.
  lo.push(Timestamp::Millis(3), 6);
  lo.push(Timestamp::Millis(4), 7);
  lo.push(Timestamp::Millis(5), 8);  // full: the 5 at 2 ms drops, though no window expired it
  CHECK(lo.size() == 3);
  CHECK(lo.value() == 6);
  lo.expire_before(Timestamp::Millis(5));
  CHECK(lo.value() == 8);
  lo.clear();
  CHECK(lo.empty());
}
