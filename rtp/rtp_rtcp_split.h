// The RFC 5761 (section 4) RTP/RTCP split on a shared port, the one place tern writes it: a
// datagram whose second byte (RTP's marker bit + payload type) is in 192..223 is RTCP (SR 200 ..
// XR 207 and the rest of that range, which RFC 5761 keeps free of RTP payload types 64..95).
// Used by the pipeline's receive paths and by transport::classify (RFC 7983), which adds the
// version and minimum-size checks this predicate leaves out.
#pragma once

#include <cstdint>
#include <span>

namespace tern::rtp {

// Needs two bytes; checks neither the version nor a minimum size.
constexpr bool is_rtcp(std::span<const uint8_t> datagram) {
  return datagram.size() >= 2 && datagram[1] >= 192 && datagram[1] <= 223;
}

}  // namespace tern::rtp
