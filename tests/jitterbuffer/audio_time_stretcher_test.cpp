// Tests of the WSOLA time stretcher and the delay manager of the audio jitter buffer.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "tern/core/random.h"
#include "tern/jitterbuffer/audio/delay_manager.h"
#include "tern/jitterbuffer/audio/time_stretcher.h"

using namespace tern;
using namespace tern::jitterbuffer;

namespace {

std::vector<int16_t> Tone(int samples, int channels, double hz, double amplitude, double phase = 0) {
  std::vector<int16_t> v(static_cast<size_t>(samples * channels));
  for (int i = 0; i < samples; ++i) {
    double s = 0;
    for (int h = 1; h <= 3; ++h) s += std::sin(phase + 2 * std::numbers::pi * hz * h * i / 48000.0) / h;
    for (int c = 0; c < channels; ++c) v[static_cast<size_t>(i * channels + c)] = static_cast<int16_t>(std::lround(amplitude * s));
  }
  return v;
}

int MaxStep(const std::vector<int16_t>& v, int channels) {
  int m = 0;
  for (size_t i = static_cast<size_t>(channels); i < v.size(); ++i) {
    m = std::max(m, std::abs(v[i] - v[i - static_cast<size_t>(channels)]));
  }
  return m;
}

}  // namespace

TEST_CASE("time stretcher accelerate removes one pitch period without a click") {
  for (double hz : {110.0, 200.0, 330.0}) {
    for (int channels : {1, 2}) {
      CAPTURE(hz);
      CAPTURE(channels);
      auto pcm = Tone(960, channels, hz, 8000);
      const int before_step = MaxStep(pcm, channels);
      const int removed = TimeStretcher::accelerate(pcm, channels, 48000);
      REQUIRE(removed > 0);
      CHECK(removed >= 120);
      CHECK(removed <= 480);
      CHECK(pcm.size() == static_cast<size_t>((960 - removed) * channels));
      // A multiple of the period (within a sample or two).
      const double period = 48000.0 / hz;
      const double periods = removed / period;
      CHECK(std::abs(periods - std::round(periods)) * period < 3.0);
      // No sample step larger than the tone's own steepest slope (plus rounding).
      CHECK(MaxStep(pcm, channels) <= before_step * 11 / 10 + 2);
    }
  }
}

TEST_CASE("time stretcher preemptive expand inserts one pitch period without a click") {
  for (double hz : {110.0, 200.0, 330.0}) {
    CAPTURE(hz);
    auto pcm = Tone(960, 1, hz, 8000, 0.3);
    const int before_step = MaxStep(pcm, 1);
    const int inserted = TimeStretcher::preemptive_expand(pcm, 1, 48000);
    REQUIRE(inserted > 0);
    CHECK(pcm.size() == static_cast<size_t>(960 + inserted));
    CHECK(MaxStep(pcm, 1) <= before_step * 11 / 10 + 2);
  }
}

TEST_CASE("time stretcher leaves noise alone and splices silence freely") {
  Random rng(3);
  std::vector<int16_t> noise(960);
  for (auto& s : noise) s = static_cast<int16_t>(rng.uniform_int(-8000, 8000));
  auto copy = noise;
  CHECK(TimeStretcher::accelerate(noise, 1, 48000) == 0);
  CHECK(TimeStretcher::preemptive_expand(noise, 1, 48000) == 0);
  CHECK(noise == copy);

  std::vector<int16_t> quiet(960, 0);
  CHECK(TimeStretcher::accelerate(quiet, 1, 48000) == 480);  // half the input at most
  CHECK(quiet.size() == 480);

  std::vector<int16_t> tiny(100, 5);  // shorter than two minimum lags
  CHECK(TimeStretcher::accelerate(tiny, 1, 48000) == 0);
  std::vector<int16_t> empty;
  CHECK(TimeStretcher::preemptive_expand(empty, 1, 48000) == 0);
}

TEST_CASE("time stretcher works at 16 kHz with the lag range scaled") {
  std::vector<int16_t> pcm(320);
  for (int i = 0; i < 320; ++i) pcm[static_cast<size_t>(i)] = static_cast<int16_t>(std::lround(6000 * std::sin(2 * std::numbers::pi * 160 * i / 16000.0)));
  const int removed = TimeStretcher::accelerate(pcm, 1, 16000);
  CHECK(removed == 100);  // one 160 Hz period at 16 kHz
}

