// RTP retransmission payload format (RFC 4588, section 4): an RTX packet carries the original
// packet's payload behind a 2-byte original sequence number (OSN), on the RTX stream's own SSRC,
// payload type and sequence numbers. CSRCs and header extensions are copied; padding is not.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                         RTP Header                            |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |            OSN                |                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
//   |                  Original RTP Packet Payload                  |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#pragma once

#include <map>
#include <cstdint>
#include <optional>

#include "tern/core/result.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::recovery {

// Builds the RTX packet for `original` (marker and timestamp kept).
Result<rtp::RtpPacket> build_rtx(const rtp::RtpPacket& original, uint32_t rtx_ssrc, uint8_t rtx_pt,
                                 uint16_t rtx_seq);

// Receive side: turns RTX packets back into the original stream's packets.
class RtxReceiver {
 public:
  struct Config {
    uint32_t rtx_ssrc = 0;
    uint32_t media_ssrc = 0;
    // rtx payload type -> media payload type (SDP a=fmtp:<rtx> apt=<media>).
    std::map<uint8_t, uint8_t> rtx_to_media_pt;
  };
  struct Stats {
    uint64_t retransmitted_packets_received = 0;
    uint64_t retransmitted_bytes_received = 0;  // RTX packet sizes
    uint64_t rejected = 0;                      // wrong SSRC, unmapped PT, no OSN
  };

  explicit RtxReceiver(Config config) : config_(config) {}
  void map_payload_type(uint8_t rtx_pt, uint8_t media_pt) { config_.rtx_to_media_pt[rtx_pt & 0x7F] = media_pt & 0x7F; }

  // The original packet restored (OSN, media SSRC and payload type); an error for packets of
  // another SSRC, unmapped payload types and RTX packets too short to hold an OSN (padding-only
  // probes, which carry nothing to restore).
  Result<rtp::RtpPacket> unwrap(const rtp::RtpPacket& rtx);
  const Stats& stats() const { return stats_; }

 private:
  Config config_;
  Stats stats_;
};

}  // namespace tern::recovery
