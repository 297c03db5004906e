// FreezeMeter: video freezes and pauses from the times frames are shown, as webrtc-stats defines
// them for inbound-rtp video (freezeCount, totalFreezesDuration, pauseCount, totalPausesDuration).
// A gap between two frames is a freeze when it is at least max(3 x avg, avg + 150 ms), avg being
// the mean of the last 30 inter-frame gaps before it. The one meter of tern: the video jitter
// buffer counts its releases with it, the video receive stream its renders (the webrtc-stats
// figures), tern-loopback the render times of its report.
//
// Gaps above 5 s: webrtc-stats counts them as pauses (pauseCount: "time passed since last rendered
// frame exceeds 5 seconds"), and libwebrtc's VideoQualityObserver keeps a pause out of the freeze
// count and the average. `LongGaps::kPause` does that (the default; the webrtc-stats and loopback
// figures). `LongGaps::kFreeze` judges such a gap like any other (a freeze, and part of the
// average), the video jitter buffer's count since its first version; kept as an option so that
// VideoJitterBufferStats::freeze_count did not change when the two meters became one.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "tern/core/units.h"

namespace tern::jitterbuffer {

struct FreezeStats {
  int64_t frames_rendered = 0;
  int64_t freeze_count = 0;
  TimeDelta total_freezes_duration;
  int64_t pause_count = 0;  // always 0 with LongGaps::kFreeze
  TimeDelta total_pauses_duration;
  TimeDelta total_frames_duration;  // sum of all inter-frame gaps (pauses included)
  TimeDelta longest_gap;
};

class FreezeMeter {
 public:
  enum class LongGaps : uint8_t {
    kPause,   // a gap above kPauseThreshold is a pause: no freeze, not averaged (webrtc-stats)
    kFreeze,  // a gap above kPauseThreshold is judged like any other
  };
  static constexpr size_t kWindow = 30;  // inter-frame gaps averaged
  static constexpr TimeDelta kPauseThreshold = TimeDelta::Seconds(5);

  explicit FreezeMeter(LongGaps long_gaps = LongGaps::kPause) : long_gaps_(long_gaps) {}

  // A frame was shown (or released to the decoder) at `now`. Times must not go backwards: an
  // earlier time than the last one is ignored. Returns the gap to the previous frame when it
  // counted as a freeze.
  std::optional<TimeDelta> on_frame(Timestamp now);

  const FreezeStats& stats() const { return stats_; }
  // Mean of the recent inter-frame gaps (zero before the second frame).
  TimeDelta average_frame_duration() const;
  // The gap that counts as a freeze now; nullopt before the second frame.
  std::optional<TimeDelta> threshold() const;

 private:
  LongGaps long_gaps_;
  FreezeStats stats_;
  std::optional<Timestamp> last_frame_;
  std::array<TimeDelta, kWindow> gaps_{};
  size_t count_ = 0;  // gaps in the window (up to kWindow)
  size_t next_ = 0;
  TimeDelta sum_;
};

}  // namespace tern::jitterbuffer
