#include "tern/jitterbuffer/audio/delay_manager.h"

#include <algorithm>
#include <cmath>

namespace tern::jitterbuffer {

Result<DelayManager> DelayManager::Create(const DelayManagerConfig& config) {
  if (config.min_delay < TimeDelta::Zero() || config.max_delay < config.min_delay ||
      config.max_delay > TimeDelta::Seconds(10)) {
    return Error{"delay manager: need 0 <= min_delay <= max_delay <= 10 s"};
  }
  if (config.bucket < TimeDelta::Millis(1) || config.max_delay / config.bucket > 10000) {
    return Error{"delay manager: bucket must be >= 1 ms and give at most 10000 buckets"};
  }
  if (!(config.quantile >= 0.5 && config.quantile <= 0.9999)) return Error{"delay manager: quantile outside 0.5..0.9999"};
  if (!(config.forget_factor >= 0.9 && config.forget_factor <= 0.99999)) {
    return Error{"delay manager: forget factor outside 0.9..0.99999"};
  }
  if (config.reference_window < TimeDelta::Millis(100)) return Error{"delay manager: reference window below 100 ms"};
  if (config.peak_window < TimeDelta::Zero() || config.peak_window > TimeDelta::Seconds(10)) {
    return Error{"delay manager: peak window outside 0..10 s"};
  }
  if (config.release_window < TimeDelta::Zero() || config.release_window > TimeDelta::Seconds(60)) {
    return Error{"delay manager: release window outside 0..60 s"};
  }
  if (!(config.release_factor >= 0.5 && config.release_factor <= 1.0)) {
    return Error{"delay manager: release factor outside 0.5..1"};
  }
  return DelayManager(config);
}

DelayManager::DelayManager(const DelayManagerConfig& config) : config_(config) {
  histogram_.assign(static_cast<size_t>(config_.max_delay.us() / config_.bucket.us()) + 1, 0.0);
  target_ = std::clamp(config_.initial_target, config_.min_delay, config_.max_delay);
  release_window_ = config_.release_window;
}

TimeDelta DelayManager::update(Timestamp arrival, int64_t rtp_ticks, int clock_hz, TimeDelta packet_duration) {
  // Media time in microseconds; 64-bit ticks times 1e6 stays far from overflow for any realistic
  // stream (2^63 / 1e6 ticks is three thousand years at 48 kHz).
  const int64_t media_us = rtp_ticks / clock_hz * 1000000 + rtp_ticks % clock_hz * 1000000 / clock_hz;
  const int64_t transit = arrival.us() - media_us;
  if (packets_ == 0) first_arrival_ = arrival;
  window_.expire_before(arrival - config_.reference_window);
  window_.push(arrival, transit);
  const int64_t relative = transit - window_.value();  // >= 0 by construction
  last_relative_ = TimeDelta::Micros(relative);
  while (!recent_.empty() && recent_.front().arrival < arrival - config_.peak_window) recent_.pop_front();
  if (recent_.size() >= kMaxWindowEntries) recent_.pop_front();
  if (config_.peak_window > TimeDelta::Zero()) recent_.push_back({arrival, last_relative_});

  size_t bucket = static_cast<size_t>(relative / config_.bucket.us());
  bucket = std::min(bucket, histogram_.size() - 1);
  // Start as a plain running mean and settle on the configured forgetting, so the first packets
  // do not sit in the histogram for minutes.
  const double f = std::min(config_.forget_factor, 1.0 - 1.0 / static_cast<double>(packets_ + 1));
  for (double& p : histogram_) p *= f;
  histogram_[bucket] += 1.0 - f;
  if (config_.release_window > TimeDelta::Zero()) {
    // A packet later than the whole target (the quantile and a packet) played late: a spike.
    // Spikes that come back hold longer: the window becomes twice the time between the last two
    // (at least a second apart, so one queue build-up is one spike), within [release_window,
    // kMaxReleaseWindow].
    if (last_relative_ > target_ && arrival - last_spike_ >= TimeDelta::Seconds(1)) {
      if (last_spike_.is_finite()) {
        release_window_ = std::clamp((arrival - last_spike_) * 2, config_.release_window,
                                     std::max(config_.release_window, kMaxReleaseWindow));
      }
      last_spike_ = arrival;
    }
    // The largest relative delay over the release window.
    release_max_.expire_before(arrival - release_window_);
    release_max_.push(arrival, last_relative_);
    // Only once the window has seen a whole release_window of packets: a young stream keeps all.
    if (arrival - first_arrival_ >= release_window_) {
      const size_t calm_top = std::min(
          static_cast<size_t>(release_max_.value().us() / config_.bucket.us()), histogram_.size() - 1);
      for (size_t i = calm_top + 1; i < histogram_.size(); ++i) histogram_[i] *= config_.release_factor;
    }
  }
  ++packets_;
  recompute_target(packet_duration);
  return last_relative_;
}

void DelayManager::recompute_target(TimeDelta packet_duration) {
  double total = 0;
  for (double p : histogram_) total += p;
  const double want = config_.quantile * total;
  double cumulative = 0;
  size_t index = histogram_.size() - 1;
  for (size_t i = 0; i < histogram_.size(); ++i) {
    cumulative += histogram_[i];
    if (cumulative >= want) {
      index = i;
      break;
    }
  }
  // The quantile inside its bucket, assuming the bucket's mass is spread evenly over it (the
  // bucket's upper edge overstated the quantile by half a bucket on average: 5 ms of delay).
  const double before = cumulative - histogram_[index];
  const double within = histogram_[index] > 0 ? std::clamp((want - before) / histogram_[index], 0.0, 1.0) : 1.0;
  const TimeDelta interpolated =
      config_.bucket * static_cast<int64_t>(index) +
      TimeDelta::Micros(static_cast<int64_t>(std::llround(within * static_cast<double>(config_.bucket.us()))));
  const TimeDelta quantile_delay = std::max(interpolated, peak());
  const TimeDelta upper = std::max(config_.min_delay, std::min(config_.max_delay, capacity_limit_));
  target_ = std::clamp(quantile_delay + packet_duration, config_.min_delay, upper);
}

TimeDelta DelayManager::peak() const {
  TimeDelta first = TimeDelta::Zero();
  TimeDelta second = TimeDelta::Zero();
  for (const Recent& r : recent_) {
    if (r.relative > first) {
      second = first;
      first = r.relative;
    } else if (r.relative > second) {
      second = r.relative;
    }
  }
  return second;
}

}  // namespace tern::jitterbuffer
