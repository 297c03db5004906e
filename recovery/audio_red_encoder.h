// Audio RED sender (RFC 2198, as used for Opus in WebRTC, RFC 2198 + draft "Opus RED"): each
// outgoing packet carries the payloads of the 1 or 2 previous packets as redundant blocks ahead of
// its own, so a single (or double) loss is repaired by the next packet without a round trip.
//
// A previous payload is only carried if it fits the format (timestamp offset < 2^14, length
// < 2^10) and the packet stays under max_packet_size; only the most recent consecutive packets are
// used (the first that does not fit, or a sequence gap, ends the redundancy), so the receiver can
// number redundant blocks as seq - 1, seq - 2 (see decode_red()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "tern/core/result.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::recovery {

class AudioRedEncoder {
 public:
  struct Config {
    uint8_t red_payload_type = 63;
    size_t generations = 2;         // 1 or 2
    size_t max_packet_size = 1200;  // bytes, whole RTP packet
  };
  struct Stats {
    uint64_t packets = 0;
    uint64_t redundant_blocks = 0;
    uint64_t skipped_blocks = 0;  // previous payloads that did not fit
  };

  // Rejects generations outside 1..2 and a max_packet_size under 64.
  static Result<AudioRedEncoder> Create(Config config);

  // The RED packet for `primary` (same header fields, RED payload type); remembers its payload for
  // the following packets.
  Result<rtp::RtpPacket> encode(const rtp::RtpPacket& primary);
  const Stats& stats() const { return stats_; }

 private:
  struct Previous {
    uint16_t seq;
    uint32_t timestamp;
    uint8_t payload_type;
    std::vector<uint8_t> payload;
  };
  explicit AudioRedEncoder(Config config) : config_(config) {}

  Config config_;
  std::deque<Previous> history_;  // newest last, at most `generations`
  Stats stats_;
};

}  // namespace tern::recovery
