// Link: one direction of an emulated network link (think netem + a token-bucket shaper, or a
// mahimahi mm-link shell), sans-I/O and deterministic for a given seed.
//
// What happens to a packet handed to send(packet, now), in order:
//  1. Blackout: a packet sent inside a blackout window [start, end) is dropped on arrival.
//  2. Queue: it joins a FIFO in front of the bottleneck. The queue limit (packets, bytes or
//     queueing time; the packet in service does not count) is enforced on arrival by dropping the
//     arriving packet (drop-tail). With CoDel enabled, head packets may also be dropped when they
//     leave the queue (RFC 8289). A time limit compares the arriving packet's expected wait
//     (rest of the packet in service + queued bytes at the current capacity) with the limit.
//  3. Serialization: one packet at a time leaves the queue and is transmitted at the capacity in
//     force while it is on the wire: a constant rate, a piecewise-constant RateTrace (a rate change
//     affects the packet in service immediately: its remaining bits go at the new rate), or a
//     mahimahi DeliveryTrace (each opportunity carries up to 1500 bytes at that instant; bytes of an
//     opportunity nobody uses are lost; a big packet spans opportunities). set_capacity() switches
//     to a constant rate at once, also for the packet in service.
//  4. Loss: random or Gilbert-Elliott loss is decided when serialization ends, so a lost packet
//     has still consumed capacity (as on a real lossy radio hop behind a bottleneck).
//  5. Duplication: a surviving packet is copied with probability `duplication`; the copy takes no
//     capacity, gets its own jitter sample and has `duplicate` set.
//  6. Propagation: delivery time = end of serialization + delay + jitter sample, floored at the
//     end of serialization. Jitter is uniform in [-jitter, +jitter] or normal with sigma = jitter
//     truncated to +-3 sigma. Without allow_reordering, delivery times are made non-decreasing
//     (a packet never overtakes an earlier one); with it, packets are delivered in time order.
// In-flight packets (after serialization, before delivery) are bounded by max_in_flight; beyond it
// new ones are dropped and counted. Trace time zero is `trace_origin`, or the first send() time.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "tern/core/random.h"
#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/netsim/codel.h"
#include "tern/netsim/delivery_trace.h"
#include "tern/netsim/loss_model.h"
#include "tern/netsim/rate_trace.h"
#include "tern/netsim/sim_packet.h"

namespace tern::netsim {

struct LinkConfig {
  // Capacity: the delivery trace wins over the rate trace, which wins over the constant rate.
  // PlusInfinity means no serialization delay at all.
  DataRate capacity = DataRate::PlusInfinity();
  std::shared_ptr<const RateTrace> rate_trace;
  std::shared_ptr<const DeliveryTrace> delivery_trace;
  std::optional<Timestamp> trace_origin;  // default: time of the first send()

  // Queue limits (all that are set apply); the default is 1000 packets.
  std::optional<size_t> queue_packets = 1000;
  std::optional<DataSize> queue_bytes;
  std::optional<TimeDelta> queue_delay;
  std::optional<CodelConfig> codel;  // AQM on top of the limits above

  TimeDelta delay;  // one-way propagation delay
  enum class Jitter { kNone, kUniform, kNormal };
  Jitter jitter_model = Jitter::kNone;
  TimeDelta jitter;  // uniform half-width, or normal sigma
  bool allow_reordering = false;

  LossConfig loss;
  double duplication = 0.0;  // probability in [0, 1]

  struct Window {
    Timestamp start;
    Timestamp end;  // exclusive
  };
  std::vector<Window> blackouts;

  size_t max_in_flight = 100'000;
  uint64_t seed = 1;
};

// Mean capacity of `c` over [from, to), offsets from its trace origin: its delivery trace, else
// its rate trace, else the constant capacity (PlusInfinity when unlimited).
DataRate mean_capacity(const LinkConfig& c, TimeDelta from, TimeDelta to);

struct LinkStats {
  uint64_t packets_sent = 0;       // handed to send()
  uint64_t packets_delivered = 0;  // returned by process(), duplicates included
  uint64_t dropped_blackout = 0;
  uint64_t dropped_queue = 0;      // drop-tail at the queue limit
  uint64_t dropped_codel = 0;
  uint64_t dropped_loss = 0;       // random / burst loss after serialization
  uint64_t dropped_in_flight_limit = 0;
  uint64_t duplicated = 0;
  DataSize bytes_sent;
  DataSize bytes_serialized;  // capacity actually used, lost packets included
  DataSize bytes_delivered;
  // Queueing delay: time from arrival to start of serialization, one sample per packet served.
  uint64_t queue_delay_samples = 0;
  TimeDelta queue_delay_sum;
  TimeDelta queue_delay_max;
};

class Link {
 public:
  // Validates the config; the message names the first offending field.
  static Result<Link> Create(LinkConfig config);

