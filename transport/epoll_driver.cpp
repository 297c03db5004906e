#include "tern/transport/epoll_driver.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <utility>

namespace tern::transport {

Result<EpollDriver> EpollDriver::Create() {
  EpollDriver d;
  d.epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (d.epoll_fd_ < 0) return Error{"epoll driver: epoll_create1 failed"};
  d.timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (d.timer_fd_ < 0) return Error{"epoll driver: timerfd_create failed"};
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = d.timer_fd_;
  if (::epoll_ctl(d.epoll_fd_, EPOLL_CTL_ADD, d.timer_fd_, &ev) != 0) return Error{"epoll driver: epoll_ctl(timerfd) failed"};
  return d;
}

EpollDriver::~EpollDriver() { close_fds(); }

EpollDriver::EpollDriver(EpollDriver&& other) noexcept
    : epoll_fd_(std::exchange(other.epoll_fd_, -1)),
      timer_fd_(std::exchange(other.timer_fd_, -1)),
      armed_us_(std::exchange(other.armed_us_, -1)),
      watches_(std::move(other.watches_)),
      pollables_(std::move(other.pollables_)),
      stop_requested_(other.stop_requested_),
      stop_flag_(other.stop_flag_),
      counters_(other.counters_) {}

EpollDriver& EpollDriver::operator=(EpollDriver&& other) noexcept {
  if (this != &other) {
    close_fds();
    epoll_fd_ = std::exchange(other.epoll_fd_, -1);
    timer_fd_ = std::exchange(other.timer_fd_, -1);
    armed_us_ = std::exchange(other.armed_us_, -1);
    watches_ = std::move(other.watches_);
    pollables_ = std::move(other.pollables_);
    stop_requested_ = other.stop_requested_;
    stop_flag_ = other.stop_flag_;
    counters_ = other.counters_;
  }
  return *this;
}

void EpollDriver::close_fds() {
  if (timer_fd_ >= 0) ::close(timer_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  timer_fd_ = epoll_fd_ = -1;
}

Timestamp EpollDriver::Now() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return Timestamp::Micros(static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000);
}

Status EpollDriver::add_fd(int fd, ReadableHandler on_readable) {
  if (epoll_fd_ < 0) return Error{"epoll driver: not created"};
  if (fd < 0 || !on_readable) return Error{"epoll driver: bad fd or empty handler"};
  if (watches_.size() >= kMaxFds) return Error{"epoll driver: too many fds"};
  for (const Watch& w : watches_)
    if (w.fd == fd) return Error{"epoll driver: fd already watched"};
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return Error{"epoll driver: epoll_ctl(ADD) failed"};
  watches_.push_back(Watch{fd, std::move(on_readable)});
  return Status::Ok();
}

Status EpollDriver::remove_fd(int fd) {
  auto it = std::find_if(watches_.begin(), watches_.end(), [fd](const Watch& w) { return w.fd == fd; });
  if (it == watches_.end()) return Error{"epoll driver: fd not watched"};
  // Fails only if the fd was already closed (the kernel then dropped it from the set itself).
  (void)::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  watches_.erase(it);
  return Status::Ok();
}

Status EpollDriver::add_pollable(Pollable* p) {
  if (p == nullptr) return Error{"epoll driver: null pollable"};
  if (std::find(pollables_.begin(), pollables_.end(), p) != pollables_.end()) return Status::Ok();
  if (pollables_.size() >= kMaxPollables) return Error{"epoll driver: too many pollables"};
  pollables_.push_back(p);
  return Status::Ok();
}

void EpollDriver::remove_pollable(Pollable* p) {
  pollables_.erase(std::remove(pollables_.begin(), pollables_.end(), p), pollables_.end());
}

bool EpollDriver::should_stop() const {
  return stop_requested_ || (stop_flag_ != nullptr && stop_flag_->load(std::memory_order_relaxed));
}

bool EpollDriver::run_due_pollables(Timestamp now, Timestamp& earliest) {
  // Due objects run in deadline order (ties in registration order), so timers fire in order even
  // when the loop woke late. Bounded: each object runs at most once per iteration.
  std::array<std::pair<Timestamp, size_t>, kMaxPollables> due;
  size_t n = 0;
  ++counters_.deadline_walks;
  for (size_t i = 0; i < pollables_.size(); ++i) {
    auto t = pollables_[i]->next_wakeup();
    if (!t) continue;
    if (*t <= now) {
      due[n++] = {*t, i};
    } else if (*t < earliest) {
      earliest = *t;
    }
  }
  if (n == 0) return false;
  std::stable_sort(due.begin(), due.begin() + static_cast<std::ptrdiff_t>(n),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  // Snapshot pointers: a process() call may remove pollables.
  std::array<Pollable*, kMaxPollables> order;
  for (size_t k = 0; k < n; ++k) order[k] = pollables_[due[k].second];
  for (size_t k = 0; k < n && !should_stop(); ++k) {
    if (std::find(pollables_.begin(), pollables_.end(), order[k]) == pollables_.end()) continue;
    order[k]->process(now);
    ++counters_.pollable_calls;
  }
  return true;
}

Status EpollDriver::run_for(TimeDelta duration) { return run_until(Now() + duration); }

Status EpollDriver::run_until(Timestamp deadline) {
  if (epoll_fd_ < 0) return Error{"epoll driver: not created"};
  stop_requested_ = false;
  std::array<epoll_event, 32> events;
  while (!should_stop()) {
    ++counters_.iterations;
    Timestamp now = Now();
    if (now >= deadline) break;
    // Nothing due (the common wake, a datagram): the deadlines just read are the next wake's.
    Timestamp wake = deadline;
    const bool ran = run_due_pollables(now, wake);
    if (should_stop()) break;
    if (ran) {
      wake = deadline;
      ++counters_.deadline_walks;
      for (Pollable* p : pollables_) {
        auto t = p->next_wakeup();
        if (t && *t < wake) wake = *t;
      }
    }
    // Arm the timer at the absolute wake time (a time already past fires at once), unless it is
    // armed for that time already and has not fired: one system call fewer per datagram.
    const int64_t wake_us = std::max<int64_t>(wake.us(), 1);
    if (wake_us != armed_us_) {
      itimerspec its{};
      its.it_value.tv_sec = wake_us / 1000000;
      its.it_value.tv_nsec = (wake_us % 1000000) * 1000;
      if (::timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &its, nullptr) != 0)
        return Error{"epoll driver: timerfd_settime failed"};
      armed_us_ = wake_us;
      ++counters_.timer_arms;
    }
    const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error{"epoll driver: epoll_wait failed"};
    }
    now = Now();
    for (int i = 0; i < n && !should_stop(); ++i) {
      const int fd = events[static_cast<size_t>(i)].data.fd;
      if (fd == timer_fd_) {
        uint64_t expirations = 0;
        // Only clears the readiness; EAGAIN (a spurious wake) leaves nothing to clear.
        (void)!::read(timer_fd_, &expirations, sizeof(expirations));
        armed_us_ = -1;  // fired: the next wake arms it again, even for the same time
        ++counters_.timer_wakeups;
        continue;
      }
      ++counters_.fd_events;
      // Look the handler up by fd: an earlier handler in this batch may have removed it.
      for (Watch& w : watches_) {
        if (w.fd == fd) {
          ReadableHandler h = w.handler;  // copy: the handler may remove its own watch
          h(now);
          break;
        }
      }
    }
  }
  return Status::Ok();
}

}  // namespace tern::transport
