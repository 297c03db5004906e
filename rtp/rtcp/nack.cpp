// RFC 4585 6.2.1 Generic NACK parsing and PID/BLP packing.
#include "tern/rtp/rtcp/nack.h"

namespace tern::rtcp {
namespace {

// Greedy packing in list order: a number joins the current entry when it lies 1..16 after the PID
// (mod 2^16) and beyond the entry's last bit, so the parser's expansion reproduces the list exactly.
// Calls emit(pid, blp) per entry and stops after Nack::kMaxItems entries.
template <typename Emit>
size_t pack(const std::vector<uint16_t>& lost, Emit&& emit) {
  size_t items = 0;
  size_t i = 0;
  while (i < lost.size() && items < Nack::kMaxItems) {
    const uint16_t pid = lost[i++];
    uint16_t blp = 0;
    unsigned last_offset = 0;
    while (i < lost.size()) {
      const unsigned offset = static_cast<uint16_t>(lost[i] - pid);
      if (offset <= last_offset || offset > 16) break;
      blp = static_cast<uint16_t>(blp | (1u << (offset - 1)));
      last_offset = offset;
      ++i;
    }
    emit(pid, blp);
    ++items;
  }
  return items;
}

}  // namespace

Result<Nack> Nack::parse(const CommonHeader& header) {
  if (header.packet_type != kPacketType || header.count != kFormat) return Error{"rtcp nack: wrong type"};
  ByteReader in(header.payload);
  Nack nack;
  nack.sender_ssrc = in.u32();
  nack.media_ssrc = in.u32();
  if (!in.ok()) return Error{"rtcp nack: shorter than the feedback header"};
  if (in.remaining() == 0) return Error{"rtcp nack: no FCI entries"};
  if (in.remaining() % 4 != 0) return Error{"rtcp nack: FCI is not 32-bit aligned"};
  nack.lost.reserve(in.remaining() / 4 * 2);
  while (in.remaining() > 0) {
    const uint16_t pid = in.u16();
    const uint16_t blp = in.u16();
    nack.lost.push_back(pid);
    for (unsigned bit = 0; bit < 16; ++bit)
      if (blp & (1u << bit)) nack.lost.push_back(static_cast<uint16_t>(pid + bit + 1));
  }
  return nack;
}

size_t Nack::item_count() const {
  return pack(lost, [](uint16_t, uint16_t) {});
}

size_t Nack::size() const { return kCommonHeaderSize + 8 + 4 * item_count(); }

void Nack::write(ByteWriter& out) const {
  write_common_header(out, kFormat, kPacketType, 8 + 4 * item_count());
  out.u32(sender_ssrc);
  out.u32(media_ssrc);
  pack(lost, [&out](uint16_t pid, uint16_t blp) {
    out.u16(pid);
    out.u16(blp);
  });
}

}  // namespace tern::rtcp
