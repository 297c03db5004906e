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

#include <array>
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

// What a group's masks cannot repair. XOR parity is not an erasure code that repairs any m
// losses: with k = 5 and m = 3 (the masks above), 2% independent loss leaves a media packet lost in
// one group in 2000, where "at most m of the k + m packets lost" promises one in 100 000.
// counts[s] is how many of the patterns of exactly s lost packets, among the group's k media and m
// FEC packets, leave a media packet lost after iterative recovery (fec_packet_masks(k, m, type));
// s = 0..kMaxCountedLosses. Cost: every such pattern is decoded, C(k + m, 4) = 35 960 at
// k + m = 32; groups of more than kMaxFourLossPackets packets count up to three losses only
// (C(96, 3) = 142 880), and their counts[4] is C(k + m, 4) (all taken as lost).
inline constexpr size_t kMaxCountedLosses = 4;
inline constexpr size_t kMaxFourLossPackets = 40;
using UnrecoverablePatterns = std::array<uint64_t, kMaxCountedLosses + 1>;
UnrecoverablePatterns unrecoverable_patterns(size_t k, size_t m, FecMaskType type);

// The probability that a group of k + m packets, each lost independently with probability `loss`
// (clamped to [0, 1]), keeps a media packet lost: exact over `counts` (from unrecoverable_patterns
// for the same k, m), with every pattern of more than kMaxCountedLosses losses taken as lost, so an
// upper bound by at most P(more than four lost) (2.2e-5 for 18 packets at 2%).
double residual_group_loss(size_t k, size_t m, const UnrecoverablePatterns& counts, double loss);

}  // namespace tern::recovery
