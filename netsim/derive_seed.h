// derive_seed: one well-spread seed per component (link, NAT) from a network's seed and the
// component's position (splitmix64 finaliser), so one number reproduces a whole simulation and no
// two components share a random stream.
#pragma once

#include <cstdint>

namespace tern::netsim {

inline uint64_t derive_seed(uint64_t seed, uint64_t salt) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (salt + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace tern::netsim
