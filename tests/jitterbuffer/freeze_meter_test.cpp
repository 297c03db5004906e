// The one freeze meter (webrtc-stats freezes and pauses) in both of its modes: long gaps as pauses
// (the default: webrtc-stats and tern-loopback figures) and long gaps as freezes (the video jitter
// buffer's release count). Cases moved here from tests/media/meters_test.cpp and
// tests/jitterbuffer/video_timing_test.cpp when media::FreezeMeter and jitterbuffer::FreezeDetector
// became one class; their assertions are unchanged.
#include "tern/jitterbuffer/video/freeze_meter.h"

#include <doctest/doctest.h>

using namespace tern;
using namespace tern::jitterbuffer;

TEST_CASE("freeze meter reports one freeze of about one second") {
  FreezeMeter meter;
  Timestamp t = Timestamp::Seconds(1);
  for (int i = 0; i < 60; ++i, t += TimeDelta::Millis(33)) CHECK_FALSE(meter.on_frame(t));
  t += TimeDelta::Millis(967);  // the next frame 1 s after the previous
  auto freeze = meter.on_frame(t);
  REQUIRE(freeze);
  CHECK(*freeze == TimeDelta::Millis(1000));
  for (int i = 0; i < 30; ++i) CHECK_FALSE(meter.on_frame(t += TimeDelta::Millis(33)));
  const auto& s = meter.stats();
  CHECK(s.freeze_count == 1);
  CHECK(s.total_freezes_duration == TimeDelta::Millis(1000));
  CHECK(s.pause_count == 0);
  CHECK(s.frames_rendered == 91);
  CHECK(s.longest_gap == TimeDelta::Millis(1000));
}

TEST_CASE("freeze threshold is max of three times and 150 ms over the average") {
  // 30 fps: avg 33 ms -> threshold 183 ms (avg + 150 beats 3 x avg).
  FreezeMeter fast;
  Timestamp t = Timestamp::Zero();
  for (int i = 0; i < 31; ++i) (void)fast.on_frame(t += TimeDelta::Millis(33));
  CHECK_FALSE(fast.on_frame(t += TimeDelta::Millis(182)));
  // The 182 ms gap raised the average a little; 200 ms is still a freeze.
  CHECK(fast.on_frame(t += TimeDelta::Millis(200)));
  // 5 fps: avg 200 ms -> threshold 600 ms (3 x avg beats avg + 150).
  FreezeMeter slow;
  t = Timestamp::Zero();
  for (int i = 0; i < 31; ++i) (void)slow.on_frame(t += TimeDelta::Millis(200));
  CHECK_FALSE(slow.on_frame(t += TimeDelta::Millis(590)));
  FreezeMeter slow2;
  t = Timestamp::Zero();
  for (int i = 0; i < 31; ++i) (void)slow2.on_frame(t += TimeDelta::Millis(200));
  CHECK(slow2.on_frame(t += TimeDelta::Millis(600)));
}

TEST_CASE("freeze meter counts gaps above five seconds as pauses") {
  FreezeMeter meter;
  Timestamp t = Timestamp::Zero();
  for (int i = 0; i < 10; ++i) (void)meter.on_frame(t += TimeDelta::Millis(33));
  CHECK_FALSE(meter.on_frame(t += TimeDelta::Seconds(6)));
  CHECK_FALSE(meter.on_frame(t - TimeDelta::Seconds(1)));  // backwards: ignored
  const auto& s = meter.stats();
  CHECK(s.pause_count == 1);
  CHECK(s.total_pauses_duration == TimeDelta::Seconds(6));
  CHECK(s.freeze_count == 0);
  CHECK(s.frames_rendered == 11);
  CHECK(meter.average_frame_duration() == TimeDelta::Millis(33));
}

