// Fuzzes the Opus depacketizer (RFC 7587 / RFC 6716 TOC): any input parses with a duration of
// 2.5..120 ms and the whole input as payload, or is rejected; packetizing it gives it back.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "tern/rtp/payload/opus_payload.h"

using namespace tern;
using namespace tern::rtp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  auto parsed = OpusDepacketizer::parse(in);
  if (parsed) {
    if (parsed->payload.size() != size || parsed->frame_count == 0 ||
        parsed->duration < TimeDelta::Micros(2500) || parsed->duration > TimeDelta::Millis(120))
      std::abort();
  }
  OpusPacketizer packetizer;
  const bool marker = size > 0 && (data[0] & 1);
  if (!packetizer.plan(in, OpusFrameInfo{marker}, PayloadLimits{.max_payload_size = 4096}).ok()) {
    if (size > 0 && size <= 4096) std::abort();
    return 0;
  }
  std::vector<uint8_t> out(packetizer.packet_size(0));
  auto n = packetizer.write(0, out);
  if (!n || *n != size || !std::equal(out.begin(), out.end(), data) || packetizer.marker(0) != marker) std::abort();
  return 0;
}
