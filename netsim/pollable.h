// netsim::Pollable is tern::Pollable (core/pollable.h): the one time contract every driver speaks.
#pragma once

#include "tern/core/pollable.h"

namespace tern::netsim {
using Pollable = tern::Pollable;
}  // namespace tern::netsim
