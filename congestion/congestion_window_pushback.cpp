#include "tern/congestion/congestion_window_pushback.h"

#include <algorithm>

namespace tern::congestion {

double CongestionWindowPushback::fill_ratio() const {
  if (!window_ || window_->bytes() <= 0) return 0;
  return in_flight_ / *window_;
}

DataRate CongestionWindowPushback::update_and_adjust(DataRate target) {
  if (!window_) return target;
  const double fill = in_flight_ / *window_;
  if (fill > config_.high_fill_ratio) {
    ratio_ *= config_.high_fill_step;
  } else if (fill > 1.0) {
    ratio_ *= config_.fill_step;
  } else if (fill < config_.empty_fill_ratio) {
    ratio_ = 1.0;
  } else {
    ratio_ = std::min(1.0, ratio_ * config_.recover_step);
  }
  ratio_ = std::max(ratio_, 1e-3);
  const DataRate adjusted = target * ratio_;
  if (adjusted < config_.min_pushback_target) return min(target, config_.min_pushback_target);
  return adjusted;
}

}  // namespace tern::congestion
