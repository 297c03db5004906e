#include "tern/recovery/nack_generator.h"

#include <algorithm>
#include <utility>

namespace tern::recovery {
namespace {
constexpr size_t kMaxKeyframes = 64;
}  // namespace

Status NackGeneratorConfig::validate() const {
  if (max_list_size == 0) return Error{"nack: max_list_size is zero"};
  if (max_retries <= 0) return Error{"nack: max_retries must be positive"};
  if (max_age <= TimeDelta::Zero()) return Error{"nack: max_age must be positive"};
  if (max_packet_age <= 0 || max_packet_age > 32767) return Error{"nack: max_packet_age out of 1..32767"};
  if (initial_rtt <= TimeDelta::Zero() || min_retry_interval <= TimeDelta::Zero())
    return Error{"nack: rtt and retry interval must be positive"};
  if (!(retry_rtt_factor >= 1.0 && retry_rtt_factor <= 10.0)) return Error{"nack: retry_rtt_factor out of 1..10"};
  if (reorder_wait < TimeDelta::Zero()) return Error{"nack: reorder_wait is negative"};
  if (!(reorder_percentile > 0.0 && reorder_percentile <= 1.0)) return Error{"nack: reorder_percentile out of (0, 1]"};
  if (max_reorder_wait < TimeDelta::Zero() || !max_reorder_wait.is_finite()) {
    return Error{"nack: max_reorder_wait must be finite and not negative"};
  }
  return Status::Ok();
}

Result<NackGenerator> NackGenerator::Create(const NackGeneratorConfig& config) {
  if (Status s = config.validate(); !s) return Error{s.error()};
  return NackGenerator(config);
}

NackGenerator::NackGenerator(const NackGeneratorConfig& config)
    : config_(config.validate().ok() ? config : NackGeneratorConfig{}),
      rtt_(config_.initial_rtt),
      reordering_(config_.reorder_percentile, config_.max_reorder_wait) {}

void NackGenerator::on_rtt(TimeDelta rtt) {
  if (rtt > TimeDelta::Zero() && rtt.is_finite()) rtt_ = rtt;
}

TimeDelta NackGenerator::retry_interval() const {
  return std::max(config_.min_retry_interval, rtt_ * config_.retry_rtt_factor);
}

TimeDelta NackGenerator::reorder_time_wait() const {
  if (!config_.learn_reordering) return config_.reorder_wait;
  return std::max(config_.reorder_wait, reordering_.time_wait());
}

Timestamp NackGenerator::due_time(int64_t seq, const Missing& m) const {
  if (m.sends > 0) return std::min(m.sent + retry_interval(), m.overtaken + reorder_time_wait());
  const TimeDelta wait = reorder_time_wait();
  // Fewer newer packets than reordering has been seen to let pass: wait for them, or for the cap.
  if (config_.learn_reordering && *newest_ - seq <= reordering_.packets_wait()) {
    return m.detected + std::max(wait, config_.max_reorder_wait);
  }
  return m.detected + wait;
}

void NackGenerator::on_missing_arrived(int64_t seq, const Missing& m, PacketArrival arrival, Timestamp now) {
  ++stats_.packets_recovered;
  switch (arrival) {
    case PacketArrival::kOriginal:
      ++stats_.packets_late;
      if (m.sends > 0) ++stats_.late_after_nack;
      if (config_.learn_reordering) reordering_.add(*newest_ - seq, now - m.detected);
      break;
    case PacketArrival::kRetransmission:
      ++stats_.packets_repaired_by_rtx;
      // Asked for once only: it answers that NACK (after several, which one is unknown, as in
      // Karn's rule for RTT samples).
      if (config_.retry_when_overtaken && m.sends == 1) mark_overtaken(seq, m.sent, now);
      break;
    case PacketArrival::kFecRecovery:
      ++stats_.packets_repaired_by_fec;
      break;
  }
}

void NackGenerator::mark_overtaken(int64_t seq, Timestamp asked, Timestamp now) {
  // The answer to a NACK sent at `asked` for `seq` arrived: what was asked for before it (an
  // earlier NACK, or earlier in the same one) was answered before it, and has not arrived.
  for (auto& [other, m] : missing_) {
    if (m.sends == 0 || m.overtaken.is_finite()) continue;
    if (m.sent < asked || (m.sent == asked && other < seq)) m.overtaken = now;
  }
}

bool NackGenerator::expired(int64_t seq, const Missing& m, Timestamp now) const {
  if (m.sends >= config_.max_retries && now >= m.sent + retry_interval()) return true;  // retry limit
  if (now - m.detected > config_.max_age) return true;
  return *newest_ - seq > config_.max_packet_age;
}

void NackGenerator::drop_before(int64_t seq) {
  auto end = missing_.lower_bound(seq);
  stats_.packets_abandoned += static_cast<uint64_t>(std::distance(missing_.begin(), end));
  missing_.erase(missing_.begin(), end);
}

bool NackGenerator::make_room(size_t needed) {
  if (missing_.size() + needed <= config_.max_list_size) return true;
  // Packets before the newest keyframe that leaves enough room are moot.
  for (int64_t k : keyframes_) {
    if (missing_.size() + needed <= config_.max_list_size) break;
    drop_before(k);
  }
  return missing_.size() + needed <= config_.max_list_size;
}

NackGenerator::PacketResult NackGenerator::on_packet(uint16_t seq, bool is_keyframe, PacketArrival arrival,
                                                     Timestamp now) {
  PacketResult result;
  // Unwrapped against the newest packet, never against an older one: a run of old or hostile
  // sequence numbers (each a backward jump from the one before) would otherwise walk the reference
  // into another cycle, and packets already received would be NACKed again.
  const int64_t u = unwrapper_.peek(seq);
  if (!newest_ || u > *newest_) unwrapper_.unwrap(seq);
  if (is_keyframe) {
    if (keyframes_.empty() || u > keyframes_.back()) keyframes_.push_back(u);
    while (keyframes_.size() > kMaxKeyframes) keyframes_.pop_front();
  }
  if (!newest_) {
    newest_ = u;
    oldest_ = u;
    return result;
  }
  if (u < oldest_ && *newest_ - u <= config_.max_packet_age) {
    // Older than anything seen (reordering at the start): what lies between was not received.
    const int64_t gap = oldest_ - u - 1;
    if (gap > 0 && make_room(static_cast<size_t>(gap))) {
      for (int64_t q = u + 1; q < oldest_; ++q) missing_.emplace(q, Missing{now});
    }
    oldest_ = u;
    return result;
  }
  if (u <= *newest_) {
    // Late, retransmitted or recovered: no longer missing. Anything else is a duplicate (or a
    // packet given up on), which repairs nothing.
    if (auto it = missing_.find(u); it != missing_.end()) {
      on_missing_arrived(u, it->second, arrival, now);
      missing_.erase(it);
      result.was_missing = true;
      far_behind_run_ = 0;
    } else if (*newest_ - u > kResyncDistance && ++far_behind_run_ >= kResyncRun) {
      // The newest number was not the stream's: start over from here.
      stats_.packets_abandoned += missing_.size();
      missing_.clear();
      while (!keyframes_.empty() && keyframes_.back() > u) keyframes_.pop_back();
      unwrapper_.unwrap(seq);
      newest_ = u;
      oldest_ = u;
      far_behind_run_ = 0;
      ++stats_.resyncs;
    }
    return result;
  }
  far_behind_run_ = 0;
  const int64_t gap = u - *newest_ - 1;
  newest_ = u;
  // A recovered packet ahead of the newest reveals the gap before it just as a received one does.
  if (gap > config_.max_packet_age) {
    stats_.packets_abandoned += missing_.size();
    missing_.clear();
    ++stats_.keyframe_requests;
    result.keyframe_needed = true;
    return result;
  }
  if (gap > 0 && !make_room(static_cast<size_t>(gap))) {
    // Too much is missing since the last keyframe: retransmission cannot repair this stream.
    stats_.packets_abandoned += missing_.size();
    missing_.clear();
    ++stats_.keyframe_requests;
    result.keyframe_needed = true;
    return result;
  }
  for (int64_t q = u - gap; q < u; ++q) missing_.emplace_hint(missing_.end(), q, Missing{now});
  // Entries the new packet pushed past the age limit.
  while (!missing_.empty() && *newest_ - missing_.begin()->first > config_.max_packet_age) {
    missing_.erase(missing_.begin());
    ++stats_.packets_abandoned;
  }
  return result;
}

std::vector<uint16_t> NackGenerator::process(Timestamp now) {
  std::vector<uint16_t> out;
  for (auto it = missing_.begin(); it != missing_.end();) {
    Missing& m = it->second;
    if (expired(it->first, m, now)) {
      it = missing_.erase(it);
      ++stats_.packets_abandoned;
      continue;
    }
    if (m.sends < config_.max_retries && now >= due_time(it->first, m)) {
      if (m.sends > 0) {
        ++stats_.retries;
        if (now < m.sent + retry_interval()) ++stats_.early_retries;
      }
      ++m.sends;
      m.sent = now;
      m.overtaken = Timestamp::PlusInfinity();
      out.push_back(static_cast<uint16_t>(it->first));
    }
    ++it;
  }
  if (!out.empty()) {
    ++stats_.nacks_sent;
    stats_.packets_requested += out.size();
  }
  return out;
}

std::optional<Timestamp> NackGenerator::next_wakeup() const {
  std::optional<Timestamp> wake;
  for (const auto& [seq, m] : missing_) {
    // Either the next send or, after the last one, the time it is given up.
    Timestamp t = m.sends < config_.max_retries ? due_time(seq, m) : m.sent + retry_interval();
    t = std::min(t, m.detected + config_.max_age + TimeDelta::Micros(1));
    wake = wake ? std::min(*wake, t) : t;
  }
  return wake;
}

void NackGenerator::clear_up_to(uint16_t seq) {
  if (!newest_) return;
  drop_before(unwrapper_.peek(seq));
}

void NackGenerator::forget_between(uint16_t after, uint16_t before) {
  if (!newest_) return;
  const int64_t lo = unwrapper_.peek(after);
  const int64_t hi = unwrapper_.peek(before);
  if (hi - lo < 2) return;
  for (auto it = missing_.upper_bound(lo); it != missing_.end() && it->first < hi;) {
    it = missing_.erase(it);
    ++stats_.packets_not_media;
  }
}

rtcp::Nack NackGenerator::make_nack(uint32_t sender_ssrc, uint32_t media_ssrc, std::vector<uint16_t> lost) {
  rtcp::Nack nack;
  nack.sender_ssrc = sender_ssrc;
  nack.media_ssrc = media_ssrc;
  nack.lost = std::move(lost);
  return nack;
}

}  // namespace tern::recovery
