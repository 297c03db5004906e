// RFC 5104 4.3.1 FIR parsing and serialization.
#include "tern/rtp/rtcp/fir.h"

#include <algorithm>

namespace tern::rtcp {

Result<Fir> Fir::parse(const CommonHeader& header) {
  if (header.packet_type != kPacketType || header.count != kFormat) return Error{"rtcp fir: wrong type"};
  ByteReader in(header.payload);
  Fir fir;
  fir.sender_ssrc = in.u32();
  fir.media_ssrc = in.u32();
  if (!in.ok()) return Error{"rtcp fir: shorter than the feedback header"};
  if (in.remaining() == 0) return Error{"rtcp fir: no FCI entries"};
  if (in.remaining() % 8 != 0) return Error{"rtcp fir: FCI entry cut short"};
  fir.entries.reserve(in.remaining() / 8);
  while (in.remaining() > 0) {
    FirEntry e;
    e.ssrc = in.u32();
    e.seq_nr = in.u8();
    in.skip(3);  // reserved
    fir.entries.push_back(e);
  }
  return fir;
}

size_t Fir::size() const { return kCommonHeaderSize + 8 + 8 * std::min(entries.size(), kMaxEntries); }

void Fir::write(ByteWriter& out) const {
  write_common_header(out, kFormat, kPacketType, size() - kCommonHeaderSize);
  out.u32(sender_ssrc);
  out.u32(media_ssrc);
  const size_t n = std::min(entries.size(), kMaxEntries);
  for (size_t i = 0; i < n; ++i) {
    out.u32(entries[i].ssrc);
    out.u8(entries[i].seq_nr);
    out.zeros(3);
  }
}

}  // namespace tern::rtcp
