// TURN ChannelData messages (RFC 8656 12.4): the 4-byte framing that carries application data to
// and from a bound channel without a STUN header.
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |         Channel Number        |            Length             |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                       Application Data (Length bytes)         |
//
// Channel numbers are 0x4000-0x4FFF (RFC 8656 12); their first byte 0x40-0x4F is what RFC 7983
// classifies as TURN channel (see transport::classify). Over UDP the data may be followed by up to
// 3 bytes of padding (RFC 8656 12.5: receivers accept it); over TCP/TLS it must be padded to a
// multiple of 4, which write() does when asked and stream framing (StunStreamFramer) relies on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tern/core/result.h"

namespace tern::ice {

struct ChannelData {
  static constexpr uint16_t kMinChannel = 0x4000;
  static constexpr uint16_t kMaxChannel = 0x4FFF;
  static constexpr size_t kHeaderSize = 4;

  uint16_t channel = 0;
  std::span<const uint8_t> data;  // borrowed from the parsed bytes

  static constexpr bool valid_channel(uint16_t c) { return c >= kMinChannel && c <= kMaxChannel; }

  // Parses one datagram. Fails: "too short", "bad channel number", "length exceeds packet",
  // "more than 3 bytes after data".
  static Result<ChannelData> parse(std::span<const uint8_t> packet);
  // The framed size of the ChannelData message at `data` in a byte stream (header + length padded
  // to 4), or 0 when fewer than 4 bytes are available to tell.
  static size_t stream_size(std::span<const uint8_t> data);

  // Appends the message to `out`; with `pad` the data is padded to a multiple of 4 (TCP/TLS).
  // Fails without writing: "bad channel number", "ChannelData too large" (over 65535 bytes).
  static Status write(uint16_t channel, std::span<const uint8_t> data, bool pad, std::vector<uint8_t>& out);
};

}  // namespace tern::ice
