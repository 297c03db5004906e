// Tests of the video timing pieces: the Kalman jitter estimator and render-time mapping.
#include "tern/jitterbuffer/video/video_timing.h"

#include <doctest/doctest.h>

#include "tern/core/random.h"
#include "tern/jitterbuffer/video/video_jitter_estimator.h"

using namespace tern;
using namespace tern::jitterbuffer;

TEST_CASE("jitter estimator is small on a steady network and grows with jitter") {
  VideoJitterEstimator steady;
  for (int i = 0; i < 300; ++i) steady.update(TimeDelta::Zero(), DataSize::Bytes(5000));
  CHECK(steady.estimate() < TimeDelta::Millis(5));
  VideoJitterEstimator noisy;
  Random rng(7);
  for (int i = 0; i < 300; ++i) noisy.update(TimeDelta::MillisF(rng.gaussian(0, 20)), DataSize::Bytes(5000));
  CHECK(noisy.estimate() > TimeDelta::Millis(20));
  CHECK(noisy.estimate() < TimeDelta::Millis(80));
}

TEST_CASE("jitter estimator learns the size slope") {
  // 100 kB/s link: a frame 10 kB larger than the previous arrives 100 ms later.
  VideoJitterEstimator est;
  for (int i = 0; i < 600; ++i) {
    const bool big = i % 30 == 0;
    const bool after_big = i % 30 == 1;
    const int64_t size = big ? 15000 : 5000;
    const double delay = big ? 100.0 : (after_big ? -100.0 : 0.0);
    est.update(TimeDelta::MillisF(delay), DataSize::Bytes(size));
  }
  CHECK(est.slope_ms_per_byte() > 0.005);
  CHECK(est.estimate() > TimeDelta::Millis(30));
}

TEST_CASE("video timing maps timestamps to render times with the target delay") {
  VideoTiming timing(VideoTimingConfig{.render_delay = TimeDelta::Millis(10)});
  const Timestamp t0 = Timestamp::Seconds(50);
  for (uint32_t i = 0; i < 60; ++i)
    timing.on_frame(0xFFFF0000u + i * 3000u, t0 + TimeDelta::Micros(i * 33333), DataSize::Bytes(4000), false);
  const TimeDelta target = timing.target_delay();
  CHECK(target >= TimeDelta::Millis(10));
  CHECK(target < TimeDelta::Millis(30));
  // Frame 60 (past the timestamp wrap) renders 60 frame intervals after frame 0 + target.
  const Timestamp r = timing.render_time(0xFFFF0000u + 60u * 3000u);
  CHECK((r - (t0 + TimeDelta::Seconds(2) + target)).abs() < TimeDelta::Millis(2));
  timing.set_rtt(TimeDelta::Millis(50));
  timing.on_frame(0xFFFF0000u + 60u * 3000u, t0 + TimeDelta::Seconds(2), DataSize::Bytes(4000), true);
  CHECK(timing.target_delay() >= target + TimeDelta::Millis(49));
}
