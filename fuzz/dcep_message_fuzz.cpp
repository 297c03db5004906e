// Fuzzes the DCEP parser (RFC 8832): what a peer puts on a stream with PPID 50 reaches
// DcepOpen::Parse as is. Any bytes are parsed or refused, never crash, and a parsed OPEN
// serializes back to the same bytes (the association's garbage handling is in tests/sctp).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "tern/sctp/dcep_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tern::sctp;
  const std::span<const uint8_t> input(data, size);
  (void)dcep_message_type(input);  // a plain accessor: nothing to count
  auto open = DcepOpen::Parse(input);
  if (!open.ok()) return 0;
  const auto bytes = open->serialize();
  // Parse is strict (exact lengths, known types), so a parsed message re-serializes identically
  // except for the reliability parameter of a reliable channel, which Parse clears.
  auto again = DcepOpen::Parse(bytes);
  if (!again.ok() || !(*again == *open)) std::abort();
  if (open->reliability != Reliability::kReliable &&
      (bytes.size() != size || !std::equal(bytes.begin(), bytes.end(), data))) {
    std::abort();
  }
  return 0;
}
