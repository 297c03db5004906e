// RFC 3550 6.5 SDES parsing and serialization.
#include "tern/rtp/rtcp/sdes.h"

#include <algorithm>

namespace tern::rtcp {
namespace {

size_t written_chunks(const std::vector<SdesChunk>& chunks) { return std::min(chunks.size(), Sdes::kMaxChunks); }
size_t value_size(const SdesItem& item) { return std::min(item.value.size(), SdesItem::kMaxValueSize); }

// SSRC, items, then at least one null octet padded up to a 32-bit boundary.
size_t chunk_size(const SdesChunk& chunk) {
  size_t items = 0;
  for (const SdesItem& item : chunk.items)
    if (item.type != 0) items += 2 + value_size(item);
  return 4 + ((items + 1 + 3) & ~size_t{3});
}

}  // namespace

Sdes Sdes::WithCname(uint32_t ssrc, std::string_view cname) {
  Sdes sdes;
  sdes.chunks.push_back(SdesChunk{ssrc, {SdesItem{SdesItem::kCname, std::string(cname)}}});
  return sdes;
}

std::optional<std::string_view> Sdes::cname(uint32_t ssrc) const {
  for (const SdesChunk& chunk : chunks) {
    if (chunk.ssrc != ssrc) continue;
    for (const SdesItem& item : chunk.items)
      if (item.type == SdesItem::kCname) return std::string_view(item.value);
  }
  return std::nullopt;
}

Result<Sdes> Sdes::parse(const CommonHeader& header) {
  if (header.packet_type != kPacketType) return Error{"rtcp sdes: wrong packet type"};
  ByteReader in(header.payload);
  Sdes sdes;
  sdes.chunks.reserve(header.count);
  for (uint8_t c = 0; c < header.count; ++c) {
    SdesChunk chunk;
    chunk.ssrc = in.u32();
    if (!in.ok()) return Error{"rtcp sdes: chunk past the end"};
    // Each item takes at least 2 bytes, so the loop ends within the payload.
    while (true) {
      const uint8_t type = in.u8();
      if (!in.ok()) return Error{"rtcp sdes: item list not terminated"};
      if (type == 0) break;
      const uint8_t length = in.u8();
      const auto text = in.bytes(length);
      if (!in.ok()) return Error{"rtcp sdes: item past the end"};
      chunk.items.push_back(SdesItem{type, std::string(text.begin(), text.end())});
    }
    // Chunks start on 32-bit boundaries of the payload; skip the rest of the null padding.
    if (!in.skip((4 - in.position() % 4) % 4)) return Error{"rtcp sdes: chunk padding past the end"};
    sdes.chunks.push_back(std::move(chunk));
  }
  return sdes;
}

size_t Sdes::size() const {
  size_t total = kCommonHeaderSize;
  const size_t n = written_chunks(chunks);
  for (size_t i = 0; i < n; ++i) total += chunk_size(chunks[i]);
  return total;
}

void Sdes::write(ByteWriter& out) const {
  const size_t n = written_chunks(chunks);
  write_common_header(out, static_cast<uint8_t>(n), kPacketType, size() - kCommonHeaderSize);
  for (size_t i = 0; i < n; ++i) {
    const SdesChunk& chunk = chunks[i];
    const size_t start = out.position();
    out.u32(chunk.ssrc);
    for (const SdesItem& item : chunk.items) {
      if (item.type == 0) continue;
      const size_t len = value_size(item);
      out.u8(item.type);
      out.u8(static_cast<uint8_t>(len));
      out.bytes(std::span(reinterpret_cast<const uint8_t*>(item.value.data()), len));
    }
    out.zeros(chunk_size(chunk) - (out.position() - start));
  }
}

}  // namespace tern::rtcp
