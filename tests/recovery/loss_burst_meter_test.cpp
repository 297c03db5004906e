#include "tern/recovery/loss_burst_meter.h"

#include <doctest/doctest.h>

#include <deque>

#include "tern/core/random.h"

using namespace tern;
using namespace tern::recovery;

namespace {
// Brute force: losses and runs of the last `window` outcomes.
void recount(const std::deque<bool>& w, size_t& losses, size_t& runs) {
  losses = runs = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    if (!w[i]) continue;
    ++losses;
    if (i == 0 || !w[i - 1]) ++runs;
  }
}
// A window of 1-64 packets, so runs cross its edge often.
LossBurstMeter::Config small_window(Random& rng) {
  LossBurstMeter::Config c;
  c.window = static_cast<size_t>(rng.uniform_int(1, 64));
  return c;
}
}  // namespace

TEST_CASE("LossBurstMeter counts losses and runs of its window exactly (seeded property test)") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    Random rng(seed);
    const LossBurstMeter::Config c = small_window(rng);
    LossBurstMeter m(c);
    std::deque<bool> w;
    bool in_burst = false;
    for (int i = 0; i < 2000; ++i) {
      // Two-state loss: bursts of varying length, so runs cross the window's edge often.
      in_burst = in_burst ? rng.uniform(0, 1) < 0.7 : rng.uniform(0, 1) < 0.1;
      m.on_packet(in_burst);
      w.push_back(in_burst);
      if (w.size() > c.window) w.pop_front();
      size_t losses = 0, runs = 0;
      recount(w, losses, runs);
      REQUIRE(m.losses() == losses);
      REQUIRE(m.runs() == runs);
    }
  }
}

TEST_CASE("LossBurstMeter tells independent from bursty loss") {
  Random rng(7);
  LossBurstMeter independent, bursty;
  bool state = false;
  for (int i = 0; i < 5000; ++i) {
    independent.on_packet(rng.uniform(0, 1) < 0.05);
    // Gilbert-Elliott with mean burst 3 and ~5% loss: leave the bad state with p 1/3.
    state = state ? rng.uniform(0, 1) > 1.0 / 3 : rng.uniform(0, 1) < 0.05 / 0.95 / 3;
    bursty.on_packet(state);
  }
  MESSAGE("mean run: independent " << independent.mean_burst() << ", Gilbert-Elliott (3) " << bursty.mean_burst());
  CHECK_FALSE(independent.bursty());
  CHECK(independent.mean_burst() < 1.3);
  CHECK(bursty.bursty());
  CHECK(bursty.mean_burst() > 2.0);
  LossBurstMeter few;
  few.on_packet(true);
  few.on_packet(true);
  CHECK_FALSE(few.bursty());  // 2 losses: too few to judge
}

TEST_CASE("LossBurstMeter gives the window's loss fraction (the path's loss before repairs)") {
  LossBurstMeter::Config c;
  c.window = 100;
  LossBurstMeter m(c);
  CHECK(m.loss_fraction() == 0.0);
  for (int i = 0; i < 50; ++i) m.on_packet(i % 10 == 0);  // 5 of 50
  CHECK(m.packets() == 50);
  CHECK(m.loss_fraction() == doctest::Approx(0.1));
  for (int i = 0; i < 100; ++i) m.on_packet(i % 50 == 0);  // the window now holds 2 of 100
  CHECK(m.packets() == 100);
  CHECK(m.loss_fraction() == doctest::Approx(0.02));
}

TEST_CASE("LossBurstMeter: a late arrival turns its slot back into a receipt (seeded property test)") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Random rng(seed);
    std::deque<std::pair<int64_t, bool>> w;  // (seq, lost), oldest first
    const LossBurstMeter::Config c = small_window(rng);
    CAPTURE(seed);
    LossBurstMeter m(c);
    for (int64_t seq = 0; seq < 2000; ++seq) {
      const bool lost = rng.uniform(0, 1) < 0.3;
      m.on_packet(lost, seq);
      w.emplace_back(seq, lost);
      if (w.size() > c.window) w.pop_front();
      // Some packets given up earlier (in or beyond the window) arrive now.
      if (rng.bernoulli(0.3)) {
        const int64_t late = seq - rng.uniform_int(0, static_cast<int64_t>(c.window) + 8);
        bool expect = false;
        for (auto& [s, l] : w) {
          if (s == late && l) {
            l = false;
            expect = true;
          }
        }
        REQUIRE(m.on_late_arrival(late) == expect);
      }
      std::deque<bool> lost_only;
      for (const auto& [s, l] : w) lost_only.push_back(l);
      size_t losses = 0, runs = 0;
      recount(lost_only, losses, runs);
      REQUIRE(m.losses() == losses);
      REQUIRE(m.runs() == runs);
    }
  }
  LossBurstMeter plain;
  plain.on_packet(true);  // no sequence number: never corrected
  CHECK_FALSE(plain.on_late_arrival(0));
  CHECK(plain.losses() == 1);
}
