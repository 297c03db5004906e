#include "tern/pipeline/subscriber_prober.h"

#include <algorithm>

namespace tern::pipeline {
namespace {
// One padding-only packet: 255 padding bytes, the RTP header and its extensions. A cluster
// reserves this much beyond its size: its last packet may go over.
constexpr DataSize kMaxPaddingPacket = DataSize::Bytes(320);
// Padding goes out in bursts of at least this (about one padding packet).
constexpr DataSize kMinBurst = DataSize::Bytes(250);
// A cluster refused by a budget is not tried again for this long (one count per wait).
constexpr TimeDelta kBudgetRetry = TimeDelta::Millis(100);
// Loss is judged over feedback counts sampled this far apart (a window of one to two of them).
constexpr TimeDelta kLossSampleInterval = TimeDelta::Millis(500);
}  // namespace

bool PaddingBudget::available(DataSize size, Timestamp now) {
  if (last_.is_finite() && now > last_) tokens_ = min(tokens_ + rate_ * (now - last_), capacity_);
  if (!last_.is_finite() || now > last_) last_ = now;
  return tokens_ >= size;
}

bool SubscriberProber::congested(const Input& in, Timestamp now) {
  if (!loss_new_.at.is_finite() || now - loss_new_.at >= kLossSampleInterval) {
    loss_old_ = loss_new_;
    loss_new_ = LossSample{now, in.feedback_packets, in.feedback_lost};
  }
  if (in.overuse || (in.standing_queue && *in.standing_queue > config_.max_standing_queue)) return true;
  const LossSample& base = loss_old_.at.is_finite() ? loss_old_ : loss_new_;
  const uint64_t packets = in.feedback_packets - base.packets;
  const uint64_t lost = in.feedback_lost - base.lost;
  return packets > 0 && static_cast<double>(lost) > config_.max_loss * static_cast<double>(packets);
}

std::optional<congestion::ProbeClusterConfig> SubscriberProber::maybe_start(const Input& in, PaddingBudget& leg,
                                                                            PaddingBudget& global, Timestamp now) {
  const bool congestion = congested(in, now);
  auto back_off = [this, now] {
    backoff_ = backoff_ <= TimeDelta::Zero() ? config_.backoff_initial : std::min(backoff_ * 2, config_.backoff_max);
    next_allowed_ = now + backoff_;
  };
  if (active_) {
    if (!congestion) return std::nullopt;
    active_.reset();  // the rest of the cluster would only add to the queue or the loss
    awaiting_step_.reset();  // ended here: no result to wait for
    ++counters_.clusters_aborted;
    back_off();
    return std::nullopt;
  }
  if (awaiting_step_) {
    if (now < result_at_) return std::nullopt;
      if (in.estimate >= *awaiting_step_) {
      ++counters_.clusters_succeeded;
      backoff_ = TimeDelta::Zero();
      next_allowed_ = now + config_.min_interval;
    } else {
      ++counters_.clusters_failed;
      back_off();
    }
    awaiting_step_.reset();
  }
  // No feedback yet (or none negotiated): nothing would measure the padding.
  if (in.feedback_packets == 0) return std::nullopt;
  if (!in.next_step || in.estimate >= *in.next_step || now < next_allowed_) return std::nullopt;
  if (congestion) {
    ++counters_.skipped_congestion;
    return std::nullopt;
  }
  const DataRate rate = *in.next_step * config_.probe_scale;
  const DataSize bytes = std::clamp(rate * config_.cluster_duration, config_.min_cluster_bytes, config_.max_cluster_bytes);
  const DataSize reserve = bytes + kMaxPaddingPacket;
  // Both checked before either is taken: a refusal costs neither.
  if (!leg.available(reserve, now) || !global.available(reserve, now)) {
    ++counters_.skipped_budget;
    next_allowed_ = now + kBudgetRetry;
    return std::nullopt;
  }
  leg.take(reserve);
  global.take(reserve);
  congestion::ProbeClusterConfig c;
  c.at_time = now;
  c.target_rate = rate;
  c.target_duration = bytes / rate;
  c.target_probe_count = config_.min_probe_packets;
  c.id = next_id_++;
  active_ = Active{c, bytes, in.sent, DataSize::Zero()};
  awaiting_step_ = *in.next_step;
  ++counters_.clusters;
  return c;
}

std::optional<SubscriberProber::Burst> SubscriberProber::due(Timestamp now, DataSize sent) {
  if (!active_) return std::nullopt;
  Active& a = *active_;
  a.sent = max(a.sent, sent - a.base);
  if (a.sent >= a.bytes || now - a.cluster.at_time > a.cluster.target_duration * 3) {
    finish(now);
    return std::nullopt;
  }
  const std::optional<Timestamp> at = next_wakeup();
  if (!at || now < *at) return std::nullopt;
  const DataSize owed = a.cluster.target_rate * (now - a.cluster.at_time + config_.burst_interval) - a.sent;
  return Burst{std::min(max(owed, kMinBurst), a.bytes - a.sent), a.cluster.id};
}

void SubscriberProber::on_sent(DataSize size, Timestamp now) {
  counters_.padding += size;
  if (!active_) return;
  active_->sent += size;
  // Done, or nothing could be sent (no padding sender): wait for the result either way.
  if (active_->sent >= active_->bytes || size <= DataSize::Zero()) finish(now);
}

void SubscriberProber::finish(Timestamp now) {
  active_.reset();
  result_at_ = now + config_.result_wait;
}

std::optional<Timestamp> SubscriberProber::next_wakeup() const {
  if (!active_) return std::nullopt;
  const Active& a = *active_;
  // When a burst's worth (or the rest) is owed; due() answers from this same instant.
  const DataSize next = min(a.bytes, a.sent + kMinBurst);
  return a.cluster.at_time + next / a.cluster.target_rate - config_.burst_interval;
}

}  // namespace tern::pipeline
