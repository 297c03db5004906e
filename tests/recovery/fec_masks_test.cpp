#include "tern/recovery/fec_masks.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <vector>

using namespace tern::recovery;

namespace {

// Iterative XOR decoding over masks: lost bits 0..k-1 are media, k..k+m-1 FEC packets. The same
// peeling rule FecWindow applies (a FEC packet with exactly one missing media packet repairs it).
bool peel(size_t k, const std::vector<uint64_t>& rows, uint64_t lost) {
  uint64_t missing = lost & ((uint64_t{1} << k) - 1);
  for (size_t round = 0; round <= rows.size() && missing != 0; ++round) {
    bool progress = false;
    for (size_t j = 0; j < rows.size(); ++j) {
      if (k + j < 64 && ((lost >> (k + j)) & 1)) continue;
      const uint64_t u = rows[j] & missing;
      if (u != 0 && (u & (u - 1)) == 0) {
        missing &= ~u;
        progress = true;
      }
    }
    if (!progress) break;
  }
  return missing == 0;
}

// Fraction of all patterns of `losses` lost packets among k + m that are fully recovered.
double recovered_fraction(size_t k, size_t m, FecMaskType type, size_t losses) {
  const auto rows = fec_packet_masks(k, m, type);
  const size_t n = k + m;
  std::vector<size_t> idx(losses);
  for (size_t i = 0; i < losses; ++i) idx[i] = i;
  uint64_t total = 0, ok = 0;
  for (;;) {  // lexicographic combinations, C(24, 6) at most
    uint64_t lost = 0;
    for (size_t i : idx) lost |= uint64_t{1} << i;
    ++total;
    ok += peel(k, rows, lost) ? 1 : 0;
    size_t i = losses;
    while (i > 0 && idx[i - 1] == n - losses + i - 1) --i;
    if (i == 0) break;
    ++idx[i - 1];
    for (size_t j = i; j < losses; ++j) idx[j] = idx[j - 1] + 1;
  }
  return static_cast<double>(ok) / static_cast<double>(total);
}

}  // namespace

TEST_CASE("fec masks: shape, non-empty rows, every media packet covered (k up to 48)") {
  for (auto type : {FecMaskType::kRandom, FecMaskType::kBursty}) {
    for (size_t k = 1; k <= kMaxFecMediaPackets; ++k) {
      for (size_t m = 1; m <= k; ++m) {
        const auto rows = fec_packet_masks(k, m, type);
        REQUIRE(rows.size() == m);
        uint64_t covered = 0;
        for (uint64_t r : rows) {
          CHECK(r != 0);
          CHECK((r >> k) == 0);
          covered |= r;
        }
        CHECK(covered == ((k == 64 ? 0 : (uint64_t{1} << k)) - 1));
      }
    }
  }
}

TEST_CASE("fec masks: every single loss is recovered") {
  for (auto type : {FecMaskType::kRandom, FecMaskType::kBursty}) {
    for (size_t k = 1; k <= kMaxFecMediaPackets; ++k) {
      for (size_t m = 1; m <= k; ++m) {
        const auto rows = fec_packet_masks(k, m, type);
        for (size_t i = 0; i < k; ++i) CHECK(peel(k, rows, uint64_t{1} << i));
      }
    }
  }
}

TEST_CASE("fec masks: m/2 losses among media and FEC packets, all patterns (k <= 12)") {
  double worst_random = 1.0, worst_bursty = 1.0;
  for (size_t k = 2; k <= 12; ++k) {
    for (size_t m = 2; m <= k; ++m) {
      const size_t losses = m / 2;
      const double r = recovered_fraction(k, m, FecMaskType::kRandom, losses);
      const double b = recovered_fraction(k, m, FecMaskType::kBursty, losses);
      INFO("k=" << k << " m=" << m << " random=" << r << " bursty=" << b);
      CHECK(r >= 0.94);
      CHECK(b >= 0.90);
      worst_random = std::min(worst_random, r);
      worst_bursty = std::min(worst_bursty, b);
    }
  }
  MESSAGE("worst recovered share: random " << worst_random << ", bursty " << worst_bursty);
}

