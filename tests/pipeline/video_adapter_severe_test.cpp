// VideoAdapter: a target far under the level's need (a first estimate far under the start rate)
// steps down at once, straight to the level the target fits, before frames of the old size are
// encoded at a fraction of what they need; a moderate shortage still waits for the down delay.
#include <optional>

#include "doctest/doctest.h"
#include "tern/pipeline/video_adapter.h"

namespace tern::pipeline {
namespace {

constexpr TimeDelta kSevereFrame = TimeDelta::Micros(33334);

// One captured frame at `kbps`; true when the level changed.
bool SevereStep(VideoAdapter& a, Timestamp& t, double kbps) {
  a.set_target(DataRate::KilobitsPerSecF(kbps), false);
  a.on_frame_encoded(-1, std::nullopt);
  const bool changed = a.update(t);
  t = t + kSevereFrame;
  return changed;
}

TEST_CASE("pipeline video adapter steps down at once when far short of rate") {
  VideoAdapter::Config c;
  auto created = VideoAdapter::Create(c);
  REQUIRE(created.ok());
  VideoAdapter a = std::move(created).value();
  Timestamp t = Timestamp::Seconds(1);
  for (int i = 0; i < 30; ++i) CHECK_FALSE(SevereStep(a, t, 1000));
  // 100 kbps at 640x480@30 (needs 500): on the very next frame, to 240x180@20 (needs 64; 320x240@24
  // needs 132).
  CHECK(SevereStep(a, t, 100));
  CHECK(a.level().width == 240);
  CHECK(a.level().height == 180);
  CHECK(a.resolution_changes() == 1);
  CHECK(a.reason() == QualityLimitationReason::kBandwidth);
  // Going back up keeps its hysteresis: nothing for a while even at a plentiful rate.
  for (int i = 0; i < 60; ++i) CHECK_FALSE(SevereStep(a, t, 1000));

  // A moderate shortage (300 kbps at 640x480) waits for the down delay.
  auto again = VideoAdapter::Create(c);
  REQUIRE(again.ok());
  VideoAdapter b = std::move(again).value();
  for (int i = 0; i < 30; ++i) CHECK_FALSE(SevereStep(b, t, 1000));
  for (int i = 0; i < 25; ++i) CHECK_FALSE(SevereStep(b, t, 300));
  int changes = 0;
  for (int i = 0; i < 10; ++i) changes += SevereStep(b, t, 300) ? 1 : 0;
  CHECK(changes == 1);
  CHECK(b.level().width == 480);

  // Off (0) or invalid (1 or more) fractions.
  c.severe_short_fraction = 1.0;
  CHECK_FALSE(VideoAdapter::Create(c).ok());
  c.severe_short_fraction = 0.0;
  auto off = VideoAdapter::Create(c);
  REQUIRE(off.ok());
  VideoAdapter o = std::move(off).value();
  CHECK_FALSE(SevereStep(o, t, 1000));
  CHECK_FALSE(SevereStep(o, t, 100));
}

}  // namespace
}  // namespace tern::pipeline
