#include "tern/congestion/probe_controller.h"

#include <algorithm>

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
  if (state_ == State::kInit && network_available_ && start_rate_ > DataRate::Zero()) return initiate_start_up(now);
  return {};
}

std::vector<ProbeClusterConfig> ProbeController::on_network_availability(bool available,
                                                                         Timestamp now) {
  network_available_ = available;
  if (!available && state_ == State::kWaitingForResult) state_ = State::kComplete;
  if (available && state_ == State::kInit && start_rate_ > DataRate::Zero()) return initiate_start_up(now);
  return {};
}

std::vector<ProbeClusterConfig> ProbeController::set_estimated_bitrate(DataRate rate,
                                                                       Timestamp now) {
  std::vector<ProbeClusterConfig> out;
  if (rate < estimate_ * config_.large_drop_ratio) {
    time_of_last_large_drop_ = now;
    rate_before_last_large_drop_ = estimate_;
  }
  // The new estimate first: the next round's threshold (min_further_gain) is above it.
  estimate_ = rate;
  if (state_ == State::kWaitingForResult && rate > min_rate_to_probe_further_) {
    out = initiate(now, {rate * step(config_.further_exponential_probe_scale)}, true);
  } else if (state_ == State::kWaitingForResult &&
             now - time_last_probing_ > config_.max_waiting_for_probe_result) {
    state_ = State::kComplete;
  }
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
  return initiate(now, {estimate_ * step(config_.further_exponential_probe_scale)}, true);
}

std::vector<ProbeClusterConfig> ProbeController::on_feedback_resumed(DataRate rate_before, Timestamp now) {
  if (rate_before <= DataRate::Zero() || rate_before.is_infinite()) return {};
  return initiate(now, {rate_before}, false);
}

std::vector<ProbeClusterConfig> ProbeController::on_probe_too_short(TimeDelta jitter, DataRate received,
                                                                    Timestamp now) {
  if (jitter <= jitter_ * 1.25 || jitter <= TimeDelta::Zero()) return {};
  jitter_ = jitter;
  // The round is the latest and recent (one capped at max_rate has completed already).
  if (!round_rate_ || now - time_last_probing_ > config_.max_waiting_for_probe_result ||
      retries_ >= config_.max_too_short_retries) {
    return {};
  }
  ++retries_;
  const DataRate rate = min(*round_rate_, max(received, estimate_) * step(config_.further_exponential_probe_scale));
  return initiate(now, {rate}, true, /*retry=*/true);
}

TimeDelta ProbeController::cluster_duration() const {
  const TimeDelta longest = std::max(config_.probe_duration, config_.max_probe_duration);
  if (jitter_ <= TimeDelta::Zero()) return config_.probe_duration;
  return std::clamp(jitter_ * config_.duration_per_jitter, config_.probe_duration, longest);
}

double ProbeController::step(double scale) const {
  const TimeDelta duration = cluster_duration();
  if (config_.max_probe_queue <= TimeDelta::Zero() || duration <= TimeDelta::Zero()) return scale;
  return std::min(scale, 1.0 + config_.max_probe_queue / duration);
}

std::vector<ProbeClusterConfig> ProbeController::process(Timestamp now) {
  if (state_ == State::kWaitingForResult &&
      now - time_last_probing_ > config_.max_waiting_for_probe_result) {
    state_ = State::kComplete;  // the result never came (or was too low): stop climbing
  }
  if (config_.periodic_alr_probing && state_ == State::kComplete && alr_start_ &&
      estimate_ > DataRate::Zero()) {
    const Timestamp next = max(*alr_start_, time_last_probing_) + config_.alr_probing_interval;
    if (now >= next) return initiate(now, {estimate_ * step(config_.alr_probe_scale)}, true);
  }
  return {};
}

std::vector<ProbeClusterConfig> ProbeController::initiate_start_up(Timestamp now) {
  std::vector<ProbeClusterConfig> out = initiate(
      now, {start_rate_ * config_.first_exponential_probe_scale, start_rate_ * config_.second_exponential_probe_scale},
      true);
  for (ProbeClusterConfig& c : out) c.start_up = true;
  return out;
}

std::vector<ProbeClusterConfig> ProbeController::initiate(Timestamp now,
                                                          std::vector<DataRate> rates,
                                                          bool probe_further, bool retry) {
  std::vector<ProbeClusterConfig> out;
  if (!network_available_) return out;
  if (!retry) retries_ = 0;
  for (DataRate r : rates) {
    if (r > max_rate_) r = max_rate_;
    if (r <= DataRate::Zero() || r.is_infinite()) continue;
    ProbeClusterConfig c;
    c.at_time = now;
    c.target_rate = r;
    c.target_duration = cluster_duration();
    c.target_probe_count = config_.min_probe_packets;
    c.id = next_id_++;
    out.push_back(c);
    if (r >= max_rate_) break;  // no point probing above the cap twice
  }
  time_last_probing_ = now;
  if (probe_further && !out.empty() && out.back().target_rate < max_rate_) {
    state_ = State::kWaitingForResult;
    // A result must also be above the estimate the round started from: a gentle step (long
    // clusters, see step()) times the threshold is below it, and every new estimate would probe.
    min_rate_to_probe_further_ = max(out.back().target_rate * config_.further_probe_threshold,
                                     estimate_ * config_.min_further_gain);
  } else {
    state_ = State::kComplete;
  }
  round_rate_ = out.empty() ? std::nullopt : std::optional<DataRate>(out.front().target_rate);
  return out;
}

}  // namespace tern::congestion
