// Any RTCP packet this library does not interpret (another PT, or an RTPFB/PSFB FMT without a
// dedicated type), kept raw so it can be counted, forwarded or written back unchanged (RFC 3550 6.1
// asks receivers to ignore packet types they do not know).
#pragma once

#include <cstdint>
#include <vector>

#include "tern/rtp/rtcp/common_header.h"

namespace tern::rtcp {

struct UnknownPacket {
  uint8_t packet_type = 0;
  uint8_t count = 0;             // RC / SC / FMT field, 5 bits
  std::vector<uint8_t> payload;  // after the common header, padding removed

  friend bool operator==(const UnknownPacket&, const UnknownPacket&) = default;

  // Copies type, count and payload; never fails.
  static Result<UnknownPacket> parse(const CommonHeader& header);
  // Bytes on the wire; a payload that is not 32-bit aligned gets RTCP padding (P bit).
  size_t size() const;
  // Writes exactly size() bytes.
  void write(ByteWriter& out) const;
};

}  // namespace tern::rtcp
