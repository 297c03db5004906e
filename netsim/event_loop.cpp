#include "tern/netsim/event_loop.h"

#include <algorithm>

namespace tern::netsim {

EventLoop::EventLoop(EventLoopConfig config) : config_(config), now_(config.start) {}

bool EventLoop::later(const Timer& a, const Timer& b) { return a.at != b.at ? a.at > b.at : a.seq > b.seq; }

EventLoop::TimerId EventLoop::post_at(Timestamp at, std::function<void()> fn) {
  if (heap_.size() >= config_.max_pending_timers || !fn) {
    ++timers_refused_;
    return 0;
  }
  const TimerId id = next_seq_++;
  heap_.push_back({max(at, now_), id, std::move(fn)});
  std::push_heap(heap_.begin(), heap_.end(), later);
  return id;
}

bool EventLoop::cancel(TimerId id) {
  for (Timer& t : heap_) {
    if (t.seq == id && t.fn) {
      t.fn = nullptr;
      ++cancelled_pending_;
      return true;
    }
  }
  return false;
}

void EventLoop::add_pollable(Pollable* p) {
  if (p && std::find(pollables_.begin(), pollables_.end(), p) == pollables_.end()) pollables_.push_back(p);
}

void EventLoop::remove_pollable(Pollable* p) {
  pollables_.erase(std::remove(pollables_.begin(), pollables_.end(), p), pollables_.end());
}

EventLoop::Timer EventLoop::pop_timer() {
  std::pop_heap(heap_.begin(), heap_.end(), later);
  Timer t = std::move(heap_.back());
  heap_.pop_back();
  return t;
}

void EventLoop::pop_cancelled() {
  while (!heap_.empty() && !heap_.front().fn) {
    (void)pop_timer();  // a cancelled entry: nothing to run
    --cancelled_pending_;
  }
}

Status EventLoop::run_until(Timestamp until) {
  uint64_t events = 0;
  for (;;) {
    pop_cancelled();
    std::optional<Timestamp> timer_at;
    if (!heap_.empty()) timer_at = max(heap_.front().at, now_);
    Pollable* due = nullptr;
    std::optional<Timestamp> poll_at;
    for (Pollable* p : pollables_) {
      const auto w = p->next_wakeup();
      if (w && (!poll_at || max(*w, now_) < *poll_at)) {
        poll_at = max(*w, now_);
        due = p;
      }
    }
    // Timers win ties so that a timer and a pollable at the same instant run in a fixed order.
    const bool run_timer = timer_at && (!poll_at || *timer_at <= *poll_at);
    const std::optional<Timestamp> next = run_timer ? timer_at : poll_at;
    if (!next || *next > until) break;
    if (events >= config_.max_events_per_run) return Error{"event loop: max events per run reached"};
    ++events;
    ++events_run_;
    now_ = *next;
    if (run_timer) {
      Timer t = pop_timer();
      t.fn();
    } else {
      due->process(now_);
    }
  }
  if (until.is_finite()) now_ = max(now_, until);
  return Status::Ok();
}

}  // namespace tern::netsim
