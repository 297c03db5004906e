// Arithmetic shared by the send and receive statistics (RFC 3550 6.4.1): how a packet's bytes split
// into payload octets (what SR octet counts and webrtc-stats bytes count) and header octets, and
// durations on an RTP media clock.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tern/rtp/rtp_packet.h"

namespace tern::rtp {

struct PacketOctets {
  int64_t payload = 0;  // excludes header, extensions, CSRCs and padding
  int64_t header = 0;   // everything else in `packet_bytes`
};

// Splits a packet of `packet_bytes` bytes using its parsed header's header and padding sizes.
inline PacketOctets split_packet_octets(const RtpHeader& header, size_t packet_bytes) {
  const size_t overhead = size_t{header.header_size} + header.padding_size;
  const size_t payload = packet_bytes > overhead ? packet_bytes - overhead : 0;
  return {static_cast<int64_t>(payload), static_cast<int64_t>(packet_bytes - payload)};
}

// `us` microseconds in ticks of a `rate` Hz clock, rounded to nearest, modulo 2^32 (negative
// durations wrap as RTP timestamps do). Split into whole seconds and the rest so nothing overflows.
inline uint32_t micros_to_rtp_ticks(int64_t us, uint32_t rate) {
  int64_t secs = us / 1000000;
  int64_t rem = us % 1000000;
  if (rem < 0) {
    rem += 1000000;
    secs -= 1;
  }
  const uint64_t whole = static_cast<uint64_t>(secs) * rate;  // modulo 2^64 is fine modulo 2^32
  const uint64_t part = (static_cast<uint64_t>(rem) * rate + 500000) / 1000000;
  return static_cast<uint32_t>(whole + part);
}

}  // namespace tern::rtp
