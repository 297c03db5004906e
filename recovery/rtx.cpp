// RTX (RFC 4588) wrap and unwrap (see rtx.h).
#include "tern/recovery/rtx.h"

#include "tern/core/byte_io.h"
#include "tern/recovery/rtp_rewrite.h"

namespace tern::recovery {

Result<rtp::RtpPacket> build_rtx(const rtp::RtpPacket& original, uint32_t rtx_ssrc, uint8_t rtx_pt,
                                 uint16_t rtx_seq) {
  HeaderFields f = HeaderFields::Of(original);
  f.ssrc = rtx_ssrc;
  f.payload_type = rtx_pt;
  f.sequence_number = rtx_seq;
  uint8_t osn[2];
  store_be16(osn, original.sequence_number());
  return rewrite_packet(original, f, osn, original.payload(), {});
}

Result<rtp::RtpPacket> RtxReceiver::unwrap(const rtp::RtpPacket& rtx) {
  if (rtx.ssrc() != config_.rtx_ssrc) {
    ++stats_.rejected;
    return Error{"rtx: not the RTX SSRC"};
  }
  const auto mapped = config_.rtx_to_media_pt.find(rtx.payload_type());
  if (mapped == config_.rtx_to_media_pt.end()) {
    ++stats_.rejected;
    return Error{"rtx: payload type not mapped"};
  }
  const auto payload = rtx.payload();
  if (payload.size() < 2) {
    ++stats_.rejected;
    return Error{"rtx: no original sequence number"};
  }
  HeaderFields f = HeaderFields::Of(rtx);
  f.ssrc = config_.media_ssrc;
  f.payload_type = mapped->second;
  f.sequence_number = load_be16(payload.data());
  auto p = rewrite_packet(rtx, f, {}, payload.subspan(2), {});
  if (!p) {
    ++stats_.rejected;
    return p;
  }
  ++stats_.retransmitted_packets_received;
  stats_.retransmitted_bytes_received += rtx.size();
  return p;
}

}  // namespace tern::recovery
