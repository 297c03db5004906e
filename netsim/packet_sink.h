// PacketSink: where a path hands the packets it delivers (an endpoint's receive side, a relay,
// a recorder). One narrow interface so endpoints, SFUs and test probes plug in the same way.
#pragma once

#include "tern/core/units.h"
#include "tern/netsim/sim_packet.h"

namespace tern::netsim {

class PacketSink {
 public:
  virtual ~PacketSink() = default;
  // Receives ownership of a delivered packet. `now` is the driver's time of the call, at or after
  // packet.delivery_time (equal under the virtual-time EventLoop).
  virtual void on_packet(SimPacket packet, Timestamp now) = 0;
};

}  // namespace tern::netsim
