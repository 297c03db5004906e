// Fuzzes the VP9 depacketizer (RFC 9628), scalability structure included: any input parses into a
// payload view that ends where the input ends and whose descriptor writes back to the same number
// of bytes, or is rejected. The input also drives a packetizer plan whose packets must parse back
// and rejoin to the frame.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "tern/rtp/payload/vp9_payload.h"

using namespace tern::rtp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  auto parsed = Vp9Depacketizer::parse(in);
  unsigned sum = 0;
  Vp9FrameInfo info;
  if (parsed) {
    if (parsed->payload.empty() || parsed->payload.data() + parsed->payload.size() != data + size) std::abort();
    for (uint8_t b : parsed->payload) sum += b;
    const Vp9Descriptor& d = parsed->descriptor;
    if (d.size() != size - parsed->payload.size()) std::abort();
    // Reuse a valid parsed descriptor as the frame info of the packetizing half.
    if (d.validate().ok()) info.descriptor = d;
  }
  if (size < 2) return 0;
  const size_t ss_size = info.descriptor.ss ? info.descriptor.ss->size() : 0;
  const size_t mtu = 12 + ss_size + (size_t{data[0]} << 2 | data[1] >> 6);
  Vp9Packetizer packetizer;
  const std::span<const uint8_t> frame = in.subspan(1);
  if (!packetizer.plan(frame, info, PayloadLimits{.max_payload_size = mtu}).ok()) return 0;
  std::vector<uint8_t> joined;
  std::vector<uint8_t> packet;
  for (size_t i = 0; i < packetizer.num_packets(); ++i) {
    packet.assign(packetizer.packet_size(i), 0);
    auto n = packetizer.write(i, packet);
    if (!n || packet.size() > mtu) std::abort();
    auto back = Vp9Depacketizer::parse(packet);
    if (!back || back->descriptor.start_of_frame != (i == 0) ||
        back->descriptor.end_of_frame != (i + 1 == packetizer.num_packets()))
      std::abort();
    joined.insert(joined.end(), back->payload.begin(), back->payload.end());
  }
  if (joined.size() != frame.size() || !std::equal(frame.begin(), frame.end(), joined.begin())) std::abort();
  return static_cast<int>(sum & 0);
}
