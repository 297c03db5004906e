#include "tern/media/freeze_meter.h"

#include <algorithm>

namespace tern::media {

TimeDelta FreezeMeter::average_frame_duration() const {
  return window_size_ > 0 ? window_sum_ / window_size_ : TimeDelta::Zero();
}

std::optional<TimeDelta> FreezeMeter::on_frame_rendered(Timestamp now) {
  if (last_render_ && now < *last_render_) return std::nullopt;
  ++stats_.frames_rendered;
  std::optional<TimeDelta> freeze;
  if (last_render_) {
    const TimeDelta gap = now - *last_render_;
    stats_.total_frames_duration += gap;
    stats_.longest_gap = std::max(stats_.longest_gap, gap);
    if (gap > kPauseThreshold) {
      ++stats_.pause_count;
      stats_.total_pauses_duration += gap;
    } else {
      if (window_size_ > 0) {
        const TimeDelta avg = average_frame_duration();
        if (gap >= std::max(avg * 3, avg + TimeDelta::Millis(150))) {
          ++stats_.freeze_count;
          stats_.total_freezes_duration += gap;
          freeze = gap;
        }
      }
      if (window_size_ == kWindow) {
        window_sum_ -= window_[window_next_];
      } else {
        ++window_size_;
      }
      window_[window_next_] = gap;
      window_sum_ += gap;
      window_next_ = (window_next_ + 1) % kWindow;
    }
  }
  last_render_ = now;
  return freeze;
}

}  // namespace tern::media
