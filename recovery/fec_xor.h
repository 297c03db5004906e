// The XOR parity shared by ULPFEC (RFC 5109 section 7) and FlexFEC (RFC 8627 section 6.2): the
// "recovery" fields of a set of RTP packets, and the inverse step that rebuilds one missing packet.
//
// What is protected is the same in both RFCs: the P, X, CC, M and PT header bits, the timestamp,
// the length of everything after the 12-byte fixed header (CSRCs, extension block, payload and
// padding) as a 16-bit value, and those bytes themselves (zero-padded to the longest).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tern/core/result.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::recovery {

struct XorParity {
  uint8_t bits = 0;        // P|X|CC in the low 6 bits, as in RTP byte 0 (V bits ignored)
  uint8_t marker_pt = 0;   // M|PT, as in RTP byte 1
  uint32_t timestamp = 0;
  uint16_t length = 0;     // XOR of (packet size - 12)
  std::vector<uint8_t> payload;  // XOR of the bytes after the fixed header, zero-padded

  // Folds one packet into the parity (the packet must be at least 12 bytes, as any parsed one is).
  void add(std::span<const uint8_t> rtp_packet);
};

// Parity over a set of packets.
XorParity compute_parity(std::span<const rtp::RtpPacket* const> packets);

// Rebuilds the packet that is missing from `parity` once all the others were folded out of it
// (XorParity::add of each known packet). Sequence number and SSRC are not protected and are given.
// Fails when the recovered length exceeds the parity payload or the result is not valid RTP.
Result<rtp::RtpPacket> rebuild_from_parity(const XorParity& residual, uint16_t sequence_number,
                                           uint32_t ssrc);

}  // namespace tern::recovery
