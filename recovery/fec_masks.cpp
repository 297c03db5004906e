// Mask tables and rules for fec_masks.h. The per-m column tables below were produced by a greedy
// search (see fec_masks.h); column i is the set of FEC packets (bit j = FEC j) covering media i,
// and the table for (k, m) is the first k columns of row m.
#include "tern/recovery/fec_masks.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>

namespace tern::recovery {
namespace {

constexpr size_t kTableMax = 12;
using Columns = std::array<uint16_t, kTableMax>;

constexpr std::array<Columns, kTableMax> kRandomColumns = {{
    {0x1, 0x1, 0x1, 0x1, 0x1, 0x1, 0x1, 0x1, 0x1, 0x1, 0x1, 0x1},
    {0x3, 0x1, 0x2, 0x3, 0x1, 0x2, 0x3, 0x1, 0x2, 0x3, 0x1, 0x2},
    {0x7, 0x3, 0x5, 0x6, 0x1, 0x2, 0x4, 0x3, 0x5, 0x6, 0x7, 0x1},
    {0x3, 0xc, 0x5, 0xa, 0x6, 0x9, 0x7, 0xb, 0xd, 0xe, 0xf, 0x1},
    {0x3, 0xc, 0x11, 0x6, 0x18, 0x5, 0xa, 0x12, 0x9, 0x14, 0x7, 0x19},
    {0x7, 0x38, 0xb, 0x34, 0x13, 0x25, 0x2a, 0x1c, 0xd, 0x32, 0x16, 0x29},
    {0x7, 0x38, 0x43, 0x1c, 0x61, 0xe, 0x70, 0x13, 0x4c, 0x25, 0x2a, 0x19},
    {0xf, 0xf0, 0x33, 0x5c, 0xa5, 0x4a, 0x91, 0x26, 0xc8, 0x1a, 0xc4, 0x2a},
    {0xf, 0xf0, 0x113, 0x6c, 0x185, 0x3a, 0x1c2, 0xa9, 0x150, 0x26, 0xc4, 0x19},
    {0xf, 0xf0, 0x303, 0x3c, 0x1c1, 0x216, 0x168, 0x285, 0x5a, 0x3a0, 0x43, 0x224},
    {0xf, 0xf0, 0x701, 0x36, 0x1c8, 0x612, 0x65, 0x28a, 0x390, 0x423, 0x154, 0x50c},
    {0xf, 0xf0, 0xf00, 0x113, 0x22c, 0x4c1, 0x846, 0x584, 0x960, 0x618, 0xaa, 0x350},
}};

constexpr std::array<Columns, kTableMax> kBurstyColumns = {{
    {0x1, 0x1, 0x1, 0x1, 0x1, 0x1, 0x1, 0x1, 0x1, 0x1, 0x1, 0x1},
    {0x1, 0x2, 0x1, 0x2, 0x1, 0x2, 0x1, 0x2, 0x1, 0x2, 0x1, 0x2},
    {0x1, 0x2, 0x4, 0x1, 0x2, 0x4, 0x1, 0x2, 0x4, 0x1, 0x2, 0x4},
    {0x3, 0xc, 0x5, 0x2, 0xa, 0x9, 0x6, 0x1, 0xd, 0x4, 0xb, 0x8},
    {0x3, 0xc, 0x11, 0x6, 0x8, 0x12, 0x9, 0x5, 0x14, 0x2, 0xa, 0x18},
    {0x7, 0x38, 0xb, 0x15, 0x6, 0x2, 0xc, 0x31, 0x1a, 0x2e, 0x12, 0x10},
    {0x7, 0x38, 0x43, 0x1c, 0x25, 0x28, 0x8, 0x51, 0x29, 0x16, 0x64, 0x49},
    {0xf, 0xf0, 0x33, 0x5c, 0x25, 0x29, 0x5, 0x4, 0x68, 0x9e, 0xc1, 0xa2},
    {0xf, 0xf0, 0x113, 0x6c, 0x95, 0xa8, 0x38, 0x88, 0x80, 0x145, 0x31, 0xe2},
    {0x1f, 0x3e0, 0x67, 0x18b, 0xb3, 0x4d, 0x51, 0x15, 0x5, 0x1, 0x29, 0x292},
    {0x1f, 0x3e0, 0x427, 0x1d8, 0x24b, 0xf1, 0x388, 0x190, 0x290, 0x180, 0x80, 0x48b},
    {0x3f, 0xfc0, 0x1c7, 0x259, 0x58a, 0x98c, 0x581, 0x982, 0x881, 0x83, 0x880, 0x80},
}};

}  // namespace

size_t fec_packet_count(size_t k, uint8_t fec_rate) {
  if (k == 0 || fec_rate == 0) return 0;
  size_t m = (k * fec_rate + 128) >> 8;
  return std::clamp<size_t>(m, 1, k);
}

std::vector<uint64_t> fec_packet_masks(size_t k, size_t m, FecMaskType type) {
  k = std::clamp<size_t>(k, 1, kMaxFecMediaPackets);
  m = std::clamp<size_t>(m, 1, k);
  std::vector<uint64_t> rows(m, 0);
  if (k <= kTableMax) {
    const Columns& cols = (type == FecMaskType::kRandom ? kRandomColumns : kBurstyColumns)[m - 1];
    for (size_t i = 0; i < k; ++i) {
      for (size_t j = 0; j < m; ++j) {
        if ((cols[i] >> j) & 1) rows[j] |= uint64_t{1} << i;
      }
    }
  } else {
    // Interleave: media i sits in FEC (i mod m), so a burst of up to m losses hits each FEC once.
    // Random masks add a second FEC ((i / m + i + 1) mod m) so that two losses in one class can
    // still be peeled apart.
    for (size_t i = 0; i < k; ++i) {
      rows[i % m] |= uint64_t{1} << i;
      if (type == FecMaskType::kRandom && m > 1) rows[(i / m + i + 1) % m] |= uint64_t{1} << i;
    }
  }
  // A table prefix may leave a row empty when k < m is never the case here (m <= k), but guard
  // anyway: an empty FEC packet would be pure overhead, so give it the media packet it would
  // cover in a plain interleave.
  for (size_t j = 0; j < m; ++j) {
    if (rows[j] == 0) rows[j] = uint64_t{1} << (j % k);
  }
  return rows;
}

namespace {

// Whether iterative recovery leaves a media packet lost: `lost` media packets (bit i), FEC packets
// `fec_lost` (bit j) gone. Each pass repairs every packet that a surviving FEC packet misses alone.
bool stays_lost(const std::vector<uint64_t>& rows, uint64_t lost, uint64_t fec_lost) {
  bool progress = true;
  while (lost != 0 && progress) {
    progress = false;
    for (size_t j = 0; j < rows.size(); ++j) {
      if ((fec_lost >> j) & 1) continue;
      const uint64_t missing = rows[j] & lost;
      if (std::has_single_bit(missing)) {
        lost &= ~missing;
        progress = true;
      }
    }
  }
  return lost != 0;
}

}  // namespace

UnrecoverablePatterns unrecoverable_patterns(size_t k, size_t m, FecMaskType type) {
  k = std::clamp<size_t>(k, 1, kMaxFecMediaPackets);
  m = std::clamp<size_t>(m, 1, k);
  const std::vector<uint64_t> rows = fec_packet_masks(k, m, type);
  const size_t n = k + m;
  const size_t deepest = n > kMaxFourLossPackets ? kMaxCountedLosses - 1 : kMaxCountedLosses;
  UnrecoverablePatterns counts{};
  // Positions 0..k-1 are media packets, k..n-1 FEC packets; every set of up to `deepest`
  // positions, in increasing order.
  std::array<size_t, kMaxCountedLosses> at{};
  for (size_t s = 1; s <= deepest && s <= n; ++s) {
    for (size_t i = 0; i < s; ++i) at[i] = i;
    while (true) {
      uint64_t lost = 0, fec_lost = 0;
      for (size_t i = 0; i < s; ++i) {
        if (at[i] < k) lost |= uint64_t{1} << at[i];
        else fec_lost |= uint64_t{1} << (at[i] - k);
      }
      if (lost != 0 && stays_lost(rows, lost, fec_lost)) ++counts[s];
      // Next set: the last position that can still move moves, the ones after it follow it.
      size_t i = s;
      while (i > 0 && at[i - 1] == n - s + (i - 1)) --i;
      if (i == 0) break;
      ++at[i - 1];
      for (size_t t = i; t < s; ++t) at[t] = at[t - 1] + 1;
    }
  }
  if (deepest < kMaxCountedLosses) {
    // Not decoded: every pattern of four losses counts as lost.
    double all = 1;
    for (size_t i = 0; i < kMaxCountedLosses; ++i) all = all * static_cast<double>(n - i) / static_cast<double>(i + 1);
    counts[kMaxCountedLosses] = static_cast<uint64_t>(std::llround(all));
  }
  return counts;
}

double residual_group_loss(size_t k, size_t m, const UnrecoverablePatterns& counts, double loss) {
  k = std::clamp<size_t>(k, 1, kMaxFecMediaPackets);
  m = std::clamp<size_t>(m, 1, k);
  const double p = std::isnan(loss) ? 0.0 : std::clamp(loss, 0.0, 1.0);
  const size_t n = k + m;
  // P(exactly s lost) for one pattern of s, summed over the counted patterns; the binomial
  // probability of s losses is accumulated to bound the uncounted tail.
  double residual = 0.0, counted = 0.0, choose = 1.0;
  for (size_t s = 0; s <= kMaxCountedLosses && s <= n; ++s) {
    if (s > 0) choose = choose * static_cast<double>(n - s + 1) / static_cast<double>(s);
    const double one = std::pow(p, static_cast<double>(s)) * std::pow(1.0 - p, static_cast<double>(n - s));
    residual += static_cast<double>(counts[s]) * one;
    counted += choose * one;
  }
  return std::clamp(residual + std::max(0.0, 1.0 - counted), 0.0, 1.0);
}

}  // namespace tern::recovery
