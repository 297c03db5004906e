// Re-stamping an RTP packet with a new payload while keeping its CSRCs and header extension block
// byte for byte: the common step of RTX (RFC 4588), RED (RFC 2198) wrapping/unwrapping and FEC.
#pragma once

#include <cstdint>
#include <span>

#include "tern/core/result.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::recovery {

struct HeaderFields {
  bool marker = false;
  uint8_t payload_type = 0;
  uint16_t sequence_number = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;

  static HeaderFields Of(const rtp::RtpPacket& p) {
    return {p.marker(), p.payload_type(), p.sequence_number(), p.timestamp(), p.ssrc()};
  }
};

// A packet with `src`'s CSRCs and extension block, the given fixed-header fields, and the bytes
// prefix + payload + padding (padding includes its count byte; empty clears the P bit).
Result<rtp::RtpPacket> rewrite_packet(const rtp::RtpPacket& src, const HeaderFields& fields,
                                      std::span<const uint8_t> prefix,
                                      std::span<const uint8_t> payload,
                                      std::span<const uint8_t> padding);

// The padding bytes of a packet (count byte included), empty when it has none.
std::span<const uint8_t> padding_of(const rtp::RtpPacket& p);

}  // namespace tern::recovery
