// Full Intra Request (RFC 5104 4.3.1): PSFB FMT 4. One FCI entry per media sender asked for a
// decoder refresh, each with a command sequence number that the sender uses to spot repeats.
//
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P|  FMT=4  |   PT=206      |             length            |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                  SSRC of packet sender                        |
//  |             SSRC of media source (unused, 0)                  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                              SSRC                             |  x N
//  | Seq nr.       |    Reserved (0)                               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#pragma once

#include <cstdint>
#include <vector>

#include "tern/rtp/rtcp/common_header.h"

namespace tern::rtcp {

struct FirEntry {
  uint32_t ssrc = 0;
  uint8_t seq_nr = 0;

  friend bool operator==(const FirEntry&, const FirEntry&) = default;
};

struct Fir {
  static constexpr uint8_t kPacketType = kPtPsfb;
  static constexpr uint8_t kFormat = 4;
  static constexpr size_t kMaxEntries = (0xFFFF - 2) / 2;  // what the 16-bit length field allows

  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;       // RFC 5104 says 0; kept as received
  std::vector<FirEntry> entries;  // at least one; only the first kMaxEntries are written

  friend bool operator==(const Fir&, const Fir&) = default;

  // Parses the feedback header and the entries; fails when there are none or one is cut short.
  static Result<Fir> parse(const CommonHeader& header);
  // Bytes on the wire, common header included.
  size_t size() const;
  // Writes exactly size() bytes.
  void write(ByteWriter& out) const;
};

}  // namespace tern::rtcp
