// RED (RFC 2198) block codec (see red.h).
#include "tern/recovery/red.h"

#include "tern/core/byte_io.h"
#include "tern/recovery/rtp_rewrite.h"

namespace tern::recovery {

Result<RedPayload> parse_red_payload(std::span<const uint8_t> payload) {
  ByteReader r(payload);
  RedPayload out;
  std::vector<size_t> lengths;
  for (;;) {
    if (!r.has(1)) return Error{"red: truncated block header"};
    const uint8_t b = r.u8();
    if ((b & 0x80) == 0) {
      out.primary.payload_type = b & 0x7F;
      break;
    }
    if (out.redundant.size() == kRedMaxBlocks) return Error{"red: too many blocks"};
    if (!r.has(3)) return Error{"red: truncated block header"};
    const uint32_t rest = r.u24();
    RedBlock block;
    block.payload_type = b & 0x7F;
    block.timestamp_offset = rest >> 10;
    lengths.push_back(rest & 0x3FF);
    out.redundant.push_back(block);
  }
  for (size_t i = 0; i < out.redundant.size(); ++i) {
    if (!r.has(lengths[i])) return Error{"red: block length past the end"};
    out.redundant[i].data = r.bytes(lengths[i]);
  }
  out.primary.data = r.rest();
  return out;
}

Result<std::vector<uint8_t>> build_red_payload(std::span<const RedBlock> redundant,
                                               const RedBlock& primary) {
  ByteBuffer b(redundant.size() * 4 + 1 + primary.data.size());
  for (const RedBlock& block : redundant) {
    if (block.timestamp_offset > kRedMaxTimestampOffset) return Error{"red: timestamp offset over 14 bits"};
    if (block.data.size() > kRedMaxBlockLength) return Error{"red: block longer than 1023 bytes"};
    b.u8(static_cast<uint8_t>(0x80 | (block.payload_type & 0x7F)));
    b.u24((block.timestamp_offset << 10) | static_cast<uint32_t>(block.data.size()));
  }
  b.u8(primary.payload_type & 0x7F);
  for (const RedBlock& block : redundant) b.bytes(block.data);
  b.bytes(primary.data);
  return b.take();
}

Result<rtp::RtpPacket> wrap_red(const rtp::RtpPacket& media, uint8_t red_pt) {
  HeaderFields f = HeaderFields::Of(media);
  f.payload_type = red_pt;
  const uint8_t red_header = media.payload_type() & 0x7F;
  return rewrite_packet(media, f, std::span<const uint8_t>(&red_header, 1), media.payload(),
                        padding_of(media));
}

Result<std::vector<rtp::RtpPacket>> decode_red(const rtp::RtpPacket& red) {
  auto parsed = parse_red_payload(red.payload());
  if (!parsed) return Error{parsed.error()};
  std::vector<rtp::RtpPacket> out;
  out.reserve(parsed->redundant.size() + 1);
  const size_t n = parsed->redundant.size();
  for (size_t i = 0; i < n; ++i) {
    const RedBlock& block = parsed->redundant[i];
    HeaderFields f = HeaderFields::Of(red);
    f.marker = false;
    f.payload_type = block.payload_type;
    f.timestamp = red.timestamp() - block.timestamp_offset;
    f.sequence_number = static_cast<uint16_t>(red.sequence_number() - (n - i));
    auto p = rewrite_packet(red, f, {}, block.data, {});
    if (!p) return Error{p.error()};
    out.push_back(std::move(p).value());
  }
  HeaderFields f = HeaderFields::Of(red);
  f.payload_type = parsed->primary.payload_type;
  auto p = rewrite_packet(red, f, {}, parsed->primary.data, padding_of(red));
  if (!p) return Error{p.error()};
  out.push_back(std::move(p).value());
  return out;
}

}  // namespace tern::recovery
