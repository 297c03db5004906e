// Fuzzes the compound RTCP walk and every packet parser behind it (RFC 3550 6.1): any input parses
// without crashing, and whatever parsed must rebuild into a compound that parses again without
// errors to the very same packets.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "tern/rtp/rtcp/rtcp_packet.h"

using namespace tern::rtcp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const CompoundParseResult first = parse_compound(std::span<const uint8_t>(data, size));
  if (first.packets.empty()) return 0;
  const std::vector<uint8_t> rebuilt = build_compound(first.packets);
  if (rebuilt.size() != compound_size(first.packets)) std::abort();
  const CompoundParseResult second = parse_compound(rebuilt);
  if (!second.errors.empty()) std::abort();
  if (second.packets != first.packets) std::abort();
  return 0;
}