TEST_CASE("delay manager rejects bad configurations") {
  DelayManagerConfig c;
  c.quantile = 0.2;
  CHECK_FALSE(DelayManager::Create(c).ok());
  c = {};
  c.forget_factor = 1.0;
  CHECK_FALSE(DelayManager::Create(c).ok());
  c = {};
  c.max_delay = TimeDelta::Seconds(20);
  CHECK_FALSE(DelayManager::Create(c).ok());
  c = {};
  c.bucket = TimeDelta::Zero();
  CHECK_FALSE(DelayManager::Create(c).ok());
  CHECK(DelayManager::Create(DelayManagerConfig{}).ok());
}

TEST_CASE("delay manager target tracks the jitter quantile plus a packet within bounds") {
  auto dm = DelayManager::Create(DelayManagerConfig{});
  REQUIRE(dm.ok());
  CHECK(dm->target() == TimeDelta::Millis(60));  // initial target
  Random rng(5);
  // Constant delay: target collapses to the first bucket + one packet (the quantile is placed
  // inside the bucket as if its mass were spread evenly: 0.97 of 10 ms).
  for (int i = 0; i < 500; ++i) {
    (void)dm->update(Timestamp::Millis(1000 + 20 * i), int64_t{i} * 960, 48000, TimeDelta::Millis(20));
  }
  CHECK(dm->target() == TimeDelta::Micros(29700));
  CHECK(dm->last_relative_delay() == TimeDelta::Zero());
  // 50 ms uniform jitter: the 97th percentile is ~48.5 ms, + 20 ms.
  for (int i = 500; i < 3000; ++i) {
    const double j = rng.uniform(0, 50);
    (void)dm->update(Timestamp::Micros(1000000 + 20000 * i + static_cast<int64_t>(j * 1000)), int64_t{i} * 960, 48000,
                     TimeDelta::Millis(20));
  }
  // Not the bucket's upper edge (70 ms): the quantile inside the bucket.
  MESSAGE("50 ms uniform jitter: target " << dm->target().us() << " us");
  CHECK(dm->target() >= TimeDelta::Millis(66));
  CHECK(dm->target() <= TimeDelta::Millis(69));
  // Wrapped-around style big timestamps and a huge outlier stay within max_delay.
  for (int i = 3000; i < 3100; ++i) {
    (void)dm->update(Timestamp::Micros(1000000 + 20000 * i + (i % 2 ? 5000000 : 0)), int64_t{i} * 960 + (int64_t{1} << 40),
                     48000, TimeDelta::Millis(20));
  }
  CHECK(dm->target() <= TimeDelta::Millis(1000));
  dm->set_capacity_limit(TimeDelta::Millis(200));
  (void)dm->update(Timestamp::Seconds(100), int64_t{1} << 41, 48000, TimeDelta::Millis(20));
  CHECK(dm->target() <= TimeDelta::Millis(200));
}

TEST_CASE("delay manager attacks a jitter step within a second and releases over a minute") {
  auto dm = DelayManager::Create(DelayManagerConfig{});
  REQUIRE(dm.ok());
  Random rng(8);
  int64_t i = 0;
  auto feed = [&](int packets, double jitter_ms) {
    for (int k = 0; k < packets; ++k, ++i) {
      const auto arrival = Timestamp::Micros(20000 * i + static_cast<int64_t>(rng.uniform(0, jitter_ms) * 1000));
      (void)dm->update(arrival, i * 960, 48000, TimeDelta::Millis(20));
    }
  };
  feed(3000, 10);  // 60 s calm: the forgetting factor has settled
  const TimeDelta calm = dm->target();
  CHECK(calm <= TimeDelta::Millis(40));
  feed(50, 100);   // one second of rough network
  const TimeDelta attacked = dm->target();
  CHECK(attacked >= TimeDelta::Millis(100));
  feed(250, 100);
  const TimeDelta rough = dm->target();
  feed(100, 10);   // two calm seconds: still high (slow release)
  CHECK(dm->target() >= rough - TimeDelta::Millis(30));
  feed(6000, 10);  // two calm minutes: back down
  MESSAGE("delay manager: calm " << calm.ms() << " ms, 1 s into 100 ms jitter " << attacked.ms() << " ms, after 6 s "
          << rough.ms() << " ms, 2 min after " << dm->target().ms() << " ms");
  CHECK(dm->target() <= calm + TimeDelta::Millis(10));
}
