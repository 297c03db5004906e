// RFC 3611 XR parsing and serialization (RRTR and DLRR interpreted, other blocks raw).
#include "tern/rtp/rtcp/extended_reports.h"

namespace tern::rtcp {
namespace {
constexpr size_t kBlockHeaderSize = 4;
size_t padded(size_t n) { return (n + 3) & ~size_t{3}; }
}  // namespace

Result<ExtendedReports> ExtendedReports::parse(const CommonHeader& header) {
  if (header.packet_type != kPacketType) return Error{"rtcp xr: wrong packet type"};
  ByteReader in(header.payload);
  ExtendedReports xr;
  xr.sender_ssrc = in.u32();
  if (!in.ok()) return Error{"rtcp xr: shorter than the sender SSRC"};
  // Every block consumes at least 4 bytes, so the loop is bounded by the payload size.
  while (in.remaining() > 0) {
    const uint8_t block_type = in.u8();
    const uint8_t type_specific = in.u8();
    const size_t words = in.u16();
    if (!in.ok()) return Error{"rtcp xr: block header cut short"};
    const auto body = in.bytes(words * 4);
    if (!in.ok()) return Error{"rtcp xr: block runs past the end"};
    if (block_type == kRrtrBlockType) {
      if (words != 2) return Error{"rtcp xr: RRTR block length is not 2"};
      if (!xr.rrtr) xr.rrtr = NtpTime(load_be64(body.data()));
    } else if (block_type == kDlrrBlockType) {
      if (words % 3 != 0) return Error{"rtcp xr: DLRR block length is not a multiple of 3"};
      for (size_t i = 0; i < body.size(); i += 12)
        xr.dlrr.push_back(DlrrItem{load_be32(&body[i]), load_be32(&body[i + 4]), load_be32(&body[i + 8])});
    } else {
      xr.other_blocks.push_back(XrBlock{block_type, type_specific, std::vector<uint8_t>(body.begin(), body.end())});
    }
  }
  return xr;
}

size_t ExtendedReports::size() const {
  size_t total = kCommonHeaderSize + 4;
  if (rrtr) total += kBlockHeaderSize + 8;
  if (!dlrr.empty()) total += kBlockHeaderSize + 12 * dlrr.size();
  for (const XrBlock& b : other_blocks) total += kBlockHeaderSize + padded(b.data.size());
  return total;
}

void ExtendedReports::write(ByteWriter& out) const {
  write_common_header(out, 0, kPacketType, size() - kCommonHeaderSize);
  out.u32(sender_ssrc);
  if (rrtr) {
    out.u8(kRrtrBlockType);
    out.u8(0);
    out.u16(2);
    out.u64(rrtr->value());
  }
  if (!dlrr.empty()) {
    out.u8(kDlrrBlockType);
    out.u8(0);
    out.u16(static_cast<uint16_t>(3 * dlrr.size()));
    for (const DlrrItem& item : dlrr) {
      out.u32(item.ssrc);
      out.u32(item.last_rr);
      out.u32(item.delay_since_last_rr);
    }
  }
  for (const XrBlock& b : other_blocks) {
    out.u8(b.block_type);
    out.u8(b.type_specific);
    out.u16(static_cast<uint16_t>(padded(b.data.size()) / 4));
    out.bytes(b.data);
    out.zeros(padded(b.data.size()) - b.data.size());
  }
}

}  // namespace tern::rtcp
