// VideoAdapter: the ladders of each degradation preference, steps down on a short rate (to the
// level that fits, after the down delay), back up one step at a time only after the rate held
// up_margin x the next level's need for up_delay, no oscillation on seeded noisy allocations,
// the quality scaler (QP) and overuse (encode time) triggers. A whole call that adapts (real VP8
// over 250 kbps, scored and recorded at the adapted size) is in tests/tools/loopback_test.cpp.
#include <cstdint>
#include <optional>
#include <random>

#include "doctest/doctest.h"
#include "tern/pipeline/video_adapter.h"

namespace tern::pipeline {
namespace {

constexpr TimeDelta kFrame = TimeDelta::Micros(33334);

VideoAdapter make(DegradationPreference p, int qp_low = 0, int qp_high = 0) {
  VideoAdapter::Config c;
  c.preference = p;
  c.qp_low = qp_low;
  c.qp_high = qp_high;
  auto a = VideoAdapter::Create(c);
  REQUIRE(a.ok());
  return std::move(a).value();
}

// Feeds `seconds` of frames at `rate_kbps` (times a uniform factor in [1 - noise, 1 + noise]);
// returns the level changes seen.
int drive(VideoAdapter& a, Timestamp& t, double seconds, double rate_kbps, double noise = 0, uint32_t seed = 1,
          int qp = -1, std::optional<TimeDelta> encode_time = std::nullopt) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(1.0 - noise, 1.0 + noise);
  int changes = 0;
  for (int i = 0; i < static_cast<int>(seconds * 30); ++i) {
    a.set_target(DataRate::KilobitsPerSecF(rate_kbps * u(rng)), false);
    a.on_frame_encoded(qp, encode_time);
    if (a.update(t)) ++changes;
    t = t + kFrame;
  }
  return changes;
}

TEST_CASE("pipeline video adapter ladders, steps down and back up with hysteresis, QP and overuse") {
  // Ladders of a 640x480@30 source.
  VideoAdapter bal = make(DegradationPreference::kBalanced);
  REQUIRE(bal.levels().size() >= 5);
  CHECK(bal.levels()[1].width == 480);
  CHECK(bal.levels()[2].width == 320);
  CHECK(bal.levels()[2].fps == 24);
  CHECK(bal.levels()[4].width == 160);
  CHECK(bal.levels()[4].height == 120);
  VideoAdapter res = make(DegradationPreference::kMaintainResolution);
  VideoAdapter fr = make(DegradationPreference::kMaintainFramerate);
  for (const VideoAdaptationLevel& l : res.levels()) CHECK(l.width == 640);
  for (const VideoAdaptationLevel& l : fr.levels()) CHECK(l.fps == 30);
  CHECK(make(DegradationPreference::kDisabled).levels().size() == 1);
  CHECK(VideoAdapter::needed_rate(640, 480, 30).kbps() == 500);
  CHECK(VideoAdapter::needed_rate(320, 240, 30).kbps() == 150);
  CHECK(parse_degradation_preference("maintain-framerate") == DegradationPreference::kMaintainFramerate);
  CHECK_FALSE(parse_degradation_preference("fast").has_value());

  Timestamp t = Timestamp::Seconds(1);
  CHECK(drive(bal, t, 3, 1000) == 0);
  CHECK(bal.reason() == QualityLimitationReason::kNone);
  // 200 kbps: after the down delay, straight to the first level that fits (320x240@24).
  CHECK(drive(bal, t, 0.9, 200) == 0);
  CHECK(drive(bal, t, 0.3, 200) == 1);
  CHECK(bal.level().width == 320);
  CHECK(bal.reason() == QualityLimitationReason::kBandwidth);
  CHECK(bal.resolution_changes() == 1);
  // Seeded noisy allocations around the current level, and around the up threshold
  // (1.3 x 300 kbps for 480x360): no change at all (no oscillation).
  CHECK(drive(bal, t, 20, 200, 0.25, 7) == 0);
  CHECK(drive(bal, t, 20, 390, 0.1, 11) == 0);
  // Held above the threshold: up one step after up_delay, then the next only when it holds too.
  CHECK(drive(bal, t, 3.9, 420) == 0);
  CHECK(drive(bal, t, 0.2, 420) == 1);
  CHECK(bal.level().width == 480);
  CHECK(drive(bal, t, 10, 420) == 0);
  CHECK(drive(bal, t, 4.2, 700) == 1);
  CHECK(bal.level().width == 640);
  CHECK(bal.reason() == QualityLimitationReason::kNone);
  CHECK(bal.resolution_changes() == 3);
  // A drop right after an up step doubles the up delay (a rate at a threshold cannot cycle).
  CHECK(drive(bal, t, 1.2, 350) == 1);
  CHECK(bal.up_delay() == TimeDelta::Seconds(8));
  CHECK(drive(bal, t, 7.5, 700) == 0);
  CHECK(drive(bal, t, 0.6, 700) == 1);
  CHECK(bal.durations()[static_cast<size_t>(QualityLimitationReason::kBandwidth)] > TimeDelta::Seconds(40));

  // maintain-resolution lowers the frame rate only; maintain-framerate the size only.
  CHECK(drive(res, t, 1.2, 300) == 1);
  CHECK(res.level().width == 640);
  CHECK(res.level().fps < 30);
  CHECK(res.resolution_changes() == 0);
  CHECK(drive(fr, t, 1.2, 200) == 1);
  CHECK(fr.level().fps == 30);
  CHECK(fr.level().width == 320);

  // Quality scaler: a high mean QP steps down although the rate looks enough; a low one lets it
  // back up without the rate margin.
  VideoAdapter q = make(DegradationPreference::kBalanced, 29, 95);
  CHECK(drive(q, t, 2.1, 600, 0, 1, 110) == 1);
  CHECK(q.level().width == 480);
  CHECK(q.reason() == QualityLimitationReason::kBandwidth);
  CHECK(drive(q, t, 3, 600, 0, 1, 60) == 0);
  CHECK(drive(q, t, 5, 600, 0, 1, 20) == 1);
  CHECK(q.level().width == 640);

  // A size the quality scaler left at a rate is not re-entered on that rate (the source needs more
  // than the table says there): the size would go up and down, a keyframe each time. At 1.5 x the
  // rate it left at, the rate rule takes it back up; so does a low QP at once.
  VideoAdapter hard = make(DegradationPreference::kBalanced, 29, 95);
  CHECK(drive(hard, t, 1.5, 180, 0, 1, 60) == 1);  // the table's level for 180 kbps: 320x240@24
  CHECK(hard.level().width == 320);
  CHECK(drive(hard, t, 2.5, 180, 0, 1, 100) == 1);
  CHECK(hard.level().width == 240);
  // 180 kbps is 1.36 x 320x240's need (the rate rule's 1.3), yet it is held; so is 250.
  CHECK(drive(hard, t, 30, 180, 0.02, 3, 60) == 0);
  CHECK(drive(hard, t, 30, 250, 0.05, 5, 60) == 0);
  CHECK(drive(hard, t, 4.2, 280, 0, 1, 60) == 1);
  CHECK(hard.level().width == 320);
  CHECK(drive(hard, t, 2.5, 280, 0, 1, 100) == 1);  // too high again: 280 kbps is the new mark
  CHECK(hard.level().width == 240);
  CHECK(drive(hard, t, 10, 400, 0, 1, 60) == 0);
  CHECK(drive(hard, t, 10, 400, 0, 1, 20) == 1);  // a low QP lifts it all the same
  CHECK(hard.level().width == 320);
  VideoAdapter flapping = [] {
    VideoAdapter::Config c;
    c.qp_low = 29;
    c.qp_high = 95;
    c.qp_reentry_margin = 0;  // the rate rule alone: back up after the up delay
    auto a = VideoAdapter::Create(c);
    REQUIRE(a.ok());
    return std::move(a).value();
  }();
  CHECK(drive(flapping, t, 1.5, 180, 0, 1, 60) == 1);
  CHECK(drive(flapping, t, 2.5, 180, 0, 1, 100) == 1);
  CHECK(drive(flapping, t, 4.2, 180, 0, 1, 60) == 1);
  CHECK(flapping.level().width == 320);
  VideoAdapter::Config bad;
  bad.qp_reentry_margin = 0.5;
  CHECK_FALSE(VideoAdapter::Create(bad).ok());

  // Overuse: encoding takes 40 ms of a 33 ms frame interval.
  VideoAdapter cpu = make(DegradationPreference::kBalanced);
  CHECK(drive(cpu, t, 1.1, 2000, 0, 1, -1, TimeDelta::Millis(40)) == 1);
  CHECK(cpu.reason() == QualityLimitationReason::kCpu);
  CHECK(cpu.level().width == 480);
  CHECK(drive(cpu, t, 6, 2000, 0, 1, -1, TimeDelta::Millis(5)) == 1);
  CHECK(cpu.reason() == QualityLimitationReason::kNone);
  CHECK(cpu.durations()[static_cast<size_t>(QualityLimitationReason::kCpu)] >= TimeDelta::Seconds(5));
}

}  // namespace
}  // namespace tern::pipeline
