// FreezeMeter: counts video freezes and pauses from render times, as defined by webrtc-stats
// (RTCInboundRtpStreamStats freezeCount / totalFreezesDuration / pauseCount /
// totalPausesDuration): a gap between two rendered frames is a pause when it exceeds 5 s, else a
// freeze when it is at least max(3 * avg, avg + 150 ms), avg being the mean of the last 30
// inter-frame gaps (pauses excluded).
#pragma once

#include <cstdint>
#include <optional>

#include "tern/core/units.h"

namespace tern::media {

struct FreezeStats {
  int64_t frames_rendered = 0;
  int64_t freeze_count = 0;
  TimeDelta total_freezes_duration;
  int64_t pause_count = 0;
  TimeDelta total_pauses_duration;
  TimeDelta total_frames_duration;  // sum of all inter-frame gaps (pauses included)
  TimeDelta longest_gap;
};

class FreezeMeter {
 public:
  static constexpr int kWindow = 30;
  static constexpr TimeDelta kPauseThreshold = TimeDelta::Seconds(5);

  // Records that a frame was rendered at `now` (render times must not go backwards; an earlier
  // time is ignored). Returns the gap to the previous frame when it counted as a freeze.
  std::optional<TimeDelta> on_frame_rendered(Timestamp now);
  const FreezeStats& stats() const { return stats_; }
  // Mean of the recent inter-frame gaps (zero before the second frame).
  TimeDelta average_frame_duration() const;

 private:
  FreezeStats stats_;
  std::optional<Timestamp> last_render_;
  TimeDelta window_[kWindow];
  int window_size_ = 0;
  int window_next_ = 0;
  TimeDelta window_sum_;
};

}  // namespace tern::media
