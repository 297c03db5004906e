// AIMD remote rate controller (draft-ietf-rmcat-gcc-02 section 5.5; libwebrtc's AimdRateControl).
// A three-state machine driven by the over-use hypothesis: normal -> increase, over-use ->
// decrease to beta x acknowledged rate, under-use -> hold. Far from the link capacity estimate the
// increase is multiplicative (1.08/s), close to it additive (about one packet per response time).
#pragma once

#include <optional>

#include "tern/congestion/link_capacity_estimator.h"
#include "tern/congestion/network_types.h"
#include "tern/core/units.h"

namespace tern::congestion {

class AimdRateControl {
 public:
  enum class State { kHold, kIncrease, kDecrease };

  struct Config {
    DataRate min_rate = DataRate::KilobitsPerSec(5);
    DataRate max_rate = DataRate::MegabitsPerSec(30);
    DataRate start_rate = DataRate::KilobitsPerSec(300);
    double beta = 0.85;
    double multiplicative_increase_per_second = 1.08;
    DataRate min_multiplicative_increase = DataRate::KilobitsPerSec(1);
    DataRate min_additive_increase_per_second = DataRate::KilobitsPerSec(4);
    TimeDelta response_time_extra = TimeDelta::Millis(100);  // response time = rtt + this
    double frame_rate_assumption = 30;                       // for the additive packet size
    DataSize max_packet_size = DataSize::Bytes(1200);
    TimeDelta initial_rtt = TimeDelta::Millis(200);
  };

  AimdRateControl() : AimdRateControl(Config{}) {}
  explicit AimdRateControl(Config config);

  // Applies one detector hypothesis. `acknowledged` is the current acked bitrate, if known.
  // Returns the new estimate.
  DataRate update(BandwidthUsage usage, std::optional<DataRate> acknowledged, Timestamp now);
  // Forces the estimate (start rate, probe result); clamps to [min, max].
  void set_estimate(DataRate rate, Timestamp now);
  // A probe measured the bottleneck: the link capacity estimate takes it in (AIMD then increases
  // additively near it, instead of multiplicatively past it).
  void on_capacity_sample(DataRate rate) { link_capacity_.on_probe_rate(rate); }
  void set_rtt(TimeDelta rtt) { rtt_ = rtt; }
  void set_min_rate(DataRate rate);

  // True when a new over-use may lower the rate again: a response interval passed since the last
  // change, or the acked rate is far below the estimate.
  bool time_to_reduce_further(Timestamp now, DataRate acknowledged) const;

  DataRate estimate() const { return current_; }
  bool valid_estimate() const { return initialized_; }
  State state() const { return state_; }
  const LinkCapacityEstimator& link_capacity() const { return link_capacity_; }
  // Expected increase per second when close to capacity (additive mode).
  DataRate near_max_increase_rate_per_second() const;

 private:
  DataRate multiplicative_increase(Timestamp now, Timestamp last, DataRate current) const;
  DataRate additive_increase(Timestamp now, Timestamp last) const;
  DataRate clamp_rate(DataRate rate, std::optional<DataRate> acknowledged) const;

  Config config_;
  DataRate current_;
  bool initialized_ = false;
  State state_ = State::kHold;
  Timestamp time_last_change_ = Timestamp::MinusInfinity();
  Timestamp time_first_throughput_ = Timestamp::MinusInfinity();
  TimeDelta rtt_;
  LinkCapacityEstimator link_capacity_;
};

}  // namespace tern::congestion
