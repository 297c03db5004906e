// RTCP Application-Defined packet (RFC 3550 6.7): a 5-bit subtype, the sender's SSRC, a 4-character
// ASCII name and application data (a whole number of 32-bit words).
//
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P| subtype |   PT=APP=204  |             length            |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                           SSRC/CSRC                           |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                          name (ASCII)                         |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                   application-dependent data                ...
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "tern/rtp/rtcp/common_header.h"

namespace tern::rtcp {

struct App {
  static constexpr uint8_t kPacketType = kPtApp;

  uint8_t subtype = 0;  // 5 bits; higher bits are not written
  uint32_t ssrc = 0;
  std::array<char, 4> name{};
  std::vector<uint8_t> data;  // zero-padded to 32 bits on write

  friend bool operator==(const App&, const App&) = default;

  // Parses SSRC, name and data; fails when shorter than 8 bytes or data is not 32-bit aligned.
  static Result<App> parse(const CommonHeader& header);
  // Bytes on the wire, common header included.
  size_t size() const;
  // Writes exactly size() bytes.
  void write(ByteWriter& out) const;
};

}  // namespace tern::rtcp
