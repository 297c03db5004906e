// RTCP Source Description (RFC 3550 6.5): chunks of (SSRC/CSRC, items). Each item is a type byte, a
// length byte and up to 255 bytes of text; a chunk's item list ends with a null octet and is padded
// with nulls to a 32-bit boundary. PRIV (type 8) and unknown item types are kept as raw bytes.
//
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P|    SC   |  PT=SDES=202  |             length            |
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  |                          SSRC/CSRC_1                          |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |    CNAME=1    |     length    | user and domain name        ...
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |   ... more items ...          |  0 (end)  |  null padding     |
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/rtp/rtcp/common_header.h"

namespace tern::rtcp {

struct SdesItem {
  static constexpr uint8_t kCname = 1;
  static constexpr uint8_t kName = 2;
  static constexpr uint8_t kEmail = 3;
  static constexpr uint8_t kPhone = 4;
  static constexpr uint8_t kLoc = 5;
  static constexpr uint8_t kTool = 6;
  static constexpr uint8_t kNote = 7;
  static constexpr uint8_t kPriv = 8;  // value holds prefix length + prefix + value, unparsed
  static constexpr size_t kMaxValueSize = 255;

  uint8_t type = kCname;  // never 0 (0 ends the item list)
  std::string value;      // only the first kMaxValueSize bytes are written

  friend bool operator==(const SdesItem&, const SdesItem&) = default;
};

struct SdesChunk {
  uint32_t ssrc = 0;
  std::vector<SdesItem> items;

  friend bool operator==(const SdesChunk&, const SdesChunk&) = default;
};

struct Sdes {
  static constexpr uint8_t kPacketType = kPtSdes;
  static constexpr size_t kMaxChunks = 31;  // SC is 5 bits

  std::vector<SdesChunk> chunks;  // only the first kMaxChunks are written

  friend bool operator==(const Sdes&, const Sdes&) = default;

  // One chunk carrying a CNAME, the common case of a compound packet.
  static Sdes WithCname(uint32_t ssrc, std::string_view cname);
  // The first CNAME given for `ssrc`, if any.
  std::optional<std::string_view> cname(uint32_t ssrc) const;

  // Parses SC chunks; fails when an item or a chunk's padding runs past the end.
  static Result<Sdes> parse(const CommonHeader& header);
  // Bytes on the wire, common header included.
  size_t size() const;
  // Writes exactly size() bytes; type-0 items are skipped (they would end the list).
  void write(ByteWriter& out) const;
};

}  // namespace tern::rtcp