TEST_CASE("fec masks: bursty masks recover any run of up to m consecutive media losses") {
  for (size_t k = 1; k <= 12; ++k) {
    for (size_t m = 1; m <= k; ++m) {
      const auto rows = fec_packet_masks(k, m, FecMaskType::kBursty);
      for (size_t run = 1; run <= m; ++run) {
        for (size_t start = 0; start + run <= k; ++start) {
          INFO("k=" << k << " m=" << m << " run=" << run << " start=" << start);
          CHECK(peel(k, rows, ((uint64_t{1} << run) - 1) << start));
        }
      }
    }
  }
  // Beyond the searched tables the interleave still holds the guarantee.
  for (size_t k = 13; k <= kMaxFecMediaPackets; k += 5) {
    for (size_t m = 1; m <= k && k + m <= 64; m += 3) {  // loss bitmap holds k + m bits
      const auto rows = fec_packet_masks(k, m, FecMaskType::kBursty);
      INFO("k=" << k << " m=" << m);
      for (size_t start = 0; start + m <= k; ++start) CHECK(peel(k, rows, ((uint64_t{1} << m) - 1) << start));
    }
  }
}

TEST_CASE("fec masks: packet count from the protection factor") {
  CHECK(fec_packet_count(10, 0) == 0);
  CHECK(fec_packet_count(0, 255) == 0);
  CHECK(fec_packet_count(10, 1) == 1);     // any protection gives at least one packet
  CHECK(fec_packet_count(10, 128) == 5);   // 50%
  CHECK(fec_packet_count(10, 255) == 10);  // never more than k
  CHECK(fec_packet_count(4, 64) == 1);
  CHECK(fec_packet_masks(0, 0, FecMaskType::kRandom).size() == 1);  // clamped
  CHECK(fec_packet_masks(100, 100, FecMaskType::kRandom).size() == kMaxFecMediaPackets);
}

TEST_CASE("fec masks: random masks with 2 or 3 FEC packets recover most two-loss patterns") {
  // Two losses among media and FEC happen in ~1.3% of 9-packet frames at 2% loss; a plain
  // interleave (each media packet in one FEC packet) recovered 53-60% (m = 2) and 70-75% (m = 3) of them.
  for (size_t k = 2; k <= 12; ++k) {
    for (size_t m = 2; m <= std::min<size_t>(k, 3); ++m) {
      const double r = recovered_fraction(k, m, FecMaskType::kRandom, 2);
      INFO("k=" << k << " m=" << m << " two losses recovered: " << r);
      CHECK(r >= (m == 2 ? 0.71 : 0.91));
    }
  }
}

TEST_CASE("fec masks: unrecoverable patterns match an exhaustive decode of every loss pattern") {
  // Every subset of the k + m packets (2^n, n <= 16) decoded with the test's own peeler: the
  // counts by number of losses (up to four) are the function's, and the exact probability of a
  // lost media packet at 2% and 10% is what residual_group_loss gives, less at most the share of
  // patterns with five or more losses that it takes as lost.
  const size_t cases[][2] = {{1, 1}, {2, 1}, {3, 2}, {5, 2}, {5, 3}, {6, 3}, {8, 4}, {10, 4}, {12, 4}, {10, 6}};
  for (const FecMaskType type : {FecMaskType::kRandom, FecMaskType::kBursty}) {
    for (const auto& km : cases) {
      const size_t k = km[0], m = km[1], n = k + m;
      const auto rows = fec_packet_masks(k, m, type);
      UnrecoverablePatterns expected{};
      std::vector<uint64_t> lost_by_size(n + 1, 0);
      for (uint64_t lost = 0; lost < (uint64_t{1} << n); ++lost) {
        if (peel(k, rows, lost)) continue;
        const size_t s = static_cast<size_t>(std::popcount(lost));
        ++lost_by_size[s];
        if (s <= kMaxCountedLosses) ++expected[s];
      }
      const UnrecoverablePatterns got = unrecoverable_patterns(k, m, type);
      INFO("k=" << k << " m=" << m << " bursty=" << (type == FecMaskType::kBursty));
      for (size_t s = 0; s <= kMaxCountedLosses; ++s) CHECK(got[s] == expected[s]);
      CHECK(got[0] == 0);
      CHECK(got[1] == 0);  // every media packet is covered: one loss is always repaired
      for (const double p : {0.02, 0.10}) {
        double exact = 0.0, beyond = 0.0, choose = 1.0;
        for (size_t s = 0; s <= n; ++s) {
          if (s > 0) choose = choose * static_cast<double>(n - s + 1) / static_cast<double>(s);
          const double one = std::pow(p, static_cast<double>(s)) * std::pow(1.0 - p, static_cast<double>(n - s));
          exact += static_cast<double>(lost_by_size[s]) * one;
          if (s > kMaxCountedLosses) beyond += choose * one;
        }
        const double bound = residual_group_loss(k, m, got, p);
        CHECK(bound >= exact * (1 - 1e-9));
        CHECK(bound <= exact + beyond + 1e-12);
      }
    }
  }
}

