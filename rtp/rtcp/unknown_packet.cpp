// Raw pass-through for RTCP packets without a dedicated type.
#include "tern/rtp/rtcp/unknown_packet.h"

namespace tern::rtcp {

Result<UnknownPacket> UnknownPacket::parse(const CommonHeader& header) {
  return UnknownPacket{header.packet_type, header.count,
                       std::vector<uint8_t>(header.payload.begin(), header.payload.end())};
}

size_t UnknownPacket::size() const { return kCommonHeaderSize + ((payload.size() + 3) & ~size_t{3}); }

void UnknownPacket::write(ByteWriter& out) const {
  const size_t pad = (4 - payload.size() % 4) % 4;
  const size_t start = out.position();
  write_common_header(out, count, packet_type, size() - kCommonHeaderSize);
  if (pad != 0) out.put_u8_at(start, static_cast<uint8_t>(0xA0 | (count & 0x1F)));  // V=2, P=1
  out.bytes(payload);
  if (pad != 0) {
    out.zeros(pad - 1);
    out.u8(static_cast<uint8_t>(pad));
  }
}

}  // namespace tern::rtcp
