// Pollable: the contract between time-driven objects and whatever drives them. A driver asks for
// next_wakeup(), waits (virtual or real time) until then or until new input, and calls process(now).
// The virtual-time netsim::EventLoop and the real-time transport::EpollDriver (epoll + monotonic
// clock) both speak it, so the same pipeline objects run under either.
#pragma once

#include <optional>

#include "tern/core/units.h"

namespace tern {

class Pollable {
 public:
  virtual ~Pollable() = default;
  // Earliest time process() has work; nullopt when idle until new input arrives.
  virtual std::optional<Timestamp> next_wakeup() const = 0;
  // Does all work due at or before `now`. A driver may call it late; it must not be called with a
  // `now` earlier than a previous call's.
  virtual void process(Timestamp now) = 0;
};

}  // namespace tern
