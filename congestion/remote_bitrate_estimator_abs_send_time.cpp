#include "tern/congestion/remote_bitrate_estimator_abs_send_time.h"

#include "tern/rtp/header_extensions.h"

namespace tern::congestion {

namespace {
constexpr uint32_t kAbsSendTimeMask = 0xFFFFFF;
}  // namespace

RemoteBitrateEstimatorAbsSendTime::RemoteBitrateEstimatorAbsSendTime(Config config)
    : config_(config),
      inter_arrival_(config.inter_arrival),
      trendline_(config.trendline),
      rate_control_(config.rate_control) {
  if (config_.max_window_packets == 0) config_.max_window_packets = 1;
}

Timestamp RemoteBitrateEstimatorAbsSendTime::unwrap_send_time(uint32_t abs_send_time) {
  abs_send_time &= kAbsSendTimeMask;
  if (!last_raw_) {
    last_raw_ = abs_send_time;
    last_send_time_ = Timestamp::Zero() + rtp::AbsSendTime::to_delta(abs_send_time);
    return last_send_time_;
  }
  const uint32_t forward = (abs_send_time - *last_raw_) & kAbsSendTimeMask;
  TimeDelta d = rtp::AbsSendTime::to_delta(forward);
  if (forward >= (kAbsSendTimeMask + 1) / 2) {
    d = -rtp::AbsSendTime::to_delta((*last_raw_ - abs_send_time) & kAbsSendTimeMask);
  }
  const Timestamp t = last_send_time_ + d;
  if (d >= TimeDelta::Zero()) {  // keep the reference at the newest value
    last_raw_ = abs_send_time;
    last_send_time_ = t;
  }
  return t;
}

std::optional<DataRate> RemoteBitrateEstimatorAbsSendTime::incoming_bitrate(Timestamp now) {
  while (!window_.empty() && window_.front().first <= now - config_.rate_window) {
    window_bytes_ -= window_.front().second;
    window_.pop_front();
  }
  // Need most of a window of history before the figure means anything.
  if (!first_arrival_.is_finite() || now - first_arrival_ < config_.rate_window / 2 || window_.empty()) {
    return std::nullopt;
  }
  const TimeDelta span = min(now - first_arrival_, config_.rate_window);
  return window_bytes_ / span;
}

void RemoteBitrateEstimatorAbsSendTime::on_received_packet(uint32_t abs_send_time, Timestamp arrival,
                                                           DataSize size, uint32_t ssrc) {
  if (!arrival.is_finite()) return;
  if (last_arrival_.is_finite() && arrival < last_arrival_) arrival = last_arrival_;  // no going back
  if (last_arrival_.is_finite() && arrival - last_arrival_ > config_.stream_timeout) {
    inter_arrival_ = InterArrival(config_.inter_arrival);
    trendline_ = TrendlineEstimator(config_.trendline);
  }
  last_arrival_ = arrival;
  if (!first_arrival_.is_finite()) first_arrival_ = arrival;

  // SSRC list, dropping silent ones.
  ssrcs_[ssrc] = arrival;
  for (auto it = ssrcs_.begin(); it != ssrcs_.end();) {
    it = (arrival - it->second > config_.stream_timeout) ? ssrcs_.erase(it) : std::next(it);
  }
  while (ssrcs_.size() > rtcp::Remb::kMaxSsrcs) ssrcs_.erase(ssrcs_.begin());

  window_.emplace_back(arrival, size);
  window_bytes_ += size;
  while (window_.size() > config_.max_window_packets) {
    window_bytes_ -= window_.front().second;
    window_.pop_front();
  }

  const Timestamp send_time = unwrap_send_time(abs_send_time);
  const BandwidthUsage before = trendline_.state();
  if (const auto deltas = inter_arrival_.compute_deltas(send_time, arrival, arrival, size)) {
    trendline_.update(deltas->send_delta, deltas->arrival_delta, arrival, arrival);
  }
  const auto incoming = incoming_bitrate(arrival);
  if (trendline_.state() == BandwidthUsage::kOverusing) {
    if (incoming && rate_control_.time_to_reduce_further(arrival, *incoming)) {
      (void)rate_control_.update(BandwidthUsage::kOverusing, incoming, arrival);  // kept inside; read by estimate()
      last_update_ = arrival;
    }
  } else if (!rate_control_.valid_estimate() ? incoming.has_value()
                                             : (before != trendline_.state() ||
                                                arrival - last_update_ >= config_.update_interval)) {
    update_estimate(arrival);
  }
}

void RemoteBitrateEstimatorAbsSendTime::update_estimate(Timestamp now) {
  const auto incoming = incoming_bitrate(now);
  if (!rate_control_.valid_estimate() && !incoming) return;
  (void)rate_control_.update(trendline_.state(), incoming, now);  // kept inside; read by estimate()
  last_update_ = now;
}

std::optional<DataRate> RemoteBitrateEstimatorAbsSendTime::estimate() const {
  if (!rate_control_.valid_estimate()) return std::nullopt;
  return rate_control_.estimate();
}

std::optional<Timestamp> RemoteBitrateEstimatorAbsSendTime::next_wakeup() const {
  const auto rate = estimate();
  if (!rate) return std::nullopt;
  if (!last_remb_time_.is_finite()) return last_update_;
  if (*rate < last_remb_rate_ * config_.decrease_fraction) return last_update_;
  return last_remb_time_ + config_.remb_interval;
}

std::optional<rtcp::Remb> RemoteBitrateEstimatorAbsSendTime::process(Timestamp now) {
  const auto due = next_wakeup();
  if (!due || now < *due) return std::nullopt;
  rtcp::Remb remb;
  remb.sender_ssrc = config_.sender_ssrc;
  remb.bitrate = *estimate();
  for (const auto& [ssrc, seen] : ssrcs_) remb.ssrcs.push_back(ssrc);
  last_remb_time_ = now;
  last_remb_rate_ = remb.bitrate;
  return remb;
}

}  // namespace tern::congestion
