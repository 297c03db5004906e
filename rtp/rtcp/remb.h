// Receiver Estimated Maximum Bitrate (draft-alvestrand-rmcat-remb-03): PSFB FMT 15 with the
// application-layer FCI "REMB". The bitrate is mantissa * 2^exp (18-bit mantissa, 6-bit exponent)
// and applies to the listed SSRCs together.
//
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P| FMT=15  |   PT=206      |             length            |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                  SSRC of packet sender                        |
//  |                  SSRC of media source (unused, 0)             |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  Unique identifier 'R' 'E' 'M' 'B'                            |
//  |  Num SSRC     | BR Exp    |  BR Mantissa                      |
//  |   SSRC feedback                                               |  x Num SSRC
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tern/core/units.h"
#include "tern/rtp/rtcp/common_header.h"

namespace tern::rtcp {

struct Remb {
  static constexpr uint8_t kPacketType = kPtPsfb;
  static constexpr uint8_t kFormat = 15;
  static constexpr size_t kMaxSsrcs = 255;  // Num SSRC is 8 bits

  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;       // the draft says 0; kept as received
  DataRate bitrate;              // rounded down to what mantissa/exponent can say on write
  std::vector<uint32_t> ssrcs;   // only the first kMaxSsrcs are written

  friend bool operator==(const Remb&, const Remb&) = default;

  // True when a PSFB FMT 15 payload carries the "REMB" identifier (other AFB uses exist).
  static bool is_remb(std::span<const uint8_t> payload);
  // Parses the FCI; fails without "REMB", when SSRCs run past the end or the rate overflows.
  static Result<Remb> parse(const CommonHeader& header);
  // Bytes on the wire, common header included.
  size_t size() const;
  // Writes exactly size() bytes. Negative rates are sent as 0, +infinity as the largest value.
  void write(ByteWriter& out) const;

  // The wire form of a rate: exponent (0..63) and 18-bit mantissa with mantissa << exp <= rate,
  // using the smallest exponent (so the rate survives exactly whenever it fits in 18 bits + shift).
  struct Encoded {
    uint8_t exponent = 0;
    uint32_t mantissa = 0;
  };
  static Encoded Encode(DataRate rate);
};

}  // namespace tern::rtcp
