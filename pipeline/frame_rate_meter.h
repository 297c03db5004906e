// FrameRateMeter: webrtc-stats framesPerSecond, measured: the frames seen in the last second
// (captured, encoded or rendered, as its owner feeds it). Memory: only that last second is kept,
// and at most kMaxFrames of it (a burst beyond that counts as kMaxFrames, so the deque stays
// bounded whatever the caller does).
#pragma once

#include <cstddef>
#include <deque>

#include "tern/core/units.h"

namespace tern::pipeline {

class FrameRateMeter {
 public:
  static constexpr size_t kMaxFrames = 1000;

  // A frame at `now` (non-decreasing).
  void on_frame(Timestamp now) {
    times_.push_back(now);
    while (!times_.empty() && (now - times_.front() > TimeDelta::Seconds(1) || times_.size() > kMaxFrames)) {
      times_.pop_front();
    }
  }
  // Frames in the second before `now`.
  double frames_per_second(Timestamp now) const {
    size_t n = 0;
    for (const Timestamp t : times_) {
      if (now - t <= TimeDelta::Seconds(1)) ++n;
    }
    return static_cast<double>(n);
  }

 private:
  std::deque<Timestamp> times_;
};

}  // namespace tern::pipeline
