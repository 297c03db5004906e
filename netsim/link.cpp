#include "tern/netsim/link.h"

#include <algorithm>
#include <cmath>

namespace tern::netsim {
namespace {

// Independent random streams per concern, so that e.g. enabling jitter does not change which
// packets are lost for a given seed.
constexpr uint64_t kJitterStream = 0x6a09e667f3bcc909ull;
constexpr uint64_t kDupStream = 0xbb67ae8584caa73bull;

bool later(const auto& a, const auto& b) { return a.at != b.at ? a.at > b.at : a.order > b.order; }
const auto kHeapCmp = [](const auto& a, const auto& b) { return later(a, b); };

}  // namespace

Result<Link> Link::Create(LinkConfig config) {
  if (config.capacity < DataRate::Zero()) return Error{"link capacity must be >= 0"};
  if (config.queue_bytes && *config.queue_bytes < DataSize::Zero()) return Error{"queue_bytes must be >= 0"};
  if (config.queue_delay && *config.queue_delay < TimeDelta::Zero()) return Error{"queue_delay must be >= 0"};
  if (!config.delay.is_finite() || config.delay < TimeDelta::Zero()) return Error{"delay must be finite and >= 0"};
  if (!config.jitter.is_finite() || config.jitter < TimeDelta::Zero()) return Error{"jitter must be finite and >= 0"};
  if (!(config.duplication >= 0.0 && config.duplication <= 1.0)) return Error{"duplication must be in [0, 1]"};
  for (const auto& w : config.blackouts)
    if (w.end < w.start) return Error{"blackout window ends before it starts"};
  if (config.max_in_flight == 0) return Error{"max_in_flight must be > 0"};
  std::optional<Codel> codel;
  if (config.codel) {
    auto c = Codel::Create(*config.codel);
    if (!c) return Error{c.error()};
    codel = std::move(*c);
  }
  auto loss = LossModel::Create(config.loss, config.seed);
  if (!loss) return Error{loss.error()};
  return Link(std::move(config), std::move(*loss), std::move(codel));
}

Link::Link(LinkConfig config, LossModel loss, std::optional<Codel> codel)
    : config_(std::move(config)),
      rate_(config_.capacity),
      loss_(std::move(loss)),
      codel_(std::move(codel)),
      jitter_random_(config_.seed ^ kJitterStream),
      dup_random_(config_.seed ^ kDupStream),
      histogram_(kHistogramBuckets, 0) {
  if (config_.delivery_trace) {
    mode_ = Mode::kDeliveryTrace;
  } else if (config_.rate_trace) {
    mode_ = Mode::kRateTrace;
  }
}

void Link::send(SimPacket packet, Timestamp now) {
  now = max(now, clock_);
  if (!origin_set_) {
    origin_ = config_.trace_origin.value_or(now);
    origin_set_ = true;
  }
  advance(now);
  clock_ = now;
  const DataSize size = packet.wire_size();
  ++stats_.packets_sent;
  stats_.bytes_sent += size;
  if (in_blackout(now)) {
    ++stats_.dropped_blackout;
    return;
  }
  // Limits only apply to packets that would have to wait: an idle server takes the packet at once.
  if (in_service_ && !queue_has_room(size, now)) {
    ++stats_.dropped_queue;
    return;
  }
  queue_bytes_ += size;
  queue_.push_back({std::move(packet), now});
  if (!in_service_) start_next(now);
}

std::optional<Timestamp> Link::next_wakeup() const {
  std::optional<Timestamp> next;
  if (in_service_ && service_finish_.is_finite()) next = service_finish_;
  if (!in_flight_.empty() && (!next || in_flight_.front().at < *next)) next = in_flight_.front().at;
  return next;
}

std::vector<SimPacket> Link::process(Timestamp now) {
  now = max(now, clock_);
  advance(now);
  clock_ = now;
  std::vector<SimPacket> out;
  while (!in_flight_.empty() && in_flight_.front().at <= now) {
    std::pop_heap(in_flight_.begin(), in_flight_.end(), kHeapCmp);
    InFlight f = std::move(in_flight_.back());
    in_flight_.pop_back();
    f.packet.delivery_time = f.at;
    ++stats_.packets_delivered;
    stats_.bytes_delivered += f.packet.wire_size();
    out.push_back(std::move(f.packet));
  }
  return out;
}

void Link::set_delay(TimeDelta delay, Timestamp now) {
  now = max(now, clock_);
  advance(now);
  clock_ = now;
  config_.delay = max(delay, TimeDelta::Zero());
}

void Link::set_capacity(DataRate rate, Timestamp now) {
  now = max(now, clock_);
  advance(now);
  clock_ = now;
  if (in_service_) {
    // The share of the packet still unsent, assuming progress was even since service_start_.
    double remaining = service_bits_;
    if (service_finish_.is_finite()) {
      const TimeDelta total = service_finish_ - service_start_;
      remaining = total > TimeDelta::Zero() ? service_bits_ * ((service_finish_ - now) / total) : 0.0;
    }
    service_start_ = now;
    service_bits_ = remaining;
  }
  mode_ = Mode::kConstant;
  rate_ = max(rate, DataRate::Zero());
  if (in_service_) {
    service_finish_ = now + DataSize::Bits(static_cast<int64_t>(std::ceil(service_bits_))) / rate_;
  }
}

void Link::advance(Timestamp until) {
  // Bounded: each iteration completes one packet, and the queue is finite.
  while (in_service_ && service_finish_ <= until) {
    const Timestamp finished = service_finish_;
    finish_service();
    start_next(finished);
  }
}

void Link::start_next(Timestamp at) {
  std::optional<Queued> item;
  auto pop = [this]() -> std::optional<Queued> {
    if (queue_.empty()) return std::nullopt;
    Queued q = std::move(queue_.front());
    queue_.pop_front();
    queue_bytes_ -= q.packet.wire_size();
    return q;
  };
  if (codel_) {
    item = codel_->dequeue(
        at, pop, [this] { return queue_bytes_; }, [this](Queued&&) { ++stats_.dropped_codel; });
  } else {
    item = pop();
  }
  if (!item) return;
  const TimeDelta waited = at - item->enqueue_time;
  ++stats_.queue_delay_samples;
  stats_.queue_delay_sum += waited;
  stats_.queue_delay_max = max(stats_.queue_delay_max, waited);
  histogram_[static_cast<size_t>(std::clamp<int64_t>(waited.us() / 1000, 0, kHistogramBuckets - 1))]++;

  const DataSize size = item->packet.wire_size();
  in_service_ = std::move(item->packet);
  service_start_ = at;
  service_bits_ = static_cast<double>(size.bits());
  service_finish_ = finish_time(at, size);
}

Timestamp Link::finish_time(Timestamp start, DataSize size) {
  switch (mode_) {
    case Mode::kConstant:
      return start + size / rate_;
    case Mode::kRateTrace:
      return rate_trace_finish(start, static_cast<double>(size.bits()));
    case Mode::kDeliveryTrace:
      return delivery_trace_finish(start, size.bytes());
  }
  return start;
}

Timestamp Link::rate_trace_finish(Timestamp start, double bits) const {
  if (bits <= 0.0) return start;
  const RateTrace& trace = *config_.rate_trace;
  size_t i = trace.index_at(start - origin_);
  Timestamp t = start;
  // Bounded by the number of trace points: i increases every iteration until the last segment.
  for (;;) {
    const double bps = trace.points()[i].rate.bps_f();
    const TimeDelta end_offset = trace.segment_end(i);
    if (end_offset.is_plus_infinity()) {
      if (bps <= 0.0) return Timestamp::PlusInfinity();
      return t + TimeDelta::SecondsF(bits / bps);
    }
    const Timestamp seg_end = origin_ + end_offset;
    if (bps > 0.0 && seg_end > t) {
      const double available = bps * (seg_end - t).seconds_f();
      if (bits <= available) return min(seg_end, t + TimeDelta::SecondsF(bits / bps));
      bits -= available;
    }
    t = max(t, seg_end);
    ++i;
  }
}

Timestamp Link::delivery_trace_finish(Timestamp start, int64_t bytes) {
  if (bytes <= 0) return start;
  const DeliveryTrace& trace = *config_.delivery_trace;
  const auto& opps = trace.opportunities();
  const int64_t period_us = trace.period().us();
  const int64_t full = DeliveryTrace::kOpportunitySize.bytes();
  auto opp_time = [&] { return origin_ + TimeDelta::Micros(opp_cycle_ * period_us) + opps[opp_index_]; };
  auto step = [&] {
    if (++opp_index_ == opps.size()) {
      opp_index_ = 0;
      ++opp_cycle_;
    }
    opp_credit_ = full;
  };
  if (opp_time() < start) {
    // Jump to the first opportunity at or after start; unused opportunities before it are gone.
    const TimeDelta offset = start - origin_;
    opp_cycle_ = offset.us() / period_us;
    const TimeDelta within = offset - TimeDelta::Micros(opp_cycle_ * period_us);
    opp_index_ = static_cast<size_t>(std::lower_bound(opps.begin(), opps.end(), within) - opps.begin());
    if (opp_index_ == opps.size()) {
      opp_index_ = 0;
      ++opp_cycle_;
    }
    opp_credit_ = full;
  }
  // Bounded: every iteration but the last uses up a whole opportunity of `full` bytes.
  for (;;) {
    const int64_t take = std::min(opp_credit_, bytes);
    opp_credit_ -= take;
    bytes -= take;
    if (bytes == 0) return opp_time();
    step();
  }
}

void Link::finish_service() {
  SimPacket packet = std::move(*in_service_);
  in_service_.reset();
  const Timestamp done = service_finish_;
  stats_.bytes_serialized += packet.wire_size();
  if (loss_.next_lost()) {
    ++stats_.dropped_loss;
    return;
  }
  const bool dup = config_.duplication > 0.0 && dup_random_.bernoulli(config_.duplication);
  if (dup) {
    SimPacket copy = packet;
    copy.duplicate = true;
    push_in_flight(std::move(packet), done);
    push_in_flight(std::move(copy), done);
    ++stats_.duplicated;
  } else {
    push_in_flight(std::move(packet), done);
  }
}

TimeDelta Link::jitter_sample() {
  const double j = static_cast<double>(config_.jitter.us());
  switch (config_.jitter_model) {
    case LinkConfig::Jitter::kNone:
      return TimeDelta::Zero();
    case LinkConfig::Jitter::kUniform:
      return TimeDelta::Micros(static_cast<int64_t>(std::llround(jitter_random_.uniform(-j, j))));
    case LinkConfig::Jitter::kNormal: {
      double v = 0.0;
      for (int tries = 0; tries < 16; ++tries) {  // outside +-3 sigma has p = 0.27%: resample
        v = jitter_random_.gaussian(0.0, j);
        if (std::abs(v) <= 3.0 * j) break;
      }
      return TimeDelta::Micros(static_cast<int64_t>(std::llround(std::clamp(v, -3.0 * j, 3.0 * j))));
    }
  }
  return TimeDelta::Zero();
}

void Link::push_in_flight(SimPacket packet, Timestamp done) {
  if (in_flight_.size() >= config_.max_in_flight) {
    ++stats_.dropped_in_flight_limit;
    return;
  }
  Timestamp at = max(done, done + config_.delay + jitter_sample());
  if (!config_.allow_reordering) {
    at = max(at, last_delivery_);
    last_delivery_ = at;
  }
  in_flight_.push_back({at, next_order_++, std::move(packet)});
  std::push_heap(in_flight_.begin(), in_flight_.end(), kHeapCmp);
}

bool Link::queue_has_room(DataSize size, Timestamp now) const {
  if (config_.queue_packets && queue_.size() + 1 > *config_.queue_packets) return false;
  if (config_.queue_bytes && queue_bytes_ + size > *config_.queue_bytes) return false;
  if (config_.queue_delay) {
    TimeDelta wait = in_service_ ? max(TimeDelta::Zero(), service_finish_ - now) : TimeDelta::Zero();
    wait += queue_bytes_ / current_rate(now);
    if (wait > *config_.queue_delay) return false;
  }
  return true;
}

DataRate mean_capacity(const LinkConfig& c, TimeDelta from, TimeDelta to) {
  if (c.delivery_trace) return c.delivery_trace->mean_rate(from, to);
  if (c.rate_trace) return c.rate_trace->mean_rate(from, to);
  return c.capacity;
}

DataRate Link::current_rate(Timestamp now) const {
  switch (mode_) {
    case Mode::kConstant:
      return rate_;
    case Mode::kRateTrace:
      return config_.rate_trace->rate_at(now - origin_);
    case Mode::kDeliveryTrace:
      return config_.delivery_trace->average_rate();
  }
  return rate_;
}

bool Link::in_blackout(Timestamp t) const {
  for (const auto& w : config_.blackouts)
    if (t >= w.start && t < w.end) return true;
  return false;
}

TimeDelta Link::queue_delay_percentile(double q) const {
  if (stats_.queue_delay_samples == 0) return TimeDelta::Zero();
  q = std::clamp(q, 0.0, 1.0);
  const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(stats_.queue_delay_samples)));
  uint64_t seen = 0;
  for (size_t i = 0; i < histogram_.size(); ++i) {
    seen += histogram_[i];
    if (seen >= std::max<uint64_t>(rank, 1)) return TimeDelta::Millis(static_cast<int64_t>(i));
  }
  return TimeDelta::Millis(kHistogramBuckets - 1);
}

}  // namespace tern::netsim
