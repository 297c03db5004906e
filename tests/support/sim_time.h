// Simulated-time shorthands for tests.
#pragma once

#include <cstdint>

#include "tern/core/units.h"

namespace tern::test {

// The instant `ms` milliseconds after Timestamp::Zero().
inline Timestamp At(int64_t ms) { return Timestamp::Zero() + TimeDelta::Millis(ms); }

}  // namespace tern::test
