// Protection masks for XOR forward error correction (RFC 5109 ULPFEC, RFC 8627 FlexFEC): which of
// k media packets each of m FEC packets covers.
//
// Two families, both generated here (not copied from any other implementation):
//  - kRandom: tuned for independent losses. For k <= 12 the columns come from a greedy search that
//    maximised, for each prefix of the group, the share of all m/2-loss patterns (over media AND
//    FEC packets) that an iterative XOR decoder recovers; every column is distinct where possible
//    and each media packet sits in 2-4 FEC packets. For m = 2 and 3 (where m/2 is one loss, which
//    any cover repairs) the search maximised two-loss patterns instead, then three: the earlier
//    plain interleave (each media packet in one FEC packet) recovered 53-60% (m = 2) and 70-75%
//    (m = 3) of two losses, these 71-80% and 91-100%. Larger groups use a two-class interleave.
//  - kBursty: additionally guarantees that any run of up to m consecutive media losses is
//    recovered (searched under that constraint for k <= 12; a plain interleave i mod m beyond).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tern::recovery {

enum class FecMaskType : uint8_t { kRandom, kBursty };

inline constexpr size_t kMaxFecMediaPackets = 48;  // ULPFEC long mask (L=1) limit

// m rows; bit i (LSB first) of row j set means FEC packet j protects media packet i of the group.
// 1 <= m <= k <= kMaxFecMediaPackets; out-of-range arguments are clamped into range. Every row is
// non-empty and every media packet is covered at least once.
std::vector<uint64_t> fec_packet_masks(size_t k, size_t m, FecMaskType type);

// Number of FEC packets for k media packets at protection factor fec_rate (0..255, 255 ~ 100%):
// round(k * rate / 256), at least 1 when rate > 0, at most k.
size_t fec_packet_count(size_t k, uint8_t fec_rate);

}  // namespace tern::recovery
