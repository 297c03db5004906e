// Congestion window and encoder push-back (libwebrtc's CongestionWindowPushbackController):
// the window is (feedback RTT + queue allowance) x target; when the data in flight exceeds it the
// target is scaled down step by step (x0.9 above 150% fill, x0.95 above 100%), and restored when
// the window drains. This is what makes the rate fall when feedback stops arriving: nothing is
// acknowledged, the data in flight only grows, and every step cuts the rate further.
#pragma once

#include <optional>

#include "tern/core/units.h"

namespace tern::congestion {

class CongestionWindowPushback {
 public:
  struct Config {
    DataRate min_pushback_target = DataRate::KilobitsPerSec(30);
    double high_fill_ratio = 1.5;
    double high_fill_step = 0.9;
    double fill_step = 0.95;
    double recover_step = 1.05;
    double empty_fill_ratio = 0.1;
  };

  CongestionWindowPushback() : CongestionWindowPushback(Config{}) {}
  explicit CongestionWindowPushback(Config config) : config_(config) {}

  void set_window(std::optional<DataSize> window) { window_ = window; }
  void set_data_in_flight(DataSize in_flight) { in_flight_ = in_flight; }

  // Updates the push-back ratio from the current fill and applies it to `target`. Call once per
  // controller update (process interval or feedback).
  DataRate update_and_adjust(DataRate target);

  std::optional<DataSize> window() const { return window_; }
  double fill_ratio() const;
  double ratio() const { return ratio_; }
  bool congested() const { return window_ && fill_ratio() > 1.0; }

 private:
  Config config_;
  std::optional<DataSize> window_;
  DataSize in_flight_ = DataSize::Zero();
  double ratio_ = 1.0;
};

}  // namespace tern::congestion
