// Fuzzes the VP8 depacketizer (RFC 7741): any input parses into a payload view that ends where the
// input ends, or is rejected. The input also drives a packetizer plan (frame size and limits from
// the first bytes), whose packets must parse back and reassemble to the same frame.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "tern/rtp/payload/frame_assembler.h"
#include "tern/rtp/payload/vp8_payload.h"

using namespace tern::rtp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  auto parsed = Vp8Depacketizer::parse(in);
  unsigned sum = 0;
  if (parsed) {
    if (parsed->payload.empty() || parsed->payload.data() + parsed->payload.size() != data + size) std::abort();
    for (uint8_t b : parsed->payload) sum += b;
    // The parsed descriptor must write back to the bytes it came from (reserved bits aside).
    std::vector<uint8_t> again(parsed->descriptor.size());
    if (!parsed->descriptor.validate() || parsed->descriptor.write(again) != again.size()) std::abort();
    // X=1 with an all-zero extension byte is legal but not how it is re-written, hence <=.
    if (again.size() > size - parsed->payload.size()) std::abort();
  }
  if (size < 4) return 0;
  const size_t mtu = 7 + (size_t{data[0]} << 3 | data[1] >> 5);
  Vp8Descriptor info;
  if (data[1] & 1) info.tl0_pic_idx = data[2];
  if (data[1] & 2) info.temporal_id = data[2] & 3;
  if (data[1] & 4) info.key_idx = data[3] & 31;
  const std::span<const uint8_t> frame = in.subspan(4);
  Vp8Packetizer packetizer;
  if (!packetizer.plan(frame, info, PayloadLimits{.max_payload_size = mtu}).ok()) {
    if (!frame.empty() && frame.size() <= FragmentPlan::kMaxFragments) std::abort();
    return 0;
  }
  std::vector<std::vector<uint8_t>> packets(packetizer.num_packets());
  for (size_t i = 0; i < packets.size(); ++i) {
    packets[i].resize(packetizer.packet_size(i));
    auto n = packetizer.write(i, packets[i]);
    if (!n || *n != packets[i].size() || packets[i].size() > mtu) std::abort();
  }
  std::vector<std::span<const uint8_t>> parts(packets.begin(), packets.end());
  auto joined = assemble_frame<Vp8Depacketizer>(parts);
  if (!joined || joined->size() != frame.size() || !std::equal(frame.begin(), frame.end(), joined->begin()))
    std::abort();
  return static_cast<int>(sum & 0);
}
