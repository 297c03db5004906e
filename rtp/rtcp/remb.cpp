// draft-alvestrand-rmcat-remb REMB parsing and the mantissa/exponent rate encoding.
#include "tern/rtp/rtcp/remb.h"

#include <algorithm>
#include <limits>

namespace tern::rtcp {
namespace {
constexpr uint32_t kRembId = 0x52454D42;  // "REMB"
constexpr uint32_t kMaxMantissa = (1u << 18) - 1;
}  // namespace

bool Remb::is_remb(std::span<const uint8_t> payload) {
  return payload.size() >= 12 && load_be32(&payload[8]) == kRembId;
}

Remb::Encoded Remb::Encode(DataRate rate) {
  uint64_t bps = 0;
  if (rate.is_plus_infinity()) bps = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  else if (rate.bps() > 0) bps = static_cast<uint64_t>(rate.bps());
  Encoded e;
  while ((bps >> e.exponent) > kMaxMantissa) ++e.exponent;  // at most 46 steps for a 63-bit value
  e.mantissa = static_cast<uint32_t>(bps >> e.exponent);
  return e;
}

Result<Remb> Remb::parse(const CommonHeader& header) {
  if (header.packet_type != kPacketType || header.count != kFormat) return Error{"rtcp remb: wrong type"};
  if (!is_remb(header.payload)) return Error{"rtcp remb: no REMB identifier"};
  ByteReader in(header.payload);
  Remb remb;
  remb.sender_ssrc = in.u32();
  remb.media_ssrc = in.u32();
  in.skip(4);  // "REMB"
  const uint8_t num_ssrc = in.u8();
  const uint32_t exp_mantissa = in.u24();
  if (!in.ok()) return Error{"rtcp remb: shorter than the REMB header"};
  const unsigned exponent = exp_mantissa >> 18;
  const uint64_t mantissa = exp_mantissa & kMaxMantissa;
  if (mantissa != 0 && mantissa > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) >> exponent))
    return Error{"rtcp remb: bitrate overflows"};
  remb.bitrate = DataRate::BitsPerSec(static_cast<int64_t>(mantissa << exponent));
  if (!in.has(size_t{num_ssrc} * 4)) return Error{"rtcp remb: SSRC list past the end"};
  remb.ssrcs.reserve(num_ssrc);
  for (uint8_t i = 0; i < num_ssrc; ++i) remb.ssrcs.push_back(in.u32());
  return remb;
}

size_t Remb::size() const { return kCommonHeaderSize + 16 + 4 * std::min(ssrcs.size(), kMaxSsrcs); }

void Remb::write(ByteWriter& out) const {
  const size_t n = std::min(ssrcs.size(), kMaxSsrcs);
  write_common_header(out, kFormat, kPacketType, size() - kCommonHeaderSize);
  out.u32(sender_ssrc);
  out.u32(media_ssrc);
  out.u32(kRembId);
  const Encoded e = Encode(bitrate);
  out.u8(static_cast<uint8_t>(n));
  out.u24((uint32_t{e.exponent} << 18) | e.mantissa);
  for (size_t i = 0; i < n; ++i) out.u32(ssrcs[i]);
}

}  // namespace tern::rtcp
