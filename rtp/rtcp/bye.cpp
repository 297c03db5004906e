// RFC 3550 6.6 BYE parsing and serialization.
#include "tern/rtp/rtcp/bye.h"

#include <algorithm>

namespace tern::rtcp {

Result<Bye> Bye::parse(const CommonHeader& header) {
  if (header.packet_type != kPacketType) return Error{"rtcp bye: wrong packet type"};
  ByteReader in(header.payload);
  if (!in.has(size_t{header.count} * 4)) return Error{"rtcp bye: SC SSRCs run past the length"};
  Bye bye;
  bye.ssrcs.reserve(header.count);
  for (uint8_t i = 0; i < header.count; ++i) bye.ssrcs.push_back(in.u32());
  if (in.remaining() > 0) {
    const uint8_t length = in.u8();
    const auto text = in.bytes(length);
    if (!in.ok()) return Error{"rtcp bye: reason past the end"};
    bye.reason.assign(text.begin(), text.end());
  }
  return bye;
}

size_t Bye::size() const {
  size_t total = kCommonHeaderSize + 4 * std::min(ssrcs.size(), kMaxSsrcs);
  if (!reason.empty()) total += (1 + std::min(reason.size(), kMaxReasonSize) + 3) & ~size_t{3};
  return total;
}

void Bye::write(ByteWriter& out) const {
  const size_t n = std::min(ssrcs.size(), kMaxSsrcs);
  const size_t start = out.position();
  write_common_header(out, static_cast<uint8_t>(n), kPacketType, size() - kCommonHeaderSize);
  for (size_t i = 0; i < n; ++i) out.u32(ssrcs[i]);
  if (!reason.empty()) {
    const size_t len = std::min(reason.size(), kMaxReasonSize);
    out.u8(static_cast<uint8_t>(len));
    out.bytes(std::span(reinterpret_cast<const uint8_t*>(reason.data()), len));
    out.zeros(size() - (out.position() - start));
  }
}

}  // namespace tern::rtcp
