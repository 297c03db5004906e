// transport::Pollable is tern::Pollable (core/pollable.h): the same contract the virtual-time
// netsim::EventLoop drives, so one object runs under either driver without an adapter.
#pragma once

#include "tern/core/pollable.h"

namespace tern::transport {
using Pollable = tern::Pollable;
}  // namespace tern::transport
