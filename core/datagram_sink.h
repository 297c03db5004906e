// DatagramSink: the one contract for handing a complete datagram (RTP, RTCP, STUN, DTLS, ...) to
// whatever comes next: an endpoint's or media server leg's egress (netsim, UDP socket, SRTP
// first, an RTP/RTCP port split) and the transport::Demuxer's per-class and per-SSRC routes.
//
// The sink receives ownership of the bytes: the sinks that keep or rewrite them (netsim queues the
// datagram, SRTP protects it in place) need no copy; a sink that only reads them reads the vector.
// Called synchronously; a sink must not call back into the object that calls it.
//
// netsim::PacketSink stays apart on purpose: it is the link-level sink and carries a
// netsim::SimPacket (packet id, send and delivery times, per-packet overhead) that a datagram has
// not got (see core/README.md).
#pragma once

#include <cstdint>
#include <vector>

#include "tern/core/units.h"

namespace tern {

class DatagramSink {
 public:
  virtual ~DatagramSink() = default;
  virtual void on_datagram(std::vector<uint8_t> datagram, Timestamp now) = 0;
};

}  // namespace tern
