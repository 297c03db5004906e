#include "tern/rtp/rtcp_scheduler.h"

namespace tern::rtp {
namespace {

constexpr double kCompensation = 2.71828 - 1.5;  // RFC 3550 A.7: e - 3/2

}  // namespace

Result<RtcpScheduler> RtcpScheduler::Create(Config config) {
  if (!config.session_bandwidth.is_finite() || config.session_bandwidth <= DataRate::Zero())
    return Error{"rtcp scheduler: session bandwidth must be positive and finite"};
  if (!(config.rtcp_fraction > 0 && config.rtcp_fraction <= 1))
    return Error{"rtcp scheduler: rtcp_fraction must be in (0, 1]"};
  if (!(config.sender_fraction > 0 && config.sender_fraction < 1))
    return Error{"rtcp scheduler: sender_fraction must be in (0, 1)"};
  if (!config.minimum_interval.is_finite() || config.minimum_interval < TimeDelta::Zero() ||
      !config.avpf_initial_minimum.is_finite() || config.avpf_initial_minimum < TimeDelta::Zero() ||
      !config.t_rr_interval.is_finite() || config.t_rr_interval < TimeDelta::Zero())
    return Error{"rtcp scheduler: intervals must be finite and non-negative"};
  if (!(config.dither_factor >= 0 && config.dither_factor <= 1))
    return Error{"rtcp scheduler: dither_factor must be in [0, 1]"};
  if (!config.initial_avg_rtcp_size.is_finite() || config.initial_avg_rtcp_size <= DataSize::Zero())
    return Error{"rtcp scheduler: initial_avg_rtcp_size must be positive"};
  if (config.initial_members == 0 || config.initial_senders > config.initial_members)
    return Error{"rtcp scheduler: need 1+ members and no more senders than members"};
  return RtcpScheduler(config);
}

RtcpScheduler::RtcpScheduler(Config config)
    : config_(config),
      rng_(config.seed),
      members_(config.initial_members),
      senders_(config.initial_senders),
      pmembers_(config.initial_members),
      avg_rtcp_size_(config.initial_avg_rtcp_size) {}

TimeDelta RtcpScheduler::deterministic_interval() const {
  double rtcp_bytes_per_s = config_.session_bandwidth.bps_f() / 8.0 * config_.rtcp_fraction;
  double n = static_cast<double>(members_);
  if (static_cast<double>(senders_) <= static_cast<double>(members_) * config_.sender_fraction) {
    if (config_.we_sent) {
      rtcp_bytes_per_s *= config_.sender_fraction;
      n = static_cast<double>(senders_);
    } else {
      rtcp_bytes_per_s *= 1.0 - config_.sender_fraction;
      n = static_cast<double>(members_ - senders_);
    }
  }
  if (n < 1) n = 1;
  TimeDelta t = TimeDelta::SecondsF(static_cast<double>(avg_rtcp_size_.bytes()) * n / rtcp_bytes_per_s);

  TimeDelta t_min;
  if (config_.avpf) {
    // RFC 4585 3.5.1: no minimum once the first regular report went out.
    t_min = initial_ ? config_.avpf_initial_minimum : TimeDelta::Zero();
  } else {
    t_min = config_.reduced_minimum
                ? TimeDelta::SecondsF(360.0 / config_.session_bandwidth.kbps_f())
                : config_.minimum_interval;
    if (initial_) t_min = t_min / 2;
  }
  return tern::max(t, t_min);
}

TimeDelta RtcpScheduler::draw_interval() {
  return deterministic_interval() * (rng_.uniform(0.5, 1.5) / kCompensation);
}

void RtcpScheduler::start(Timestamp now) {
  started_ = true;
  initial_ = true;
  tp_ = now;
  pmembers_ = members_;
  tn_ = now + draw_interval();
}

std::optional<Timestamp> RtcpScheduler::next_wakeup() const {
  if (!started_) return std::nullopt;
  if (early_scheduled_) return tern::min(te_, tn_);
  return tn_;
}

void RtcpScheduler::schedule_after_regular(Timestamp now) {
  tp_ = now;
  initial_ = false;
  pmembers_ = members_;
  allow_early_ = true;
  tn_ = now + draw_interval();
}

bool RtcpScheduler::due(Timestamp now, bool feedback_pending) {
  if (!started_) return false;
  if (send_pending_) return true;
  if (early_scheduled_ && now >= te_ && te_ < tn_) {
    send_pending_ = true;
    pending_early_ = true;
    return true;
  }
  if (now < tn_) return false;
  // Forward reconsideration (RFC 3550 6.3.6): redraw with today's figures from tp.
  const Timestamp reconsidered = tp_ + draw_interval();
  if (reconsidered > now) {
    tn_ = reconsidered;
    return false;
  }
  if (config_.avpf && config_.t_rr_interval > TimeDelta::Zero() && !feedback_pending && !early_scheduled_ &&
      last_regular_sent_.is_finite()) {
    // RFC 4585 3.5.3: suppress a regular report sent sooner than a randomised T_rr_interval.
    const TimeDelta current = config_.t_rr_interval * rng_.uniform(0.5, 1.5);
    if (last_regular_sent_ + current > now) {
      ++suppressed_;
      schedule_after_regular(now);
      return false;
    }
  }
  send_pending_ = true;
  pending_early_ = false;
  return true;
}

void RtcpScheduler::on_sent(Timestamp now, DataSize compound_size, bool early) {
  // RFC 3550 6.3.3: avg_rtcp_size = 1/16 * packet_size + 15/16 * avg_rtcp_size.
  avg_rtcp_size_ = compound_size * (1.0 / 16.0) + avg_rtcp_size_ * (15.0 / 16.0);
  send_pending_ = false;
  pending_early_ = false;
  early_scheduled_ = false;
  if (!started_) start(now);
  if (early) {
    // RFC 4585 3.5.2: no further early packet until the next regular one, and that one is pushed
    // back by one regular interval: tn = tp + 2 * T_rr, tp = previous tn.
    allow_early_ = false;
    const TimeDelta t_rr = tn_ - tp_;
    const Timestamp previous_tn = tn_;
    tn_ = tp_ + t_rr * 2;
    tp_ = previous_tn;
    return;
  }
  last_regular_sent_ = now;
  schedule_after_regular(now);
}

Timestamp RtcpScheduler::request_early(Timestamp now) {
  if (!config_.avpf || !started_) return Timestamp::PlusInfinity();
  if (send_pending_) return now;
  if (early_scheduled_) return te_;
  // Point-to-point: no other receiver can suppress us, so no dithering (immediate feedback).
  const TimeDelta dither_max =
      members_ <= 2 ? TimeDelta::Zero() : deterministic_interval() * config_.dither_factor;
  if (tn_ <= now + dither_max) return tern::max(tn_, now);  // ride in the regular report
  if (!allow_early_) return Timestamp::PlusInfinity();
  te_ = now + dither_max * rng_.uniform();
  early_scheduled_ = true;
  return te_;
}

void RtcpScheduler::on_received(DataSize size) {
  if (size.is_infinite() || size <= DataSize::Zero()) return;
  avg_rtcp_size_ = size * (1.0 / 16.0) + avg_rtcp_size_ * (15.0 / 16.0);
}

void RtcpScheduler::set_members(size_t members, size_t senders, Timestamp now) {
  if (members == 0) members = 1;
  if (senders > members) senders = members;
  members_ = members;
  senders_ = senders;
  if (started_ && members_ < pmembers_ && tn_ > now) {
    // RFC 3550 6.3.4 reverse reconsideration: shrink both deadlines around now.
    const double ratio = static_cast<double>(members_) / static_cast<double>(pmembers_);
    tn_ = now + (tn_ - now) * ratio;
    tp_ = now - (now - tp_) * ratio;
    pmembers_ = members_;
  }
}

}  // namespace tern::rtp
