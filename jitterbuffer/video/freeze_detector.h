// Freeze accounting as webrtc-stats defines it for inbound-rtp video (freezeCount,
// totalFreezesDuration): a freeze is an inter-frame gap of at least
// max(3 x average frame duration, average frame duration + 150 ms), the average taken over the
// recent gaps before it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "tern/core/units.h"

namespace tern::jitterbuffer {

class FreezeDetector {
 public:
  static constexpr size_t kWindow = 30;  // inter-frame gaps averaged

  // A frame was shown (or handed to the decoder) at `t`; times should not go backwards.
  void on_frame(Timestamp t);

  uint64_t freeze_count() const { return freeze_count_; }
  TimeDelta total_freezes_duration() const { return total_freezes_; }
  // The threshold a gap must reach now to count as a freeze; nullopt before the second frame.
  std::optional<TimeDelta> threshold() const;

 private:
  std::optional<Timestamp> last_;
  std::array<TimeDelta, kWindow> gaps_{};
  size_t count_ = 0;  // gaps recorded (saturates the window)
  size_t next_ = 0;
  TimeDelta sum_ = TimeDelta::Zero();
  uint64_t freeze_count_ = 0;
  TimeDelta total_freezes_ = TimeDelta::Zero();
};

}  // namespace tern::jitterbuffer
