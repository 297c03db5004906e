#include "tern/transport/signal_fd.h"

#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <utility>

namespace tern::transport {

Result<SignalFd> SignalFd::Create() {
  SignalFd s;
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  if (pthread_sigmask(SIG_BLOCK, &mask, &s.previous_) != 0) return Error{"signalfd: sigmask failed"};
  s.fd_ = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (s.fd_ < 0) {
    pthread_sigmask(SIG_SETMASK, &s.previous_, nullptr);
    return Error{"signalfd: signalfd() failed"};
  }
  return s;
}

SignalFd::~SignalFd() { reset(); }

SignalFd::SignalFd(SignalFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)), previous_(other.previous_) {}

SignalFd& SignalFd::operator=(SignalFd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = std::exchange(other.fd_, -1);
    previous_ = other.previous_;
  }
  return *this;
}

void SignalFd::reset() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

int SignalFd::read_signal() {
  signalfd_siginfo info{};
  if (fd_ < 0 || ::read(fd_, &info, sizeof(info)) != static_cast<ssize_t>(sizeof(info))) return 0;
  return static_cast<int>(info.ssi_signo);
}

}  // namespace tern::transport
