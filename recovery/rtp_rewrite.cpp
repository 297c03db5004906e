// Header-preserving packet rewrite (see rtp_rewrite.h).
#include "tern/recovery/rtp_rewrite.h"

#include <cstddef>
#include <vector>

#include "tern/core/byte_io.h"

namespace tern::recovery {

std::span<const uint8_t> padding_of(const rtp::RtpPacket& p) {
  return p.data().subspan(p.data().size() - p.padding_size());
}

Result<rtp::RtpPacket> rewrite_packet(const rtp::RtpPacket& src, const HeaderFields& f,
                                      std::span<const uint8_t> prefix,
                                      std::span<const uint8_t> payload,
                                      std::span<const uint8_t> padding) {
  const size_t header = src.header().header_size;
  const size_t total = header + prefix.size() + payload.size() + padding.size();
  if (total > rtp::kMaxRtpPacketSize) return Error{"rtp rewrite: packet too large"};
  std::vector<uint8_t> bytes;
  bytes.reserve(total);
  bytes.insert(bytes.end(), src.data().begin(), src.data().begin() + static_cast<ptrdiff_t>(header));
  bytes.insert(bytes.end(), prefix.begin(), prefix.end());
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  bytes.insert(bytes.end(), padding.begin(), padding.end());
  bytes[0] = static_cast<uint8_t>(padding.empty() ? (bytes[0] & ~0x20) : (bytes[0] | 0x20));
  bytes[1] = static_cast<uint8_t>((f.marker ? 0x80 : 0) | (f.payload_type & 0x7F));
  store_be16(&bytes[2], f.sequence_number);
  store_be32(&bytes[4], f.timestamp);
  store_be32(&bytes[8], f.ssrc);
  return rtp::RtpPacket::parse(std::move(bytes));
}

}  // namespace tern::recovery
