// Fuzzes the NACK generator (recovery/nack_generator.h) with what a hostile or broken sender controls:
// any sequence of sequence numbers (jumps, wraps, duplicates, reordering), keyframe flags, arrival
// kinds, RTT reports, clear_up_to() and time steps. Each record is
//   [seq lo][seq hi][flags][time step x 1 ms]
// flags: bit 0 keyframe, bits 1-2 arrival kind, bit 3 process(), bit 4 on_rtt(step x 7 ms),
// bit 5 clear_up_to(seq), bit 6 forget_between(seq - time step, seq). Invariants: the list never exceeds max_list_size; process() returns
// distinct sequence numbers in ascending wrap-aware order, never one just received and never more
// than the list held; next_wakeup() is absent exactly when the list is empty; forget_between()
// never grows the list.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>

#include "tern/recovery/nack_generator.h"

using namespace tern;
using namespace tern::recovery;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  NackGeneratorConfig config;
  config.max_list_size = 64;
  config.max_retries = 3;
  config.max_packet_age = 500;
  NackGenerator generator(config);
  Timestamp now = Timestamp::Seconds(1);
  for (size_t pos = 0; pos + 4 <= size; pos += 4) {
    const uint16_t seq = static_cast<uint16_t>(data[pos] | (data[pos + 1] << 8));
    const uint8_t flags = data[pos + 2];
    now = now + TimeDelta::Millis(data[pos + 3]);
    const auto arrival = static_cast<PacketArrival>(((flags >> 1) & 3) % 3);
    generator.on_packet(seq, flags & 1, arrival, now);
    if (flags & 0x10) generator.on_rtt(TimeDelta::Millis(data[pos + 3] * 7));
    if (flags & 0x20) generator.clear_up_to(seq);
    if (flags & 0x40) {
      const size_t before = generator.size();
      generator.forget_between(static_cast<uint16_t>(seq - data[pos + 3]), seq);
      if (generator.size() > before) std::abort();
    }
    if (generator.size() > config.max_list_size) std::abort();
    if (generator.next_wakeup().has_value() != (generator.size() > 0)) std::abort();
    if (flags & 0x08) {
      const size_t before = generator.size();
      const std::vector<uint16_t> lost = generator.process(now);
      if (lost.size() > before) std::abort();
      std::set<uint16_t> seen;
      for (size_t i = 0; i < lost.size(); ++i) {
        if (!seen.insert(lost[i]).second) std::abort();
        if (lost[i] == seq && !(flags & 0x20)) std::abort();  // just received: not missing
        // Ascending in wrap-aware order: each step forward by less than half the number space.
        if (i > 0 && static_cast<uint16_t>(lost[i] - lost[i - 1]) >= 0x8000) std::abort();
      }
    }
  }
  return 0;
}
