// The report tern-turn prints when it stops: the relay's counters as one JSON line (allocations,
// relayed packets each way, every rejection by reason, drops by reason including the links' losses
// and queue drops, and the signal that stopped it).
#pragma once

#include <string>

#include "tern/tools/turn/turn_relay.h"

namespace tern::tools::turn {

// One line of JSON, keys sorted; `signal_number` is 0 when the run ended by itself (--duration).
std::string relay_report_json(const TurnRelay& relay, int signal_number);

}  // namespace tern::tools::turn
