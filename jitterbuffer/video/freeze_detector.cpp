#include "tern/jitterbuffer/video/freeze_detector.h"

#include <algorithm>

namespace tern::jitterbuffer {

std::optional<TimeDelta> FreezeDetector::threshold() const {
  if (count_ == 0) return std::nullopt;
  const TimeDelta avg = sum_ / static_cast<int64_t>(count_);
  return std::max(avg * 3, avg + TimeDelta::Millis(150));
}

void FreezeDetector::on_frame(Timestamp t) {
  if (!last_) {
    last_ = t;
    return;
  }
  const TimeDelta gap = std::max(t - *last_, TimeDelta::Zero());
  last_ = std::max(*last_, t);
  if (auto limit = threshold(); limit && gap >= *limit) {
    ++freeze_count_;
    total_freezes_ += gap;
  }
  if (count_ == kWindow) sum_ -= gaps_[next_];
  gaps_[next_] = gap;
  sum_ += gap;
  next_ = (next_ + 1) % kWindow;
  count_ = std::min(count_ + 1, kWindow);
}

}  // namespace tern::jitterbuffer
