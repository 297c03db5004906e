// SignalFd: blocks SIGINT and SIGTERM for the calling thread and delivers them through a signalfd,
// so a tool can register it with EpollDriver::add_fd and stop the loop cleanly (no async-signal
// handler code). Restores the previous signal mask when destroyed.
#pragma once

#include <signal.h>

#include "tern/core/result.h"

namespace tern::transport {

class SignalFd {
 public:
  static Result<SignalFd> Create();
  SignalFd() = default;
  ~SignalFd();
  SignalFd(SignalFd&& other) noexcept;
  SignalFd& operator=(SignalFd&& other) noexcept;
  SignalFd(const SignalFd&) = delete;
  SignalFd& operator=(const SignalFd&) = delete;

  int fd() const { return fd_; }
  // Reads one pending signal; returns its number, or 0 when none is pending.
  int read_signal();

 private:
  void reset();

  int fd_ = -1;
  sigset_t previous_{};
};

}  // namespace tern::transport
