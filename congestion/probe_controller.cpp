#include "tern/congestion/probe_controller.h"

namespace tern::congestion {

std::vector<ProbeClusterConfig> ProbeController::set_bitrates(DataRate min_rate,
                                                              DataRate start_rate,
                                                              DataRate max_rate, Timestamp now) {
  min_rate_ = min_rate;
  max_rate_ = max_rate.is_zero() ? DataRate::PlusInfinity() : max_rate;
  if (start_rate > DataRate::Zero()) {
    start_rate_ = start_rate;
    if (estimate_.is_zero()) estimate_ = start_rate;
  }
  if (state_ == State::kInit && network_available_ && start_rate_ > DataRate::Zero()) {
    return initiate(now,
                    {start_rate_ * config_.first_exponential_probe_scale,
                     start_rate_ * config_.second_exponential_probe_scale},
                    true);
  }
  return {};
}

std::vector<ProbeClusterConfig> ProbeController::on_network_availability(bool available,
                                                                         Timestamp now) {
  network_available_ = available;
  if (!available && state_ == State::kWaitingForResult) state_ = State::kComplete;
  if (available && state_ == State::kInit && start_rate_ > DataRate::Zero()) {
    return initiate(now,
                    {start_rate_ * config_.first_exponential_probe_scale,
                     start_rate_ * config_.second_exponential_probe_scale},
                    true);
  }
  return {};
}

std::vector<ProbeClusterConfig> ProbeController::set_estimated_bitrate(DataRate rate,
                                                                       Timestamp now) {
  std::vector<ProbeClusterConfig> out;
  if (state_ == State::kWaitingForResult && rate > min_rate_to_probe_further_) {
    out = initiate(now, {rate * config_.further_exponential_probe_scale}, true);
  } else if (state_ == State::kWaitingForResult &&
             now - time_last_probing_ > config_.max_waiting_for_probe_result) {
    state_ = State::kComplete;
  }
  if (rate < estimate_ * config_.large_drop_ratio) {
    time_of_last_large_drop_ = now;
    rate_before_last_large_drop_ = estimate_;
  }
  estimate_ = rate;
  return out;
}

std::vector<ProbeClusterConfig> ProbeController::request_probe(Timestamp now) {
  const bool in_alr = alr_start_.has_value();
  const bool alr_ended_recently = alr_end_ && now - *alr_end_ < config_.alr_ended_timeout;
  if (!(in_alr || alr_ended_recently) || state_ != State::kComplete) return {};
  const DataRate suggested = rate_before_last_large_drop_ * config_.probe_fraction_after_drop;
  const DataRate min_expected = suggested * config_.probe_fraction_after_drop;
  if (estimate_ < min_expected && now - time_of_last_large_drop_ < config_.drop_probe_timeout &&
      now - last_drop_probe_ > config_.min_time_between_drop_probes) {
    last_drop_probe_ = now;
    return initiate(now, {suggested}, false);
  }
  return {};
}

std::vector<ProbeClusterConfig> ProbeController::on_ramp_up(bool multiplicative, Timestamp now) {
  if (!config_.ramp_up_probing || !multiplicative || !network_available_ || estimate_ <= DataRate::Zero() ||
      estimate_ < config_.ramp_up_probe_min_rate) {
    ramp_base_.reset();
    return {};
  }
  if (!ramp_base_) ramp_base_ = estimate_;
  if (state_ != State::kComplete || estimate_ < *ramp_base_ * config_.ramp_up_probe_growth ||
      now - time_last_probing_ < config_.ramp_up_probe_interval || estimate_ >= max_rate_) {
    return {};
  }
  ramp_base_ = estimate_;
  return initiate(now, {estimate_ * config_.further_exponential_probe_scale}, true);
}

std::vector<ProbeClusterConfig> ProbeController::on_feedback_resumed(DataRate rate_before, Timestamp now) {
  if (rate_before <= DataRate::Zero() || rate_before.is_infinite()) return {};
  return initiate(now, {rate_before}, false);
}

std::vector<ProbeClusterConfig> ProbeController::process(Timestamp now) {
  if (state_ == State::kWaitingForResult &&
      now - time_last_probing_ > config_.max_waiting_for_probe_result) {
    state_ = State::kComplete;  // the result never came (or was too low): stop climbing
  }
  if (config_.periodic_alr_probing && state_ == State::kComplete && alr_start_ &&
      estimate_ > DataRate::Zero()) {
    const Timestamp next = max(*alr_start_, time_last_probing_) + config_.alr_probing_interval;
    if (now >= next) return initiate(now, {estimate_ * config_.alr_probe_scale}, true);
  }
  return {};
}

std::vector<ProbeClusterConfig> ProbeController::initiate(Timestamp now,
                                                          std::vector<DataRate> rates,
                                                          bool probe_further) {
  std::vector<ProbeClusterConfig> out;
  if (!network_available_) return out;
  for (DataRate r : rates) {
    if (r > max_rate_) r = max_rate_;
    if (r <= DataRate::Zero() || r.is_infinite()) continue;
    ProbeClusterConfig c;
    c.at_time = now;
    c.target_rate = r;
    c.target_duration = config_.probe_duration;
    c.target_probe_count = config_.min_probe_packets;
    c.id = next_id_++;
    out.push_back(c);
    if (r >= max_rate_) break;  // no point probing above the cap twice
  }
  time_last_probing_ = now;
  if (probe_further && !out.empty() && out.back().target_rate < max_rate_) {
    state_ = State::kWaitingForResult;
    min_rate_to_probe_further_ = out.back().target_rate * config_.further_probe_threshold;
  } else {
    state_ = State::kComplete;
  }
  return out;
}

}  // namespace tern::congestion
