// RTCP Goodbye (RFC 3550 6.6): the SSRC/CSRCs leaving the session and an optional reason text
// (length byte + up to 255 bytes, null-padded to 32 bits).
//
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P|    SC   |   PT=BYE=203  |             length            |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                           SSRC/CSRC                           |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  :                              ...                              :
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  |     length    |               reason for leaving            ...   (opt)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tern/rtp/rtcp/common_header.h"

namespace tern::rtcp {

struct Bye {
  static constexpr uint8_t kPacketType = kPtBye;
  static constexpr size_t kMaxSsrcs = 31;         // SC is 5 bits
  static constexpr size_t kMaxReasonSize = 255;

  std::vector<uint32_t> ssrcs;  // only the first kMaxSsrcs are written
  std::string reason;           // empty: no reason field; only kMaxReasonSize bytes are written

  friend bool operator==(const Bye&, const Bye&) = default;

  // Parses SC SSRCs and the optional reason; fails when either runs past the end.
  static Result<Bye> parse(const CommonHeader& header);
  // Bytes on the wire, common header included.
  size_t size() const;
  // Writes exactly size() bytes.
  void write(ByteWriter& out) const;
};

}  // namespace tern::rtcp
