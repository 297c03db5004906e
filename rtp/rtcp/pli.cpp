// RFC 4585 6.3.1 PLI parsing and serialization.
#include "tern/rtp/rtcp/pli.h"

namespace tern::rtcp {

Result<Pli> Pli::parse(const CommonHeader& header) {
  if (header.packet_type != kPacketType || header.count != kFormat) return Error{"rtcp pli: wrong type"};
  ByteReader in(header.payload);
  Pli pli;
  pli.sender_ssrc = in.u32();
  pli.media_ssrc = in.u32();
  if (!in.ok()) return Error{"rtcp pli: shorter than the feedback header"};
  return pli;
}

void Pli::write(ByteWriter& out) const {
  write_common_header(out, kFormat, kPacketType, 8);
  out.u32(sender_ssrc);
  out.u32(media_ssrc);
}

}  // namespace tern::rtcp
