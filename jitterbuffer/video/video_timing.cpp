#include "tern/jitterbuffer/video/video_timing.h"

#include <algorithm>
#include <vector>

namespace tern::jitterbuffer {

TimeDelta VideoTiming::capture_time(int64_t unwrapped_ts) const {
  // Microseconds without overflow for any realistic unwrapped value (< 2^43 ticks).
  const int64_t rate = config_.clock_rate == 0 ? 90000 : config_.clock_rate;
  return TimeDelta::Micros(unwrapped_ts / rate * 1000000 + (unwrapped_ts % rate) * 1000000 / rate);
}

void VideoTiming::on_frame(uint32_t ts, Timestamp receive_time, DataSize size, bool retransmitted,
                           Timestamp first_receive_time) {
  const int64_t u = unwrapper_.unwrap(ts);
  const TimeDelta offset = receive_time - Timestamp::Micros(0) - capture_time(u);
  window_.push(receive_time, offset);
  window_.expire_before(receive_time - config_.offset_window);  // never the offset just pushed

  last_frame_ = std::max(last_frame_, receive_time);
  if (config_.frequent_repair_fraction > 0.0) {  // only then is the window read
    recent_frames_.push_back(receive_time);
    trim_window(recent_frames_, receive_time);
    trim_window(recent_repaired_, receive_time);
  }
  if (retransmitted) retransmissions_seen_ = true;
  if (config_.repair_quantile > 0.0) {
    const size_t before = repaired_waits_.size();
    const bool added = retransmitted && first_receive_time.is_finite();
    if (added) repaired_waits_.emplace_back(receive_time, std::max(receive_time - first_receive_time, TimeDelta::Zero()));
    trim_window(repaired_waits_, receive_time);
    if (added || repaired_waits_.size() != before) update_wait_quantile();
    const TimeDelta wanted = std::clamp(wait_quantile_, TimeDelta::Zero(), config_.max_repair_allowance);
    measured_allowance_ = std::min(wanted, measured_allowance_ + config_.max_repair_step);
  }
  if (retransmitted) return;
  if (prev_ts_ && u > *prev_ts_) {
    const TimeDelta delay = (receive_time - prev_receive_) - (capture_time(u) - capture_time(*prev_ts_));
    estimator_.update(delay, size);
  } else if (!prev_ts_) {
    estimator_.update(TimeDelta::Zero(), size);
  }
  if (!prev_ts_ || u > *prev_ts_) {
    prev_ts_ = u;
    prev_receive_ = receive_time;
  }
}


void VideoTiming::on_retransmitted_packet(Timestamp now) {
  if (config_.frequent_repair_fraction <= 0.0) return;
  recent_repaired_.push_back(now);
  trim_window(recent_repaired_, now);
}

bool VideoTiming::fec_in_use() const {
  return last_fec_.is_finite() && last_fec_ >= last_frame_ - config_.repair_window;
}

void VideoTiming::on_fec_packet(Timestamp now) {
  // FEC (re)starts: the repairs before it were all NACK's and tell nothing of what FEC misses.
  if (!fec_in_use()) recent_repaired_.clear();
  last_fec_ = std::max(last_fec_, now);
}

void VideoTiming::update_wait_quantile() {
  if (repaired_waits_.size() < std::max<size_t>(config_.min_repair_samples, 1)) {
    wait_quantile_ = TimeDelta::Zero();
    return;
  }
  std::vector<TimeDelta> v;
  v.reserve(repaired_waits_.size());
  for (const auto& e : repaired_waits_) v.push_back(e.second);
  const double q = std::clamp(config_.repair_quantile, 0.0, 1.0);
  const auto k = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  wait_quantile_ = v[k];
}

TimeDelta VideoTiming::repair_allowance() const {
  if (!config_.add_rtt_after_retransmission || !retransmissions_seen_) return TimeDelta::Zero();
  // Only while FEC arrives (a sender's policy may send none at all).
  if (config_.frequent_repair_fraction > 0.0 && fec_in_use() &&
      static_cast<double>(recent_repaired_.size()) <=
          config_.frequent_repair_fraction * static_cast<double>(recent_frames_.size())) {
    return TimeDelta::Zero();
  }
  TimeDelta allowance = std::max(rtt_ - config_.repair_lateness, TimeDelta::Zero());
  if (config_.repair_quantile > 0.0) allowance = std::max(allowance, measured_allowance_);
  return allowance;
}

TimeDelta VideoTiming::target_delay() const {
  const TimeDelta target = estimator_.estimate() + config_.render_delay + repair_allowance();
  return std::clamp(target, config_.min_delay, config_.max_delay);
}

Timestamp VideoTiming::render_time(uint32_t ts) {
  const int64_t u = unwrapper_.peek(ts);
  const TimeDelta base = window_.empty() ? TimeDelta::Zero() : window_.value();
  return Timestamp::Micros(0) + capture_time(u) + base + target_delay();
}

}  // namespace tern::jitterbuffer