  // Hands a packet to the link at `now` (calls must have non-decreasing `now`; an earlier time is
  // treated as the latest one seen). The packet may be dropped at once; see stats().
  void send(SimPacket packet, Timestamp now);
  // Earliest time at which process() has something to do, or nullopt when idle.
  std::optional<Timestamp> next_wakeup() const;
  // Advances to `now` and returns every packet delivered at or before it, in delivery order, each
  // with delivery_time set. Calling late (real-time drivers) yields the same delivery times.
  std::vector<SimPacket> process(Timestamp now);

  // Switches to a constant capacity from `now` on, including the rest of the packet in service.
  void set_capacity(DataRate rate, Timestamp now);
  // Changes the propagation delay from `now` on: packets that finish serialization later get it;
  // packets already in flight keep theirs (without reordering, a shorter delay never overtakes).
  void set_delay(TimeDelta delay, Timestamp now);

  const LinkStats& stats() const { return stats_; }
  // Queueing delay at quantile q in [0, 1], with 1 ms resolution (samples above 10 s saturate).
  TimeDelta queue_delay_percentile(double q) const;
  size_t queued_packets() const { return queue_.size(); }
  DataSize queued_bytes() const { return queue_bytes_; }
  size_t in_flight() const { return in_flight_.size(); }
  const LinkConfig& config() const { return config_; }

 private:
  struct Queued {
    SimPacket packet;
    Timestamp enqueue_time;
  };
  struct InFlight {
    Timestamp at;
    uint64_t order;  // FIFO tie-break for equal delivery times
    SimPacket packet;
  };
  enum class Mode { kConstant, kRateTrace, kDeliveryTrace };
  static constexpr size_t kHistogramBuckets = 10'000;  // 1 ms each

  Link(LinkConfig config, LossModel loss, std::optional<Codel> codel);

  void advance(Timestamp until);
  void start_next(Timestamp at);
  void finish_service();
  Timestamp finish_time(Timestamp start, DataSize size);
  Timestamp rate_trace_finish(Timestamp start, double bits) const;
  Timestamp delivery_trace_finish(Timestamp start, int64_t bytes);
  TimeDelta jitter_sample();
  void push_in_flight(SimPacket packet, Timestamp at);
  bool queue_has_room(DataSize size, Timestamp now) const;
  DataRate current_rate(Timestamp now) const;
  bool in_blackout(Timestamp t) const;

  LinkConfig config_;
  Mode mode_ = Mode::kConstant;
  DataRate rate_;  // kConstant only
  LossModel loss_;
  std::optional<Codel> codel_;
  Random jitter_random_;
  Random dup_random_;

  Timestamp clock_ = Timestamp::MinusInfinity();
  Timestamp origin_;
  bool origin_set_ = false;

  std::deque<Queued> queue_;
  DataSize queue_bytes_;
  std::optional<SimPacket> in_service_;
  Timestamp service_start_;
  double service_bits_ = 0.0;  // bits still to send as of service_start_
  Timestamp service_finish_;

  // Delivery-trace cursor: index into the trace, loop count, and bytes left in that opportunity.
  size_t opp_index_ = 0;
  int64_t opp_cycle_ = 0;
  int64_t opp_credit_ = DeliveryTrace::kOpportunitySize.bytes();

  std::vector<InFlight> in_flight_;  // min-heap on (at, order)
  uint64_t next_order_ = 0;
  Timestamp last_delivery_ = Timestamp::MinusInfinity();

  LinkStats stats_;
  std::vector<uint32_t> histogram_;
};

}  // namespace tern::netsim
