#include "tern/congestion/aimd_rate_control.h"

#include <algorithm>
#include <cmath>

namespace tern::congestion {

AimdRateControl::AimdRateControl(Config config)
    : config_(config), current_(config.start_rate), rtt_(config.initial_rtt) {
  if (config_.max_rate < config_.min_rate) config_.max_rate = config_.min_rate;
  current_ = clamp(current_, config_.min_rate, config_.max_rate);
}

void AimdRateControl::set_min_rate(DataRate rate) {
  config_.min_rate = rate;
  current_ = max(current_, rate);
}

void AimdRateControl::set_estimate(DataRate rate, Timestamp now) {
  initialized_ = true;
  const DataRate prev = current_;
  current_ = clamp(rate, config_.min_rate, config_.max_rate);
  if (current_ < prev) time_last_change_ = now;  // a lower forced rate counts as a decrease
}

bool AimdRateControl::time_to_reduce_further(Timestamp now, DataRate acknowledged) const {
  const TimeDelta interval = clamp(rtt_, TimeDelta::Millis(10), TimeDelta::Millis(200));
  if (now - time_last_change_ >= interval) return true;
  if (initialized_) return acknowledged < current_ * 0.5;
  return false;
}

DataRate AimdRateControl::near_max_increase_rate_per_second() const {
  const double bits_per_frame = current_.bps_f() / config_.frame_rate_assumption;
  const double packets_per_frame =
      std::ceil(bits_per_frame / static_cast<double>(config_.max_packet_size.bits()));
  const double avg_packet_bits = bits_per_frame / std::max(packets_per_frame, 1.0);
  const TimeDelta response_time = rtt_ + config_.response_time_extra;
  const double increase_bps = avg_packet_bits / response_time.seconds_f();
  return max(DataRate::BitsPerSec(static_cast<int64_t>(increase_bps)),
             config_.min_additive_increase_per_second);
}

DataRate AimdRateControl::multiplicative_increase(Timestamp now, Timestamp last,
                                                  DataRate current) const {
  double alpha = config_.multiplicative_increase_per_second;
  if (last.is_finite()) {
    const double since_s = std::min((now - last).seconds_f(), 1.0);
    alpha = std::pow(alpha, std::max(since_s, 0.0));
  }
  return max(current * (alpha - 1.0), config_.min_multiplicative_increase);
}

DataRate AimdRateControl::additive_increase(Timestamp now, Timestamp last) const {
  if (!last.is_finite()) return DataRate::Zero();
  const double since_s = std::max((now - last).seconds_f(), 0.0);
  return near_max_increase_rate_per_second() * since_s;
}

DataRate AimdRateControl::clamp_rate(DataRate rate, std::optional<DataRate> acknowledged) const {
  // Never run far ahead of what the network has been shown to deliver.
  if (acknowledged) {
    const DataRate limit = *acknowledged * 1.5 + DataRate::KilobitsPerSec(10);
    if (rate > current_ && rate > limit) rate = max(current_, limit);
  }
  return clamp(rate, config_.min_rate, config_.max_rate);
}

DataRate AimdRateControl::update(BandwidthUsage usage, std::optional<DataRate> acknowledged,
                                 Timestamp now) {
  if (!initialized_) {
    // Without a start rate set explicitly, adopt the acked rate after a short observation.
    if (acknowledged) {
      if (time_first_throughput_.is_minus_infinity()) time_first_throughput_ = now;
      if (now - time_first_throughput_ > TimeDelta::Seconds(5)) {
        current_ = clamp(*acknowledged, config_.min_rate, config_.max_rate);
        initialized_ = true;
      }
    }
  }
  // State transitions (draft-ietf-rmcat-gcc-02 figure 2).
  switch (usage) {
    case BandwidthUsage::kNormal:
      if (state_ == State::kHold) {
        time_last_change_ = now;
        state_ = State::kIncrease;
      }
      break;
    case BandwidthUsage::kOverusing:
      if (state_ != State::kDecrease) state_ = State::kDecrease;
      break;
    case BandwidthUsage::kUnderusing:
      state_ = State::kHold;
      break;
  }

  DataRate next = current_;
  switch (state_) {
    case State::kHold:
      break;
    case State::kIncrease: {
      if (acknowledged && *acknowledged > link_capacity_.upper_bound()) link_capacity_.reset();
      const DataRate limit =
          acknowledged ? *acknowledged * 1.5 + DataRate::KilobitsPerSec(10) : DataRate::PlusInfinity();
      if (current_ < limit) {
        const DataRate inc = link_capacity_.has_estimate()
                                 ? additive_increase(now, time_last_change_)
                                 : multiplicative_increase(now, time_last_change_, current_);
        next = current_ + inc;
      }
      time_last_change_ = now;
      break;
    }
    case State::kDecrease: {
      const DataRate base = acknowledged ? *acknowledged : current_;
      DataRate decreased = base * config_.beta;
      if (decreased > current_ && link_capacity_.has_estimate()) {
        decreased = *link_capacity_.estimate() * config_.beta;
      }
      if (decreased < current_) next = decreased;
      if (acknowledged) {
        if (*acknowledged < link_capacity_.lower_bound()) link_capacity_.reset();
        link_capacity_.on_overuse_detected(*acknowledged);
      }
      initialized_ = true;
      state_ = State::kHold;
      time_last_change_ = now;
      break;
    }
  }
  current_ = clamp_rate(next, acknowledged);
  return current_;
}

}  // namespace tern::congestion
