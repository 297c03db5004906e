#include "tern/pipeline/av_sync.h"

#include <algorithm>

namespace tern::pipeline {

TimeDelta AvSync::step_toward(TimeDelta current, TimeDelta goal, TimeDelta max_step) {
  if (goal > current) return std::min(goal, current + max_step);
  return std::max(goal, current - max_step);
}

void AvSync::update(std::optional<TimeDelta> audio_delay, std::optional<TimeDelta> video_delay) {
  if (!audio_delay || !video_delay) return;
  const TimeDelta raw = *video_delay - *audio_delay;
  raw_offset_ = raw;
  if (raw.abs() > config_.max_delay) {
    // Beyond what sync may correct: one stream is stalled (an outage: its delay, measured from the
    // newest packet, grows with the wall clock), not out of sync. Holding the other stream back
    // by up to max_delay would make it play that much late for seconds after the outage ends.
    audio_extra_ = TimeDelta::Zero();
    video_extra_ = TimeDelta::Zero();
    offset_ = raw;
    return;
  }
  // The least hold that brings the offset into the tolerated window (raw > 0: audio ahead).
  const TimeDelta audio_goal = std::clamp(raw - config_.audio_lead_tolerance, TimeDelta::Zero(),
                                          std::min(config_.max_audio_hold, config_.max_delay));
  const TimeDelta video_goal = std::clamp(-raw - config_.audio_lag_tolerance, TimeDelta::Zero(),
                                          std::min(config_.max_video_hold, config_.max_delay));
  // Small corrections are not worth a playout change, but a hold nothing needs any more is
  // released whatever its size (with the dead band alone, a hold of exactly the dead band's size
  // stayed for the rest of the call once the offset it was for had gone).
  const auto settle = [&](TimeDelta& extra, TimeDelta goal) {
    if ((goal - extra).abs() > config_.dead_band || (goal.is_zero() && extra > TimeDelta::Zero())) {
      extra = step_toward(extra, goal, config_.max_step);
    }
  };
  settle(audio_extra_, audio_goal);
  settle(video_extra_, video_goal);
  offset_ = (*video_delay + video_extra_) - (*audio_delay + audio_extra_);
}

}  // namespace tern::pipeline
