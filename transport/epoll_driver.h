// EpollDriver: the real-time driver. It owns the only clock in the system (CLOCK_MONOTONIC, as a
// tern::Timestamp) and waits on file descriptors (UDP sockets, a signalfd, ...) with epoll, waking
// at the earliest Pollable deadline through a timerfd (microsecond precision, unlike epoll_wait's
// millisecond timeout). The sans-I/O pipeline objects run under it unchanged.
//
// Single-threaded: every method must be called from the thread that runs the loop. Runs are
// bounded (run_for / run_until) and end early on stop() or when the caller's stop flag is set
// (e.g. by a SIGINT handler); see SignalFd for a signal-driven stop without a handler.
#pragma once

#include <atomic>
#include <functional>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/transport/pollable.h"

namespace tern::transport {

class EpollDriver {
 public:
  // Called when `fd` is readable, with the time the loop woke up. Read until EAGAIN (edge is not
  // used: level-triggered, so leftover data wakes the loop again).
  using ReadableHandler = std::function<void(Timestamp now)>;

  struct Counters {
    uint64_t iterations = 0;
    uint64_t timer_wakeups = 0;
    uint64_t fd_events = 0;
    uint64_t pollable_calls = 0;
    uint64_t timer_arms = 0;     // timerfd_settime calls (skipped while the armed time still holds)
    uint64_t deadline_walks = 0;  // passes over every pollable's next_wakeup()
  };

  static Result<EpollDriver> Create();
  EpollDriver() = default;
  ~EpollDriver();
  EpollDriver(EpollDriver&& other) noexcept;
  EpollDriver& operator=(EpollDriver&& other) noexcept;
  EpollDriver(const EpollDriver&) = delete;
  EpollDriver& operator=(const EpollDriver&) = delete;

  // The monotonic clock, in microseconds since an arbitrary boot-relative epoch.
  static Timestamp Now();

  // Watches `fd` for input; the driver does not own it. At most kMaxFds descriptors.
  Status add_fd(int fd, ReadableHandler on_readable);
  Status remove_fd(int fd);
  // Adds a time-driven object (not owned; must outlive the driver or be removed). At most
  // kMaxPollables; adding one twice is ignored.
  Status add_pollable(Pollable* p);
  void remove_pollable(Pollable* p);

  // Runs the loop until `duration` has elapsed, stop() was called or the stop flag is set.
  Status run_for(TimeDelta duration);
  Status run_until(Timestamp deadline);
  // Ends the current run after the handler or process() call in progress returns.
  void stop() { stop_requested_ = true; }
  // A flag (typically set from a signal handler) checked on every iteration; null clears it.
  void set_stop_flag(const std::atomic<bool>* flag) { stop_flag_ = flag; }

  const Counters& counters() const { return counters_; }

  static constexpr size_t kMaxFds = 64;
  static constexpr size_t kMaxPollables = 256;

 private:
  struct Watch {
    int fd;
    ReadableHandler handler;
  };

  void close_fds();
  // Runs the due pollables; returns whether any ran and, when none did, the earliest deadline
  // seen (the next wake needs no second pass then).
  bool run_due_pollables(Timestamp now, Timestamp& earliest);
  bool should_stop() const;

  int epoll_fd_ = -1;
  int timer_fd_ = -1;
  int64_t armed_us_ = -1;  // the absolute time timer_fd_ is armed for, until it is seen firing
  std::vector<Watch> watches_;
  std::vector<Pollable*> pollables_;
  bool stop_requested_ = false;
  const std::atomic<bool>* stop_flag_ = nullptr;
  Counters counters_;
};

}  // namespace tern::transport
