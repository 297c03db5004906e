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
// classifies as TURN channel (see transport::classify). 0x5000-0xFFFF are reserved and a message
// carrying one is dropped; RFC 5766 allowed 0x4000-0x7FFF, which a server that still serves
// such clients (coturn's turnutils_uclient) admits by passing kMaxChannelRfc5766 as `max_channel`.
// This one codec frames ChannelData for the TURN client, the TURN server and the stream framer. Over UDP the data may be followed by up to
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
  static constexpr uint16_t kMaxChannelRfc5766 = 0x7FFF;
  static constexpr size_t kHeaderSize = 4;

  uint16_t channel = 0;
  std::span<const uint8_t> data;  // borrowed from the parsed bytes

  static constexpr bool valid_channel(uint16_t c, uint16_t max_channel = kMaxChannel) {
    return c >= kMinChannel && c <= max_channel;
  }
  // The first two bits 01: a ChannelData header (any channel, reserved ones too), as opposed to
  // STUN (00) or other protocols; a stream can be framed by it before the number is judged.
  static constexpr bool looks_like_channel_data(uint8_t first_byte) { return (first_byte & 0xC0) == 0x40; }

  // Parses one datagram (or one framed stream message). Fails: "ChannelData too short", "not a
  // channel number" (below 0x4000), "reserved channel number" (0x5000-0xFFFF, or above `max_channel`), "ChannelData length exceeds
  // packet", "more than 3 bytes after ChannelData". `max_channel` is kMaxChannel or
  // kMaxChannelRfc5766.
  static Result<ChannelData> parse(std::span<const uint8_t> packet, uint16_t max_channel = kMaxChannel);
  // The framed size of the ChannelData message at `data` in a byte stream (header + length padded
  // to 4), or 0 when fewer than 4 bytes are available to tell.
  static size_t stream_size(std::span<const uint8_t> data);

  // Appends the message to `out`; with `pad` the data is padded to a multiple of 4 (TCP/TLS).
  // Fails without writing: "bad channel number", "ChannelData too large" (over 65535 bytes).
  static Status write(uint16_t channel, std::span<const uint8_t> data, bool pad, std::vector<uint8_t>& out,
                      uint16_t max_channel = kMaxChannel);
};

}  // namespace tern::ice
