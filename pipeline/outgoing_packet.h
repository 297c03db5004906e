// OutgoingPacket: an RTP packet on its way from a send stream to the pacer, with what the pacer
// and the send-side bookkeeping need to know about it.
#pragma once

#include "tern/congestion/pacer.h"
#include "tern/core/units.h"
#include "tern/recovery/packet_store.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::pipeline {

struct OutgoingPacket {
  rtp::RtpPacket packet;
  congestion::PacketPriority priority = congestion::PacketPriority::kVideo;
  Timestamp capture_time;       // of the media it carries
  uint32_t media_ssrc = 0;      // the stream it is counted on (RTX and FEC count on their media)
  bool retransmission = false;  // RTX answering a NACK
  bool audio = false;
  // A forwarded packet's original in its sender's shared store: the RTX history keeps a reference
  // (recovery/packet_store.h) instead of a copy. Unset: copied.
  recovery::StoredPacketRef stored;
};

}  // namespace tern::pipeline
