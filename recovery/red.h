// RTP payload for redundant data, RED (RFC 2198): parsing and building the block headers, wrapping
// a media packet as the primary block (what browsers do around VP8/VP9 and ULPFEC), and splitting a
// RED packet back into one RTP packet per block.
//
//    0                   1                    2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |1|   block PT  |  timestamp offset         |   block length    |   one per redundant block
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |0|   block PT  |   then the primary header; the blocks' data follows in the same order
//   +-+-+-+-+-+-+-+-+
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tern/core/result.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::recovery {

inline constexpr uint32_t kRedMaxTimestampOffset = (1u << 14) - 1;
inline constexpr size_t kRedMaxBlockLength = (1u << 10) - 1;
inline constexpr size_t kRedMaxBlocks = 16;  // redundant blocks accepted by the parser

struct RedBlock {
  uint8_t payload_type = 0;
  uint32_t timestamp_offset = 0;    // primary timestamp minus this block's (redundant blocks only)
  std::span<const uint8_t> data;    // borrowed from the parsed payload / caller
};

struct RedPayload {
  std::vector<RedBlock> redundant;  // oldest first, as on the wire
  RedBlock primary;
};

// Parses a RED payload (the RTP payload, padding excluded). Rejects truncated headers, more than
// kRedMaxBlocks redundant blocks and block lengths that run past the end.
Result<RedPayload> parse_red_payload(std::span<const uint8_t> payload);

// Builds a RED payload; fails when an offset exceeds 14 bits or a redundant block 10 bits.
Result<std::vector<uint8_t>> build_red_payload(std::span<const RedBlock> redundant,
                                               const RedBlock& primary);

// Wraps a media packet as the only (primary) block of a RED packet with payload type red_pt;
// header fields, CSRCs, extensions and padding are kept.
Result<rtp::RtpPacket> wrap_red(const rtp::RtpPacket& media, uint8_t red_pt);

// Splits a RED packet into RTP packets, redundant blocks first (oldest first) then the primary.
// The primary keeps the header (sequence number, marker, padding) with its block's payload type;
// a redundant block i of n gets timestamp - offset, sequence number - (n - i) (RFC 2198 senders in
// practice repeat the immediately preceding packets), marker cleared and no padding.
Result<std::vector<rtp::RtpPacket>> decode_red(const rtp::RtpPacket& red);

}  // namespace tern::recovery
