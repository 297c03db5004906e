#include "tern/media/end_to_end_delay_meter.h"

#include <algorithm>
#include <cmath>

namespace tern::media {

EndToEndDelayMeter::EndToEndDelayMeter(size_t capture_capacity, size_t max_samples)
    : captures_(std::max<size_t>(1, capture_capacity)), max_samples_(std::max<size_t>(1, max_samples)) {}

void EndToEndDelayMeter::on_captured(uint32_t frame_number, Timestamp capture_time) {
  Capture& c = captures_[frame_number % captures_.size()];
  c = Capture{frame_number, capture_time, true, false};
}

std::optional<TimeDelta> EndToEndDelayMeter::on_rendered(uint32_t frame_number, Timestamp render_time) {
  Capture& c = captures_[frame_number % captures_.size()];
  if (!c.valid || c.frame_number != frame_number) {
    ++unmatched_;
    return std::nullopt;
  }
  if (c.rendered) return std::nullopt;
  c.rendered = true;
  const TimeDelta delay = render_time - c.time;
  if (samples_.size() < max_samples_) {
    samples_.push_back(delay);
  } else {
    samples_[next_sample_] = delay;
    next_sample_ = (next_sample_ + 1) % max_samples_;
  }
  return delay;
}

std::optional<TimeDelta> EndToEndDelayMeter::percentile(double p) const {
  if (samples_.empty()) return std::nullopt;
  std::vector<TimeDelta> sorted = samples_;
  std::sort(sorted.begin(), sorted.end());
  const double clamped = std::clamp(p, 0.0, 100.0);
  // Nearest rank: the smallest value with at least p% of the samples at or below it.
  const auto rank = static_cast<size_t>(std::ceil(clamped / 100.0 * static_cast<double>(sorted.size())));
  return sorted[rank == 0 ? 0 : rank - 1];
}

}  // namespace tern::media
