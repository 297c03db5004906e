// Tests of the video timing pieces: the Kalman jitter estimator and render-time mapping.
#include "tern/jitterbuffer/video/video_timing.h"

#include <doctest/doctest.h>

#include <algorithm>

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

TEST_CASE("video timing holds frames only for the part of the RTT a repaired frame may not be late") {
  VideoTimingConfig config;
  config.repair_lateness = TimeDelta::Millis(140);
  VideoTiming timing(config);
  const Timestamp t0 = Timestamp::Seconds(10);
  for (uint32_t i = 0; i < 30; ++i)
    timing.on_frame(i * 3000u, t0 + TimeDelta::Micros(i * 33333), DataSize::Bytes(4000), false);
  const TimeDelta before = timing.target_delay();
  // A retransmission seen: RTT 120 ms is within the lateness allowed, nothing more is held.
  timing.set_rtt(TimeDelta::Millis(120));
  timing.on_frame(30u * 3000u, t0 + TimeDelta::Seconds(1), DataSize::Bytes(4000), true);
  CHECK(timing.repair_allowance() == TimeDelta::Zero());
  CHECK(timing.target_delay() == before);
  // A long path (RTT 300 ms): frames wait 160 ms, repaired ones render at most 140 ms late.
  timing.set_rtt(TimeDelta::Millis(300));
  CHECK(timing.repair_allowance() == TimeDelta::Millis(160));
  CHECK(timing.target_delay() == before + TimeDelta::Millis(160));
  // The default (zero lateness) holds the whole RTT, as libwebrtc does.
  VideoTiming whole;
  whole.set_rtt(TimeDelta::Millis(120));
  whole.on_frame(0, t0, DataSize::Bytes(4000), false);
  whole.on_frame(3000, t0 + TimeDelta::Millis(33), DataSize::Bytes(4000), true);
  CHECK(whole.repair_allowance() == TimeDelta::Millis(120));
}

TEST_CASE("jitter estimator forgets one keyframe-sized frame within seconds") {
  // 4-8 kB delta frames over a 250 kB/s link (4 ms per kB more than the previous frame) with a
  // little jitter, then one 40 kB keyframe. It used to stay "the largest frame" for minutes:
  // slope x (40 kB - average) held every frame ~130 ms longer for the rest of the call.
  VideoJitterEstimator est;
  Random rng(3);
  double prev = 6000;
  auto frame = [&](double size) {
    est.update(TimeDelta::MillisF(0.004 * (size - prev) + rng.gaussian(0, 2)), DataSize::Bytes(static_cast<int64_t>(size)));
    prev = size;
  };
  for (int i = 0; i < 600; ++i) frame(rng.uniform(4000, 8000));
  const TimeDelta calm = est.estimate();
  CHECK(est.slope_ms_per_byte() > 0.002);
  frame(40000);
  for (int i = 0; i < 90; ++i) frame(rng.uniform(4000, 8000));  // three seconds at 30 fps
  MESSAGE("jitter estimate: calm " << calm.ms_f() << " ms, 3 s after a keyframe " << est.estimate().ms_f() << " ms");
  CHECK(est.estimate() < calm + TimeDelta::Millis(10));
}

TEST_CASE("video timing with FEC holds the RTT only while retransmissions are frequent or no FEC arrives") {
  VideoTimingConfig config;
  config.frequent_repair_fraction = 0.03;  // over the last 10 s (repair_window)
  VideoTiming timing(config);
  timing.set_rtt(TimeDelta::Millis(120));
  const Timestamp t0 = Timestamp::Seconds(10);
  const auto frame_at = [&](uint32_t i) { return t0 + TimeDelta::Micros(int64_t{i} * 33333); };
  uint32_t i = 0;
  // 10 s at 30 fps with 3 retransmitted packets (1% of the frames): FEC does the work, no RTT.
  for (; i < 300; ++i) {
    timing.on_frame(i * 3000u, frame_at(i), DataSize::Bytes(4000), false);
    if (i % 10 == 0) timing.on_fec_packet(frame_at(i));
    if (i % 100 == 50) {
      timing.on_retransmitted_packet(frame_at(i));
      timing.on_frame(i * 3000u + 1500u, frame_at(i), DataSize::Bytes(100), true);  // a late frame
    }
  }
  CHECK(timing.repair_allowance() == TimeDelta::Zero());
  // A loss burst FEC cannot rebuild: 20 retransmissions within a second hold the whole RTT...
  for (int k = 0; k < 20; ++k) timing.on_retransmitted_packet(frame_at(i) + TimeDelta::Millis(k * 50));
  CHECK(timing.repair_allowance() == TimeDelta::Millis(120));
  // ... until they leave the 10 s window.
  for (const uint32_t end = i + 330; i < end; ++i) {
    timing.on_frame(i * 3000u, frame_at(i), DataSize::Bytes(4000), false);
    timing.on_fec_packet(frame_at(i));
  }
  CHECK(timing.repair_allowance() == TimeDelta::Zero());
  // The sender stops sending FEC (its policy turned it off): once none arrived for 10 s the stream
  // is NACK-only, and the retransmissions seen hold the RTT again.
  for (const uint32_t end = i + 290; i < end; ++i) timing.on_frame(i * 3000u, frame_at(i), DataSize::Bytes(4000), false);
  CHECK(timing.repair_allowance() == TimeDelta::Zero());
  for (const uint32_t end = i + 20; i < end; ++i) timing.on_frame(i * 3000u, frame_at(i), DataSize::Bytes(4000), false);
  CHECK(timing.repair_allowance() == TimeDelta::Millis(120));
  // Without FEC (fraction 0) the first retransmission holds it for good.
  VideoTiming nack_only;
  nack_only.set_rtt(TimeDelta::Millis(120));
  nack_only.on_frame(0, t0, DataSize::Bytes(4000), false);
  nack_only.on_frame(3000, t0 + TimeDelta::Millis(33), DataSize::Bytes(4000), true);
  for (uint32_t k = 2; k < 400; ++k) nack_only.on_frame(k * 3000u, frame_at(k), DataSize::Bytes(4000), false);
  CHECK(nack_only.repair_allowance() == TimeDelta::Millis(120));
}

