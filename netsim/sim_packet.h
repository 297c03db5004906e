// SimPacket: the unit that netsim links, paths and networks carry. It owns its bytes (RTP, RTCP,
// STUN, anything) and carries the bookkeeping a simulation needs (id, send and delivery times).
#pragma once

#include <cstdint>
#include <vector>

#include "tern/core/ip_address.h"
#include "tern/core/units.h"

namespace tern::netsim {

struct SimPacket {
  std::vector<uint8_t> data;  // the datagram payload as the receiver will see it
  uint64_t id = 0;            // caller-chosen identity, carried through unchanged
  Timestamp sent_time;        // when the sender handed it to the network (set by the caller)
  Timestamp delivery_time;    // set by each link when the packet leaves it (arrival time)
  // Bytes counted for serialization on top of data.size() (e.g. 28 for IPv4+UDP headers), and
  // the whole size for payload-less packets used in benchmarks.
  DataSize overhead;
  bool duplicate = false;  // true for a copy made by a link's duplication model
  // UDP addressing, used by the addressed Internet (internet.h) and rewritten by its NAT boxes;
  // empty on the anonymous A/B Network.
  TransportAddress source;
  TransportAddress destination;

  // Size that occupies link capacity and queue space.
  DataSize wire_size() const { return DataSize::Bytes(static_cast<int64_t>(data.size())) + overhead; }
};

}  // namespace tern::netsim