TEST_CASE("fec masks: XOR groups leave far more loss than 'at most m of k + m lost' promises") {
  // Rule 6 of the protection policy once sized FEC by that promise (an erasure code's): for
  // 5 media and 3 FEC packets at 2% it is 1 group in ~100 000, where these masks leave one in
  // ~2000 (0.05%), from two losses the masks cannot peel apart. With 10 + 4 (two frames a group),
  // 0.036%: less than one frame's group at 60% overhead, at 40%.
  const auto residual = [](size_t k, size_t m, double p) {
    return residual_group_loss(k, m, unrecoverable_patterns(k, m, FecMaskType::kRandom), p);
  };
  const auto at_most_m = [](size_t k, size_t m, double p) {
    double ok = 0.0, choose = 1.0;
    const size_t n = k + m;
    for (size_t s = 0; s <= m; ++s) {
      if (s > 0) choose = choose * static_cast<double>(n - s + 1) / static_cast<double>(s);
      ok += choose * std::pow(p, static_cast<double>(s)) * std::pow(1.0 - p, static_cast<double>(n - s));
    }
    return 1.0 - ok;
  };
  CHECK(residual(5, 3, 0.02) == doctest::Approx(5.0e-4).epsilon(0.05));
  CHECK(at_most_m(5, 3, 0.02) < 2e-5);
  CHECK(residual(10, 4, 0.02) == doctest::Approx(3.6e-4).epsilon(0.05));
  CHECK(residual(10, 4, 0.02) < residual(5, 3, 0.02));
  // m = 1 repairs nothing but single losses: the residual is P(two or more of k + 1 lost).
  CHECK(residual(6, 1, 0.02) == doctest::Approx(at_most_m(6, 1, 0.02)).epsilon(1e-6));
  // No loss, nothing lost; certain loss, everything lost.
  CHECK(residual(6, 2, 0.0) == 0.0);
  CHECK(residual(6, 2, 1.0) == doctest::Approx(1.0));
}

TEST_CASE("fec masks: groups beyond forty packets count up to three losses and take four as lost") {
  // C(96, 3) patterns decoded, not C(96, 4) = 3.3 million: bounded work for the largest group.
  const UnrecoverablePatterns c = unrecoverable_patterns(48, 48, FecMaskType::kRandom);
  CHECK(c[1] == 0);
  CHECK(c[4] == 3321960);  // C(96, 4): all taken as lost
  const UnrecoverablePatterns d = unrecoverable_patterns(20, 20, FecMaskType::kRandom);
  CHECK(d[4] < 91390);  // C(40, 4): decoded, and most are repaired
  // Out-of-range arguments are clamped as fec_packet_masks clamps them.
  CHECK(unrecoverable_patterns(0, 0, FecMaskType::kRandom) == unrecoverable_patterns(1, 1, FecMaskType::kRandom));
  CHECK(residual_group_loss(1, 1, unrecoverable_patterns(1, 1, FecMaskType::kRandom), std::nan("")) == 0.0);
}