TEST_CASE("video timing holds the measured repair time when repairs take longer than one RTT") {
  VideoTimingConfig config;
  config.repair_quantile = 0.95;
  config.min_repair_samples = 8;
  config.max_repair_allowance = TimeDelta::Millis(500);
  config.max_repair_step = TimeDelta::Millis(10);
  VideoTiming timing(config);
  timing.set_rtt(TimeDelta::Millis(130));
  const Timestamp t0 = Timestamp::Seconds(10);
  uint32_t frame = 0;
  auto at = [&](uint32_t f) { return t0 + TimeDelta::Micros(static_cast<int64_t>(f) * 33333); };
  for (; frame < 30; ++frame) timing.on_frame(frame * 3000u, at(frame), DataSize::Bytes(4000), false, at(frame));
  // A bursty path: every 5th frame waits for a repair, one RTT usually, two RTTs (a lost
  // retransmission) one time in five.
  int repaired = 0;
  auto repaired_frame = [&](TimeDelta wait) {
    timing.on_frame(frame * 3000u, at(frame) + wait, DataSize::Bytes(4000), true, at(frame));
    ++repaired;
  };
  repaired_frame(TimeDelta::Millis(150));  // the first repair holds the RTT at once, as before
  ++frame;
  CHECK(timing.repair_allowance() == TimeDelta::Millis(130));
  TimeDelta previous = timing.repair_allowance();
  TimeDelta largest_step = TimeDelta::Zero();
  for (int i = 0; i < 100; ++i, ++frame) {
    if (i % 5 == 0) {
      repaired_frame(i % 25 == 0 ? TimeDelta::Millis(290) : TimeDelta::Millis(150));
    } else {
      timing.on_frame(frame * 3000u, at(frame), DataSize::Bytes(4000), false, at(frame));
    }
    largest_step = std::max(largest_step, timing.repair_allowance() - previous);
    previous = timing.repair_allowance();
  }
  CAPTURE(repaired);
  // The 95th percentile of the waits (290 ms) and not the RTT (130 ms): the retried frames render
  // on time too. It rose by at most 10 ms a frame (no jump of the target, no gap of its own).
  CHECK(timing.repair_allowance() == TimeDelta::Millis(290));
  CHECK(largest_step <= TimeDelta::Millis(10));
  // Bounded by max_repair_allowance.
  for (int i = 0; i < 60; ++i, ++frame) repaired_frame(TimeDelta::Millis(900));
  CHECK(timing.repair_allowance() == TimeDelta::Millis(500));
  // The repairs leave the window (10 s): back to the RTT at once.
  frame += 400;
  timing.on_frame(frame * 3000u, at(frame), DataSize::Bytes(4000), false, at(frame));
  CHECK(timing.repair_allowance() == TimeDelta::Millis(130));
  // Off (the default): the RTT alone whatever the waits.
  VideoTiming plain;
  plain.set_rtt(TimeDelta::Millis(130));
  for (uint32_t f = 0; f < 40; ++f) plain.on_frame(f * 3000u, at(f) + TimeDelta::Millis(290), DataSize::Bytes(4000), true, at(f));
  CHECK(plain.repair_allowance() == TimeDelta::Millis(130));
}

TEST_CASE("video timing keeps at most kMaxWindowFrames repair waits, the oldest dropped first") {
  VideoTimingConfig config;
  config.repair_quantile = 0.95;
  config.max_repair_step = TimeDelta::Seconds(1);  // no ramp: the allowance is the quantile
  VideoTiming timing(config);
  timing.set_rtt(TimeDelta::Millis(50));
  const Timestamp t0 = Timestamp::Seconds(10);
  // 200 repaired frames that waited 400 ms, then kMaxWindowFrames that waited 100 ms, all within
  // the 10 s window (a frame every 4 ms): kept unbounded, the old ones (16%) would set the 95th
  // percentile at 400 ms.
  uint32_t f = 0;
  auto repaired = [&](TimeDelta wait) {
    const Timestamp first = t0 + TimeDelta::Millis(4 * static_cast<int64_t>(f));
    timing.on_frame(f * 360u, first + wait, DataSize::Bytes(1000), true, first);
    ++f;
  };
  for (int i = 0; i < 200; ++i) repaired(TimeDelta::Millis(400));
  CHECK(timing.repair_allowance() == TimeDelta::Millis(400));
  for (size_t i = 0; i < VideoTiming::kMaxWindowFrames; ++i) repaired(TimeDelta::Millis(100));
  CHECK(timing.repair_allowance() == TimeDelta::Millis(100));
}
