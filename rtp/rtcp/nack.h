// Generic NACK (RFC 4585 6.2.1): RTPFB FMT 1. Each FCI entry names a lost packet (PID) and a bitmask
// of the 16 packets after it (BLP); this type holds the expanded list of lost sequence numbers.
//
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P|  FMT=1  |   PT=205      |             length            |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                  SSRC of packet sender                        |
//  |                  SSRC of media source                         |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |            PID                |             BLP               |  x N
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#pragma once

#include <cstdint>
#include <vector>

#include "tern/rtp/rtcp/common_header.h"

namespace tern::rtcp {

struct Nack {
  static constexpr uint8_t kPacketType = kPtRtpfb;
  static constexpr uint8_t kFormat = 1;
  // FCI entries that fit the 16-bit length field; a longer list is cut there on write.
  static constexpr size_t kMaxItems = 0xFFFF - 2;

  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
  // Lost sequence numbers. Packing keeps this order exactly, so parse(write(x)) == x for any list;
  // giving it in (wrap-aware) ascending order packs up to 17 numbers per 4-byte entry.
  std::vector<uint16_t> lost;

  friend bool operator==(const Nack&, const Nack&) = default;

  // Parses the FCI entries and expands PID/BLP into `lost` (PID first, then BLP bits in order).
  static Result<Nack> parse(const CommonHeader& header);
  // Bytes on the wire, common header included.
  size_t size() const;
  // Writes exactly size() bytes.
  void write(ByteWriter& out) const;
  // Number of PID/BLP entries the list packs into (at most kMaxItems).
  size_t item_count() const;
};

}  // namespace tern::rtcp
