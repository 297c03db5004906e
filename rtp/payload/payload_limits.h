// Size limits a packetizer plans against, and the balanced fragment split shared by every video
// payload format (RFC 7741 section 4.4 and RFC 9628 section 4.4 both ask for fragments of even
// size rather than full packets followed by a runt).
//
// The reductions mirror libwebrtc's RtpPacketizer::PayloadSizeLimits: room the caller keeps free
// in the first, last or only packet of a frame for header extensions that only those carry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tern/core/result.h"

namespace tern::rtp {

struct PayloadLimits {
  size_t max_payload_size = 1200;     // RTP payload bytes per packet (payload header included)
  size_t first_packet_reduction = 0;  // bytes to keep free in the first of several packets
  size_t last_packet_reduction = 0;   // bytes to keep free in the last of several packets
  size_t single_packet_reduction = 0; // bytes to keep free when the frame fits in one packet
};

// Fragment boundaries of one frame. Memory: one vector of offsets, reused across plans, never
// more than kMaxFragments + 1 entries (plans needing more are refused).
class FragmentPlan {
 public:
  static constexpr size_t kMaxFragments = 16384;

  // Splits `length` bytes (> 0) into the fewest fragments that fit `limits` such that every
  // packet's occupancy (fragment + its reduction) differs from the others by at most one byte,
  // except that a fragment is never smaller than 1 byte. Fails when a packet cannot hold a byte.
  Status plan(size_t length, const PayloadLimits& limits);

  size_t count() const { return offsets_.empty() ? 0 : offsets_.size() - 1; }
  size_t offset(size_t i) const { return offsets_[i]; }
  size_t size(size_t i) const { return offsets_[i + 1] - offsets_[i]; }
  void clear() { offsets_.clear(); }

 private:
  std::vector<uint32_t> offsets_;  // count() + 1 entries; last is the frame length
};

}  // namespace tern::rtp
