// XOR parity for ULPFEC/FlexFEC (see fec_xor.h).
#include "tern/recovery/fec_xor.h"

#include <algorithm>

#include "tern/core/byte_io.h"

namespace tern::recovery {

void XorParity::add(std::span<const uint8_t> p) {
  if (p.size() < rtp::kFixedHeaderSize) return;
  bits ^= static_cast<uint8_t>(p[0] & 0x3F);
  marker_pt ^= p[1];
  timestamp ^= load_be32(&p[4]);
  const size_t body = p.size() - rtp::kFixedHeaderSize;
  length ^= static_cast<uint16_t>(body);
  if (payload.size() < body) payload.resize(body, 0);
  const uint8_t* src = p.data() + rtp::kFixedHeaderSize;
  uint8_t* dst = payload.data();
  for (size_t i = 0; i < body; ++i) dst[i] ^= src[i];
}

XorParity compute_parity(std::span<const rtp::RtpPacket* const> packets) {
  XorParity parity;
  size_t longest = 0;
  for (const rtp::RtpPacket* p : packets) longest = std::max(longest, p->size());
  parity.payload.reserve(longest > rtp::kFixedHeaderSize ? longest - rtp::kFixedHeaderSize : 0);
  for (const rtp::RtpPacket* p : packets) parity.add(p->data());
  return parity;
}

Result<rtp::RtpPacket> rebuild_from_parity(const XorParity& residual, uint16_t sequence_number,
                                           uint32_t ssrc) {
  if (residual.length > residual.payload.size()) return Error{"fec: recovered length exceeds the FEC payload"};
  std::vector<uint8_t> bytes(rtp::kFixedHeaderSize + residual.length);
  bytes[0] = static_cast<uint8_t>(0x80 | (residual.bits & 0x3F));
  bytes[1] = residual.marker_pt;
  store_be16(&bytes[2], sequence_number);
  store_be32(&bytes[4], residual.timestamp);
  store_be32(&bytes[8], ssrc);
  std::copy_n(residual.payload.begin(), residual.length, bytes.begin() + rtp::kFixedHeaderSize);
  auto packet = rtp::RtpPacket::parse(std::move(bytes));
  if (!packet) return Error{"fec: recovered bytes are not a valid RTP packet"};
  return packet;
}

}  // namespace tern::recovery
