// Picture Loss Indication (RFC 4585 6.3.1): PSFB FMT 1, no FCI; asks the media sender for a key frame.
//
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P|  FMT=1  |   PT=206      |          length=2             |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                  SSRC of packet sender                        |
//  |                  SSRC of media source                         |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#pragma once

#include <cstdint>

#include "tern/rtp/rtcp/common_header.h"

namespace tern::rtcp {

struct Pli {
  static constexpr uint8_t kPacketType = kPtPsfb;
  static constexpr uint8_t kFormat = 1;

  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;

  friend bool operator==(const Pli&, const Pli&) = default;

  // Parses the two SSRCs; bytes after them (there should be none) are ignored.
  static Result<Pli> parse(const CommonHeader& header);
  // Bytes on the wire: always 12.
  size_t size() const { return kCommonHeaderSize + 8; }
  // Writes exactly size() bytes.
  void write(ByteWriter& out) const;
};

}  // namespace tern::rtcp
