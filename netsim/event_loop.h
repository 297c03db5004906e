// EventLoop: a single-threaded virtual-time driver. Time only moves when the loop jumps to the next
// due event, so a simulation runs as fast as the CPU allows and is fully deterministic: timers due
// at the same instant run in insertion (FIFO) order, then due pollables in registration order.
// Nothing here reads a clock or sleeps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/netsim/pollable.h"

namespace tern::netsim {

struct EventLoopConfig {
  Timestamp start = Timestamp::Zero();
  // Events (timer callbacks + pollable process() calls) allowed per run_until()/run_for() call;
  // guards tests against a component that keeps asking to be woken at the same instant.
  uint64_t max_events_per_run = 100'000'000;
  // Pending timers; post_at() beyond this is refused (returns 0) and counted.
  size_t max_pending_timers = 1'000'000;
};

class EventLoop {
 public:
  using TimerId = uint64_t;  // 0 is never a valid id

  explicit EventLoop(EventLoopConfig config = {});
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Current virtual time.
  Timestamp now() const { return now_; }

  // Runs `fn` at `at` (or at now() if `at` is in the past). Callbacks may post further timers
  // and send packets. Returns 0 and drops `fn` when max_pending_timers are already pending.
  TimerId post_at(Timestamp at, std::function<void()> fn);
  TimerId post_in(TimeDelta delay, std::function<void()> fn) { return post_at(now_ + delay, std::move(fn)); }
  // Cancels a pending timer; false if it already ran, was cancelled or never existed.
  bool cancel(TimerId id);

  // Registers an object driven by next_wakeup()/process(); the loop does not own it and the
  // object must outlive its registration. Registering twice is a no-op.
  void add_pollable(Pollable* p);
  void remove_pollable(Pollable* p);

  // Runs every event due at or before `until`, then sets now() to `until` (unless infinite: then
  // it runs until nothing is left). Returns an error
  // (with now() at the last event run) if max_events_per_run was reached first.
  Status run_until(Timestamp until);
  Status run_for(TimeDelta duration) { return run_until(now_ + duration); }

  uint64_t events_run() const { return events_run_; }  // over the loop's lifetime
  uint64_t timers_refused() const { return timers_refused_; }
  size_t pending_timers() const { return heap_.size() - cancelled_pending_; }

 private:
  struct Timer {
    Timestamp at;
    uint64_t seq;  // insertion order, also the TimerId
    std::function<void()> fn;
  };
  static bool later(const Timer& a, const Timer& b);
  void pop_cancelled();
  Timer pop_timer();

  EventLoopConfig config_;
  Timestamp now_;
  std::vector<Timer> heap_;
  size_t cancelled_pending_ = 0;  // cancelled timers still in heap_ (their fn is empty)
  std::vector<Pollable*> pollables_;
  uint64_t next_seq_ = 1;
  uint64_t events_run_ = 0;
  uint64_t timers_refused_ = 0;
};

}  // namespace tern::netsim