TEST_CASE("freeze meter (long gaps as freezes) counts a one second gap as one freeze") {
  FreezeMeter fd(FreezeMeter::LongGaps::kFreeze);
  Timestamp t = Timestamp::Seconds(10);
  for (int i = 0; i < 30; ++i, t += TimeDelta::Millis(33)) fd.on_frame(t);
  CHECK(fd.stats().freeze_count == 0);
  REQUIRE(fd.threshold().has_value());
  CHECK(*fd.threshold() == TimeDelta::Millis(183));  // max(3 x 33, 33 + 150)
  t += TimeDelta::Millis(1000 - 33);
  fd.on_frame(t);
  CHECK(fd.stats().freeze_count == 1);
  CHECK(fd.stats().total_freezes_duration == TimeDelta::Millis(1000));
  for (int i = 0; i < 10; ++i) fd.on_frame(t += TimeDelta::Millis(33));
  CHECK(fd.stats().freeze_count == 1);
}

TEST_CASE("freeze meter (long gaps as freezes) threshold edges") {
  FreezeMeter fd(FreezeMeter::LongGaps::kFreeze);
  CHECK_FALSE(fd.threshold().has_value());
  Timestamp t = Timestamp::Seconds(1);
  for (int i = 0; i < 10; ++i, t += TimeDelta::Millis(100)) fd.on_frame(t);
  // avg 100 ms: threshold max(300, 250) = 300 ms; a 299 ms gap is no freeze, 300 ms is.
  t += TimeDelta::Millis(199);
  fd.on_frame(t);
  CHECK(fd.stats().freeze_count == 0);
  FreezeMeter fd2(FreezeMeter::LongGaps::kFreeze);
  Timestamp u = Timestamp::Seconds(1);
  for (int i = 0; i < 10; ++i, u += TimeDelta::Millis(100)) fd2.on_frame(u);
  fd2.on_frame(u + TimeDelta::Millis(200));
  CHECK(fd2.stats().freeze_count == 1);
  CHECK(fd2.stats().total_freezes_duration == TimeDelta::Millis(300));
}

TEST_CASE("freeze meter (long gaps as freezes) counts a six second gap as a freeze and averages it") {
  FreezeMeter meter(FreezeMeter::LongGaps::kFreeze);
  Timestamp t = Timestamp::Zero();
  for (int i = 0; i < 10; ++i) (void)meter.on_frame(t += TimeDelta::Millis(33));
  const auto freeze = meter.on_frame(t += TimeDelta::Seconds(6));
  REQUIRE(freeze);
  CHECK(*freeze == TimeDelta::Seconds(6));
  CHECK_FALSE(meter.on_frame(t - TimeDelta::Seconds(1)));  // backwards: ignored
  const auto& s = meter.stats();
  CHECK(s.freeze_count == 1);
  CHECK(s.total_freezes_duration == TimeDelta::Seconds(6));
  CHECK(s.pause_count == 0);
  CHECK(s.total_pauses_duration == TimeDelta::Zero());
  CHECK(s.frames_rendered == 11);
  CHECK(s.longest_gap == TimeDelta::Seconds(6));
  // The gap is in the average: (9 x 33 ms + 6000 ms) / 10.
  CHECK(meter.average_frame_duration() == TimeDelta::Micros(629'700));
}

TEST_CASE("freeze meter modes agree on every gap up to five seconds") {
  FreezeMeter pauses;
  FreezeMeter freezes(FreezeMeter::LongGaps::kFreeze);
  Timestamp t = Timestamp::Zero();
  const int64_t gaps_ms[] = {33, 33, 33, 400, 33, 33, 5000, 33, 33, 33, 1000, 33, 5001, 33};
  for (int64_t g : gaps_ms) {
    t += TimeDelta::Millis(g);
    const auto a = pauses.on_frame(t);
    const auto b = freezes.on_frame(t);
    CAPTURE(g);
    if (g <= 5000) CHECK(a == b);
  }
  // Only the 5001 ms gap differs: a pause in one mode, a freeze in the other.
  CHECK(pauses.stats().pause_count == 1);
  CHECK(freezes.stats().pause_count == 0);
  CHECK(freezes.stats().freeze_count == pauses.stats().freeze_count + 1);
}
