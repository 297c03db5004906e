#include "tern/congestion/pacer.h"

#include <algorithm>
#include <utility>

namespace tern::congestion {

Pacer::Pacer(Config config) : config_(config), pacing_rate_(config.initial_pacing_rate) {
  if (config_.max_queue_packets == 0) config_.max_queue_packets = 1;
  if (config_.max_packets_per_process == 0) config_.max_packets_per_process = 1;
}

void Pacer::set_pacing_rates(DataRate pacing_rate, DataRate padding_rate) {
  pacing_rate_ = max(pacing_rate, DataRate::BitsPerSec(1));
  padding_rate_ = max(padding_rate, DataRate::Zero());
}

void Pacer::create_probe_cluster(const ProbeClusterConfig& cluster) {
  if (cluster.target_rate <= DataRate::Zero()) return;
  if (probes_.size() >= 16) return;  // bounded; a controller never needs this many
  probes_.push_back(ActiveProbe{cluster});
}

void Pacer::push(PacedPacket packet) {
  enqueue_time_sum_us_ += static_cast<double>(packet.enqueue_time.us());
  queue_size_ += packet.size;
  ++queue_packets_;
  queues_[static_cast<size_t>(packet.priority)].push_back(std::move(packet));
}

std::optional<PacedPacket> Pacer::pop_highest() {
  for (auto& q : queues_) {
    if (q.empty()) continue;
    PacedPacket p = std::move(q.front());
    q.pop_front();
    enqueue_time_sum_us_ -= static_cast<double>(p.enqueue_time.us());
    queue_size_ -= p.size;
    --queue_packets_;
    if (queue_packets_ == 0) enqueue_time_sum_us_ = 0;  // no drift
    return p;
  }
  return std::nullopt;
}

std::optional<PacedPacket> Pacer::enqueue(PacedPacket packet, Timestamp now) {
  packet.enqueue_time = now;
  packet.probe_cluster_id = kNotAProbe;
  if (static_cast<size_t>(packet.priority) >= kNumPacketPriorities) {
    packet.priority = PacketPriority::kPadding;
  }
  if (last_process_.is_minus_infinity()) last_process_ = now;
  auto fits = [&](size_t packets, DataSize size) {
    return packets + 1 <= config_.max_queue_packets && size + packet.size <= config_.max_queue_size;
  };
  if (fits(queue_packets_, queue_size_)) {
    push(std::move(packet));
    return std::nullopt;
  }
  // Full: evict the newest packet of the lowest class below the new one, if that makes room.
  for (size_t c = kNumPacketPriorities; c-- > static_cast<size_t>(packet.priority) + 1;) {
    auto& q = queues_[c];
    if (q.empty()) continue;
    if (!fits(queue_packets_ - 1, queue_size_ - q.back().size)) break;
    PacedPacket victim = std::move(q.back());
    q.pop_back();
    enqueue_time_sum_us_ -= static_cast<double>(victim.enqueue_time.us());
    queue_size_ -= victim.size;
    --queue_packets_;
    push(std::move(packet));
    return victim;
  }
  return packet;  // refused
}

TimeDelta Pacer::oldest_queue_time(Timestamp now) const {
  Timestamp oldest = Timestamp::PlusInfinity();
  for (const auto& q : queues_) {
    if (!q.empty()) oldest = min(oldest, q.front().enqueue_time);
  }
  return oldest.is_finite() ? now - oldest : TimeDelta::Zero();
}

DataRate Pacer::queue_limit_rate(Timestamp now) const {
  if (queue_packets_ == 0 || !config_.queue_time_limit.is_finite()) return DataRate::Zero();
  const Timestamp avg_enqueue =
      Timestamp::Micros(static_cast<int64_t>(enqueue_time_sum_us_ / static_cast<double>(queue_packets_)));
  const TimeDelta avg_wait = max(now - avg_enqueue, TimeDelta::Zero());
  const TimeDelta time_left = max(config_.queue_time_limit - avg_wait, TimeDelta::Millis(1));
  return queue_size_ / time_left;
}

DataRate Pacer::current_pacing_rate(Timestamp now) const { return max(pacing_rate_, queue_limit_rate(now)); }

DataRate Pacer::link_drain_rate(Timestamp now) const { return max(link_rate_, queue_limit_rate(now)); }

DataSize Pacer::burst_size() const {
  if (!link_rate_.is_finite() || config_.max_burst <= TimeDelta::Zero()) return DataSize::PlusInfinity();
  return link_rate_ * config_.max_burst;
}

PacketPriority Pacer::highest_priority() const {
  for (size_t c = 0; c < kNumPacketPriorities; ++c) {
    if (!queues_[c].empty()) return static_cast<PacketPriority>(c);
  }
  return PacketPriority::kPadding;
}

bool Pacer::burst_limited() const {
  return queue_packets_ > 0 && highest_priority() != PacketPriority::kAudio && link_debt_ > burst_size();
}

void Pacer::drain_debt(Timestamp now) {
  if (last_process_.is_finite() && now > last_process_) {
    const TimeDelta elapsed = now - last_process_;
    media_debt_ = max(media_debt_ - current_pacing_rate(now) * elapsed, DataSize::Zero());
    padding_debt_ = max(padding_debt_ - padding_rate_ * elapsed, DataSize::Zero());
    if (link_rate_.is_finite()) link_debt_ = max(link_debt_ - link_drain_rate(now) * elapsed, DataSize::Zero());
  }
  if (last_process_.is_minus_infinity() || now > last_process_) last_process_ = now;
}

bool Pacer::carries_media(const ActiveProbe& p) const {
  return config_.carry_media_from > TimeDelta::Zero() && p.config.target_duration >= config_.carry_media_from;
}

bool Pacer::probe_done(const ActiveProbe& p) const {
  return p.packets_sent >= p.config.target_probe_count && p.sent >= p.config.min_bytes();
}

std::optional<Timestamp> Pacer::next_probe_time() const {
  if (probes_.empty()) return std::nullopt;
  const ActiveProbe& p = probes_.front();
  if (p.start.is_minus_infinity()) return last_process_;
  return p.start + p.sent / p.config.target_rate;
}

std::optional<Timestamp> Pacer::next_send_time() const {
  std::optional<Timestamp> next = next_probe_time();
  // A long cluster under way sends everything (see process()).
  if (!probes_.empty() && probes_.front().start.is_finite() && carries_media(probes_.front())) return next;
  auto consider = [&](Timestamp t) { next = next ? min(*next, t) : t; };
  if (queue_packets_ > 0) {
    const DataRate rate = current_pacing_rate(last_process_);
    // At least 1 us while in debt: at a very high (queue-time-limit) rate the debt's drain time
    // rounds to zero, and process() at the same instant would drain nothing and send nothing.
    TimeDelta wait = media_debt_.is_zero() ? TimeDelta::Zero() : max(media_debt_ / rate, TimeDelta::Micros(1));
    if (burst_limited()) wait = max(wait, max((link_debt_ - burst_size()) / link_drain_rate(last_process_), TimeDelta::Micros(1)));
    consider(last_process_ + min(wait, config_.max_process_interval));
  } else if (padding_rate_ > DataRate::Zero() && last_process_.is_finite()) {
    TimeDelta wait = max(media_debt_ / pacing_rate_, padding_debt_ / padding_rate_);
    const bool over_burst = link_debt_ > burst_size();
    if (over_burst) wait = max(wait, (link_debt_ - burst_size()) / link_rate_);
    const bool in_debt = !media_debt_.is_zero() || !padding_debt_.is_zero() || over_burst;
    consider(last_process_ + (in_debt ? max(wait, TimeDelta::Micros(1)) : wait));
  }
  return next;
}

PacerOutput Pacer::process(Timestamp now) {
  PacerOutput out;
  drain_debt(now);
  const DataSize media_cap = pacing_rate_ * config_.max_debt_time;
  auto account = [&](DataSize size) {
    media_debt_ = min(media_debt_ + size, max(media_cap, size));
    padding_debt_ = min(padding_debt_ + size, max(padding_rate_ * config_.max_debt_time, size));
    if (link_rate_.is_finite()) link_debt_ = min(link_debt_ + size, max(link_rate_ * config_.max_debt_time, size));
  };
  for (size_t i = 0; i < config_.max_packets_per_process; ++i) {
    if (!probes_.empty()) {
      ActiveProbe& p = probes_.front();
      if (p.start.is_minus_infinity()) p.start = now;
      if (p.start + p.sent / p.config.target_rate <= now) {
        if (auto pkt = pop_highest()) {
          pkt->probe_cluster_id = p.config.id;
          p.sent += pkt->size;
          account(pkt->size);
          out.packets.push_back(std::move(*pkt));
        } else {
          // A slow cluster's bursts share its bytes out over its packet count, but for the
          // start-up round's (see Config).
          const int count = std::max(1, p.config.target_probe_count);
          const DataSize floor =
              p.config.start_up ? config_.min_probe_padding_size
                                : min(config_.min_probe_padding_size,
                                      DataSize::Bytes((p.config.min_bytes().bytes() + count - 1) / count));
          const DataSize burst = max(p.config.target_rate * config_.probe_burst_interval, floor);
          p.sent += burst;
          account(burst);
          out.padding.push_back(PaddingRequest{burst, p.config.id});
        }
        ++p.packets_sent;
        if (probe_done(p)) probes_.pop_front();
        continue;
      }
      // A long cluster under way carries the media itself, at its own rate: media sent beside it
      // would share the bottleneck with the cluster's packets, which then measure only their
      // share of it (a 125 ms cluster beside 1.4 Mbps of media read 1.55 Mbps on a 2.5 Mbps
      // path). See Config::carry_media_from.
      if (carries_media(p)) break;
    }
    if (queue_packets_ > 0) {
      if (media_debt_ > DataSize::Zero() || burst_limited()) break;
      auto pkt = pop_highest();
      account(pkt->size);
      out.packets.push_back(std::move(*pkt));
      continue;
    }
    if (padding_rate_ > DataRate::Zero() && media_debt_.is_zero() && padding_debt_.is_zero() &&
        link_debt_ <= burst_size()) {
      account(config_.padding_packet_size);
      out.padding.push_back(PaddingRequest{config_.padding_packet_size, kNotAProbe});
      continue;
    }
    break;
  }
  return out;
}

}  // namespace tern::congestion
