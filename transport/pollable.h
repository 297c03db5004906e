// Pollable: the time contract the real-time EpollDriver speaks. It is the same contract as
// tern::netsim::Pollable (next_wakeup() then process(now)); transport/ may not depend on netsim/, so
// the interface is restated here. An adapter between the two is one line in the caller.
#pragma once

#include <optional>

#include "tern/core/units.h"

namespace tern::transport {

class Pollable {
 public:
  virtual ~Pollable() = default;
  // Earliest time process() has work; nullopt when idle until new input arrives.
  virtual std::optional<Timestamp> next_wakeup() const = 0;
  // Does all work due at or before `now`; `now` never goes backwards between calls.
  virtual void process(Timestamp now) = 0;
};

}  // namespace tern::transport
