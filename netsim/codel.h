// Codel: the CoDel active queue management control law (RFC 8289, "Controlled Delay Active Queue
// Management"), written as a reusable dequeue-side controller.
//
// CoDel looks at the sojourn time of each packet leaving the queue. Once the sojourn time has
// stayed at or above `target` for a whole `interval`, it enters the dropping state and drops head
// packets at times spaced interval / sqrt(count) apart, until the sojourn time falls below target
// (or the queue holds no more than one MTU). Re-entering soon after leaving resumes the previous
// drop rate (RFC 8289 5.5). The controller owns no packets: Link tells it about each head packet.
#pragma once

#include <cstdint>
#include <optional>

#include "tern/core/result.h"
#include "tern/core/units.h"

namespace tern::netsim {

struct CodelConfig {
  TimeDelta target = TimeDelta::Millis(5);     // acceptable standing queue delay
  TimeDelta interval = TimeDelta::Millis(100); // on the order of a worst-case RTT
  DataSize mtu = DataSize::Bytes(1500);        // below this backlog, never drop
};

class Codel {
 public:
  static Result<Codel> Create(const CodelConfig& config);

  // Runs the RFC 8289 dequeue procedure at `now`. `pop()` removes the head packet and returns
  // std::optional<Item> where Item has `Timestamp enqueue_time`; `backlog()` returns the DataSize
  // still queued after that pop; `drop(Item&&)` disposes of a dropped packet. Returns the packet
  // to transmit, or nullopt when the queue ran empty.
  template <typename Pop, typename Backlog, typename Drop>
  auto dequeue(Timestamp now, Pop&& pop, Backlog&& backlog, Drop&& drop) -> decltype(pop()) {
    bool ok_to_drop = false;
    auto item = do_dequeue(now, pop, backlog, ok_to_drop);
    if (!item) {
      dropping_ = false;
      return item;
    }
    if (dropping_) {
      if (!ok_to_drop) {
        dropping_ = false;
      }
      // Bounded: every iteration pops one packet from a finite queue.
      while (dropping_ && now >= drop_next_) {
        drop(std::move(*item));
        ++count_;
        item = do_dequeue(now, pop, backlog, ok_to_drop);
        if (!item || !ok_to_drop) {
          dropping_ = false;
        } else {
          drop_next_ = control_law(drop_next_, count_);
        }
      }
    } else if (ok_to_drop) {
      drop(std::move(*item));
      item = do_dequeue(now, pop, backlog, ok_to_drop);
      dropping_ = true;
      // Resume near the previous drop rate if we were dropping recently.
      const uint32_t delta = count_ - last_count_;
      count_ = 1;
      if (delta > 1 && now - drop_next_ < config_.interval * 16) count_ = delta;
      drop_next_ = control_law(now, count_);
      last_count_ = count_;
    }
    return item;
  }

  bool dropping() const { return dropping_; }
  uint32_t count() const { return count_; }
  const CodelConfig& config() const { return config_; }

 private:
  explicit Codel(const CodelConfig& config) : config_(config) {}

  // Pops the head and updates first_above_time_; sets ok_to_drop when the sojourn time has been
  // above target for at least an interval.
  template <typename Pop, typename Backlog>
  auto do_dequeue(Timestamp now, Pop& pop, Backlog& backlog, bool& ok_to_drop) -> decltype(pop()) {
    ok_to_drop = false;
    auto item = pop();
    if (!item) {
      first_above_time_.reset();
      return item;
    }
    const TimeDelta sojourn = now - item->enqueue_time;
    if (sojourn < config_.target || backlog() <= config_.mtu) {
      first_above_time_.reset();
    } else if (!first_above_time_) {
      first_above_time_ = now + config_.interval;
    } else if (now >= *first_above_time_) {
      ok_to_drop = true;
    }
    return item;
  }

  Timestamp control_law(Timestamp t, uint32_t count) const;

  CodelConfig config_;
  std::optional<Timestamp> first_above_time_;
  Timestamp drop_next_;
  uint32_t count_ = 0;
  uint32_t last_count_ = 0;
  bool dropping_ = false;
};

}  // namespace tern::netsim
