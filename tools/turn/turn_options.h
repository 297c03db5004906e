// TurnOptions: tern-turn's command line as plain values, and their translation into a
// TurnRelayConfig (credentials, listening and relay addresses, port range, the netsim link model
// applied to relayed traffic). Kept out of main() so that validation is library code under test.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tern/core/result.h"
#include "tern/tools/turn/turn_relay.h"

namespace tern::tools::turn {

struct TurnOptions {
  std::vector<std::string> users;  // "user:password"
  std::string realm = "tern";
  std::string listen = "127.0.0.1:3478";
  std::string relay_ip = "127.0.0.1";
  uint16_t min_port = 49152;
  uint16_t max_port = 65535;
  // Impairment of relayed traffic, each direction (all zero: clean).
  double loss_percent = 0.0;  // average loss
  double burst = 1.0;         // mean loss burst length in packets; > 1 selects Gilbert-Elliott
  double delay_ms = 0.0;      // one-way delay added per direction
  double jitter_ms = 0.0;     // uniform +- jitter (no reordering)
  double capacity_kbps = 0.0; // 0: unlimited
  int queue_packets = 1000;   // drop-tail limit in front of the capacity
  uint64_t seed = 1;
  int max_allocations = 48;
  int user_quota = 16;
  int max_tcp = 16;  // TURN over TCP connections on the listening port; 0: UDP only
};

// Fails with a message naming the option: no user, "user:password" without a colon, a listen
// address that is not ip:port, a bad port range, loss outside [0, 100), burst < 1, negative
// delay/jitter/capacity, queue < 1, max_tcp < 0.
Result<TurnRelayConfig> make_relay_config(const TurnOptions& options);

}  // namespace tern::tools::turn
