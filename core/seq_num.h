// Wrap-aware sequence-number arithmetic in one place (RTP sequence numbers and timestamps,
// transport-wide sequence numbers): compare, distance and unwrap to 64 bits.
//
// Never compare raw uint16_t/uint32_t sequence numbers with '<'. "Newer" follows RFC 1982 serial
// number arithmetic, with the one ambiguous case (distance exactly half the space) broken by value so
// that the relation is still a strict order for any pair.
#pragma once

#include <cstdint>
#include <optional>
#include <type_traits>

namespace tern {

// Signed shortest distance from b to a (a - b) in the circular space, e.g.
// seq_diff<uint16_t>(2, 65534) == 4. At exactly half the space, positive iff a > b numerically,
// consistent with seq_newer(). The result is in [-2^(N-1), 2^(N-1)].
template <typename T>
constexpr int64_t seq_diff(T a, T b) {
  static_assert(std::is_unsigned_v<T> && sizeof(T) <= 4, "16- or 32-bit unsigned sequence numbers");
  constexpr T kHalf = static_cast<T>(T{1} << (sizeof(T) * 8 - 1));
  const T forward = static_cast<T>(a - b);
  if (forward < kHalf || (forward == kHalf && a > b)) return static_cast<int64_t>(forward);
  return static_cast<int64_t>(forward) - (int64_t{1} << (sizeof(T) * 8));
}

// True when a comes after b in sequence order.
template <typename T>
constexpr bool seq_newer(T a, T b) {
  static_assert(std::is_unsigned_v<T>, "sequence numbers are unsigned");
  constexpr T kHalf = static_cast<T>(T{1} << (sizeof(T) * 8 - 1));
  const T forward = static_cast<T>(a - b);
  if (forward == kHalf) return a > b;
  return forward != 0 && forward < kHalf;
}

// The newer of two sequence numbers.
template <typename T>
constexpr T seq_latest(T a, T b) { return seq_newer(a, b) ? a : b; }

// Strict-weak-order comparator for containers keyed by sequence number within half the space.
template <typename T>
struct SeqOlder {
  constexpr bool operator()(T a, T b) const { return seq_newer(b, a); }
};

// Unwraps a stream of T-bit values into a monotonic-ish 64-bit space. The first value maps to
// itself; each later value maps to the previous unwrapped value plus the signed shortest distance,
// so reordered (older) values unwrap below the latest one and may go negative.
template <typename T>
class SeqUnwrapper {
 public:
  // Unwraps and remembers `value` as the reference for the next call.
  int64_t unwrap(T value) {
    const int64_t u = peek(value);
    last_raw_ = value;
    last_unwrapped_ = u;
    return u;
  }
  // Unwraps without updating the reference.
  int64_t peek(T value) const {
    if (!last_raw_) return static_cast<int64_t>(value);
    return last_unwrapped_ + seq_diff(value, *last_raw_);
  }
  std::optional<int64_t> last() const {
    return last_raw_ ? std::optional<int64_t>(last_unwrapped_) : std::nullopt;
  }
  void reset() { last_raw_.reset(); last_unwrapped_ = 0; }

 private:
  std::optional<T> last_raw_;
  int64_t last_unwrapped_ = 0;
};

using RtpSeqUnwrapper = SeqUnwrapper<uint16_t>;        // RTP sequence numbers, transport-wide seq
using RtpTimestampUnwrapper = SeqUnwrapper<uint32_t>;  // RTP timestamps

}  // namespace tern
