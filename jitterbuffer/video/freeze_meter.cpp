#include "tern/jitterbuffer/video/freeze_meter.h"

#include <algorithm>
#include <utility>

namespace tern::jitterbuffer {

TimeDelta FreezeMeter::average_frame_duration() const {
  return count_ > 0 ? sum_ / static_cast<int64_t>(count_) : TimeDelta::Zero();
}

std::optional<TimeDelta> FreezeMeter::threshold() const {
  if (count_ == 0) return std::nullopt;
  const TimeDelta avg = average_frame_duration();
  return std::max(avg * 3, avg + TimeDelta::Millis(150));
}

std::optional<TimeDelta> FreezeMeter::on_frame(Timestamp now) {
  if (last_frame_ && now < *last_frame_) return std::nullopt;
  ++stats_.frames_rendered;
  const std::optional<Timestamp> last = std::exchange(last_frame_, now);
  if (!last) return std::nullopt;
  const TimeDelta gap = now - *last;
  stats_.total_frames_duration += gap;
  stats_.longest_gap = std::max(stats_.longest_gap, gap);
  if (long_gaps_ == LongGaps::kPause && gap > kPauseThreshold) {
    ++stats_.pause_count;
    stats_.total_pauses_duration += gap;
    return std::nullopt;
  }
  std::optional<TimeDelta> freeze;
  if (const std::optional<TimeDelta> limit = threshold(); limit && gap >= *limit) {
    ++stats_.freeze_count;
    stats_.total_freezes_duration += gap;
    freeze = gap;
  }
  if (count_ == kWindow) sum_ -= gaps_[next_];
  gaps_[next_] = gap;
  sum_ += gap;
  next_ = (next_ + 1) % kWindow;
  count_ = std::min(count_ + 1, kWindow);
  return freeze;
}

}  // namespace tern::jitterbuffer
