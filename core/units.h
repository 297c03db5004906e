// Strong unit types for time, rates and sizes: Timestamp, TimeDelta, DataRate, DataSize.
//
// Modelled on libwebrtc's api/units: no raw int64_t milliseconds cross an API. Every type stores an
// int64_t in its finest unit (microseconds, bits per second, bytes) and has +/- infinity values.
// Arithmetic saturates: a finite result that would overflow becomes the matching infinity, and any
// operation with an infinite operand stays infinite, so no expression here has undefined behaviour.
#pragma once

#include <cmath>
#include <concepts>
#include <type_traits>
#include <cstdint>
#include <limits>
#include <string>

namespace tern {
namespace units_internal {

inline constexpr int64_t kPlusInf = std::numeric_limits<int64_t>::max();
inline constexpr int64_t kMinusInf = std::numeric_limits<int64_t>::min();

constexpr bool is_inf(int64_t v) { return v == kPlusInf || v == kMinusInf; }

// a + b, saturating to +/-inf; an infinite operand wins (if both are infinite, a wins).
constexpr int64_t sat_add(int64_t a, int64_t b) {
  if (is_inf(a)) return a;
  if (is_inf(b)) return b;
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r) || is_inf(r)) return b > 0 ? kPlusInf : kMinusInf;
  return r;
}

constexpr int64_t sat_neg(int64_t a) {
  if (a == kPlusInf) return kMinusInf;
  if (a == kMinusInf) return kPlusInf;
  return -a;
}

constexpr int64_t sat_sub(int64_t a, int64_t b) { return sat_add(a, sat_neg(b)); }

constexpr int64_t sat_mul(int64_t a, int64_t b) {
  if (a == 0 || b == 0) return 0;
  const bool negative = (a < 0) != (b < 0);
  if (is_inf(a) || is_inf(b)) return negative ? kMinusInf : kPlusInf;
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r) || is_inf(r)) return negative ? kMinusInf : kPlusInf;
  return r;
}

// Converts a double to the int64 representation, rounding to nearest, saturating (NaN -> 0).
constexpr int64_t from_double(double v) {
  if (v != v) return 0;
  if (v >= 9.2233720368547748e18) return kPlusInf;
  if (v <= -9.2233720368547748e18) return kMinusInf;
  return static_cast<int64_t>(v < 0 ? v - 0.5 : v + 0.5);
}

constexpr double to_double(int64_t v) {
  if (v == kPlusInf) return std::numeric_limits<double>::infinity();
  if (v == kMinusInf) return -std::numeric_limits<double>::infinity();
  return static_cast<double>(v);
}

// Integer division rounding to nearest (half away from zero); infinities pass through.
constexpr int64_t div_round(int64_t v, int64_t d) {
  if (is_inf(v)) return v;
  const int64_t q = v / d;
  const int64_t r = v % d;
  if (2 * (r < 0 ? -r : r) >= d) return v < 0 ? q - 1 : q + 1;
  return q;
}

// Shared behaviour of every unit: storage, comparisons, infinity queries.
template <typename Unit>
class UnitBase {
 public:
  constexpr bool is_finite() const { return !is_inf(value_); }
  constexpr bool is_infinite() const { return is_inf(value_); }
  constexpr bool is_plus_infinity() const { return value_ == kPlusInf; }
  constexpr bool is_minus_infinity() const { return value_ == kMinusInf; }
  constexpr bool is_zero() const { return value_ == 0; }

  friend constexpr bool operator==(const Unit& a, const Unit& b) { return a.value_ == b.value_; }
  friend constexpr auto operator<=>(const Unit& a, const Unit& b) { return a.value_ <=> b.value_; }

  static constexpr Unit Zero() { return Unit(0); }
  static constexpr Unit PlusInfinity() { return Unit(kPlusInf); }
  static constexpr Unit MinusInfinity() { return Unit(kMinusInf); }

 protected:
  constexpr explicit UnitBase(int64_t v) : value_(v) {}
  int64_t value_;
};

}  // namespace units_internal

// A signed duration, microsecond resolution.
class TimeDelta final : public units_internal::UnitBase<TimeDelta> {
 public:
  constexpr TimeDelta() : UnitBase(0) {}
  static constexpr TimeDelta Micros(int64_t us) { return TimeDelta(us); }
  static constexpr TimeDelta Millis(int64_t ms) { return TimeDelta(units_internal::sat_mul(ms, 1000)); }
  static constexpr TimeDelta Seconds(int64_t s) { return TimeDelta(units_internal::sat_mul(s, 1000000)); }
  static constexpr TimeDelta SecondsF(double s) { return TimeDelta(units_internal::from_double(s * 1e6)); }
  static constexpr TimeDelta MillisF(double ms) { return TimeDelta(units_internal::from_double(ms * 1e3)); }

  constexpr int64_t us() const { return value_; }
  // Milliseconds rounded to nearest (half away from zero); infinities map to INT64_MAX/MIN.
  constexpr int64_t ms() const { return units_internal::div_round(value_, 1000); }
  constexpr int64_t seconds() const { return units_internal::div_round(value_, 1000000); }
  constexpr double ms_f() const { return units_internal::to_double(value_) / 1e3; }
  constexpr double seconds_f() const { return units_internal::to_double(value_) / 1e6; }

  constexpr TimeDelta abs() const { return value_ < 0 ? -*this : *this; }
  constexpr TimeDelta operator-() const { return TimeDelta(units_internal::sat_neg(value_)); }
  constexpr TimeDelta operator+(TimeDelta o) const { return TimeDelta(units_internal::sat_add(value_, o.value_)); }
  constexpr TimeDelta operator-(TimeDelta o) const { return TimeDelta(units_internal::sat_sub(value_, o.value_)); }
  constexpr TimeDelta& operator+=(TimeDelta o) { return *this = *this + o; }
  constexpr TimeDelta& operator-=(TimeDelta o) { return *this = *this - o; }
  template <std::integral I>
  constexpr TimeDelta operator*(I k) const { return TimeDelta(units_internal::sat_mul(value_, static_cast<int64_t>(k))); }
  template <std::floating_point F>
  constexpr TimeDelta operator*(F kf) const {
    const double k = static_cast<double>(kf);
    if (is_infinite()) return k == 0 ? Zero() : (k < 0 ? -*this : *this);
    return TimeDelta(units_internal::from_double(static_cast<double>(value_) * k));
  }
  template <std::integral I>
  constexpr TimeDelta operator/(I ki) const {
    const int64_t k = static_cast<int64_t>(ki);
    if (k == 0) return value_ == 0 ? Zero() : (value_ > 0 ? PlusInfinity() : MinusInfinity());
    if (is_infinite()) return k < 0 ? -*this : *this;
    return TimeDelta(value_ / k);
  }
  // Ratio of two durations (infinite or zero divisors give +/-inf or NaN as in IEEE).
  constexpr double operator/(TimeDelta o) const {
    return units_internal::to_double(value_) / units_internal::to_double(o.value_);
  }

  std::string to_string() const;

 private:
  friend class units_internal::UnitBase<TimeDelta>;
  constexpr explicit TimeDelta(int64_t us) : UnitBase(us) {}
};

template <typename N>
  requires std::is_arithmetic_v<N>
constexpr TimeDelta operator*(N k, TimeDelta d) { return d * k; }

// A point in time, microseconds since an arbitrary epoch chosen by the driver's clock.
class Timestamp final : public units_internal::UnitBase<Timestamp> {
 public:
  constexpr Timestamp() : UnitBase(0) {}
  static constexpr Timestamp Micros(int64_t us) { return Timestamp(us); }
  static constexpr Timestamp Millis(int64_t ms) { return Timestamp(units_internal::sat_mul(ms, 1000)); }
  static constexpr Timestamp Seconds(int64_t s) { return Timestamp(units_internal::sat_mul(s, 1000000)); }

  constexpr int64_t us() const { return value_; }
  constexpr int64_t ms() const { return units_internal::div_round(value_, 1000); }
  constexpr double seconds_f() const { return units_internal::to_double(value_) / 1e6; }

  constexpr Timestamp operator+(TimeDelta d) const { return Timestamp(units_internal::sat_add(value_, d.us())); }
  constexpr Timestamp operator-(TimeDelta d) const { return Timestamp(units_internal::sat_sub(value_, d.us())); }
  constexpr TimeDelta operator-(Timestamp o) const {
    return TimeDelta::Micros(units_internal::sat_sub(value_, o.value_));
  }
  constexpr Timestamp& operator+=(TimeDelta d) { return *this = *this + d; }
  constexpr Timestamp& operator-=(TimeDelta d) { return *this = *this - d; }

  std::string to_string() const;

 private:
  friend class units_internal::UnitBase<Timestamp>;
  constexpr explicit Timestamp(int64_t us) : UnitBase(us) {}
};

// An amount of data, in bytes.
class DataSize final : public units_internal::UnitBase<DataSize> {
 public:
  constexpr DataSize() : UnitBase(0) {}
  static constexpr DataSize Bytes(int64_t b) { return DataSize(b); }
  static constexpr DataSize Bits(int64_t bits) { return DataSize(units_internal::div_round(bits, 8)); }
  static constexpr DataSize Kilobytes(int64_t kb) { return DataSize(units_internal::sat_mul(kb, 1000)); }

  constexpr int64_t bytes() const { return value_; }
  constexpr int64_t bits() const { return units_internal::sat_mul(value_, 8); }
  constexpr double kilobytes_f() const { return units_internal::to_double(value_) / 1e3; }

  constexpr DataSize operator-() const { return DataSize(units_internal::sat_neg(value_)); }
  constexpr DataSize operator+(DataSize o) const { return DataSize(units_internal::sat_add(value_, o.value_)); }
  constexpr DataSize operator-(DataSize o) const { return DataSize(units_internal::sat_sub(value_, o.value_)); }
  constexpr DataSize& operator+=(DataSize o) { return *this = *this + o; }
  constexpr DataSize& operator-=(DataSize o) { return *this = *this - o; }
  template <std::integral I>
  constexpr DataSize operator*(I k) const { return DataSize(units_internal::sat_mul(value_, static_cast<int64_t>(k))); }
  template <std::floating_point F>
  constexpr DataSize operator*(F kf) const {
    const double k = static_cast<double>(kf);
    if (is_infinite()) return k == 0 ? Zero() : (k < 0 ? -*this : *this);
    return DataSize(units_internal::from_double(static_cast<double>(value_) * k));
  }
  constexpr double operator/(DataSize o) const {
    return units_internal::to_double(value_) / units_internal::to_double(o.value_);
  }

  std::string to_string() const;

 private:
  friend class units_internal::UnitBase<DataSize>;
  constexpr explicit DataSize(int64_t b) : UnitBase(b) {}
};

// A data rate, in bits per second.
class DataRate final : public units_internal::UnitBase<DataRate> {
 public:
  constexpr DataRate() : UnitBase(0) {}
  static constexpr DataRate BitsPerSec(int64_t bps) { return DataRate(bps); }
  static constexpr DataRate KilobitsPerSec(int64_t kbps) { return DataRate(units_internal::sat_mul(kbps, 1000)); }
  static constexpr DataRate KilobitsPerSecF(double kbps) { return DataRate(units_internal::from_double(kbps * 1e3)); }
  static constexpr DataRate MegabitsPerSec(int64_t mbps) { return DataRate(units_internal::sat_mul(mbps, 1000000)); }

  constexpr int64_t bps() const { return value_; }
  constexpr int64_t kbps() const { return units_internal::div_round(value_, 1000); }
  constexpr double kbps_f() const { return units_internal::to_double(value_) / 1e3; }
  constexpr double bps_f() const { return units_internal::to_double(value_); }

  constexpr DataRate operator+(DataRate o) const { return DataRate(units_internal::sat_add(value_, o.value_)); }
  constexpr DataRate operator-(DataRate o) const { return DataRate(units_internal::sat_sub(value_, o.value_)); }
  constexpr DataRate& operator+=(DataRate o) { return *this = *this + o; }
  constexpr DataRate& operator-=(DataRate o) { return *this = *this - o; }
  template <std::integral I>
  constexpr DataRate operator*(I k) const { return DataRate(units_internal::sat_mul(value_, static_cast<int64_t>(k))); }
  template <std::floating_point F>
  constexpr DataRate operator*(F kf) const {
    const double k = static_cast<double>(kf);
    if (is_infinite()) return k == 0 ? Zero() : (k < 0 ? MinusInfinity() : *this);
    return DataRate(units_internal::from_double(static_cast<double>(value_) * k));
  }
  constexpr double operator/(DataRate o) const {
    return units_internal::to_double(value_) / units_internal::to_double(o.value_);
  }

  std::string to_string() const;

 private:
  friend class units_internal::UnitBase<DataRate>;
  constexpr explicit DataRate(int64_t bps) : UnitBase(bps) {}
};

template <typename N>
  requires std::is_arithmetic_v<N>
constexpr DataRate operator*(N k, DataRate r) { return r * k; }
template <typename N>
  requires std::is_arithmetic_v<N>
constexpr DataSize operator*(N k, DataSize s) { return s * k; }

// Cross-unit arithmetic: size = rate x time, rate = size / time, time = size / rate.
constexpr DataSize operator*(DataRate rate, TimeDelta d) {
  if (rate.is_infinite() || d.is_infinite()) {
    if (rate.is_zero() || d.is_zero()) return DataSize::Zero();
    return (rate.bps() < 0) != (d.us() < 0) ? DataSize::MinusInfinity() : DataSize::PlusInfinity();
  }
  // bits = bps * us / 1e6; bytes = bits / 8. Use double for the product to avoid overflow.
  return DataSize::Bytes(units_internal::from_double(
      static_cast<double>(rate.bps()) * static_cast<double>(d.us()) / 8e6));
}
constexpr DataSize operator*(TimeDelta d, DataRate rate) { return rate * d; }

constexpr DataRate operator/(DataSize size, TimeDelta d) {
  if (d.is_zero()) return size.is_zero() ? DataRate::Zero() : DataRate::PlusInfinity();
  if (d.is_infinite()) return DataRate::Zero();
  if (size.is_infinite()) return size.is_plus_infinity() ? DataRate::PlusInfinity() : DataRate::MinusInfinity();
  return DataRate::BitsPerSec(units_internal::from_double(
      static_cast<double>(size.bytes()) * 8e6 / static_cast<double>(d.us())));
}

constexpr TimeDelta operator/(DataSize size, DataRate rate) {
  if (rate.is_zero()) return size.is_zero() ? TimeDelta::Zero() : TimeDelta::PlusInfinity();
  if (rate.is_infinite()) return TimeDelta::Zero();
  if (size.is_infinite()) return size.is_plus_infinity() ? TimeDelta::PlusInfinity() : TimeDelta::MinusInfinity();
  return TimeDelta::Micros(units_internal::from_double(
      static_cast<double>(size.bytes()) * 8e6 / static_cast<double>(rate.bps())));
}

// Literals: using namespace tern::unit_literals; auto d = 20_ms; auto r = 300_kbps;
namespace unit_literals {
constexpr TimeDelta operator""_us(unsigned long long v) { return TimeDelta::Micros(static_cast<int64_t>(v)); }
constexpr TimeDelta operator""_ms(unsigned long long v) { return TimeDelta::Millis(static_cast<int64_t>(v)); }
constexpr TimeDelta operator""_s(unsigned long long v) { return TimeDelta::Seconds(static_cast<int64_t>(v)); }
constexpr DataRate operator""_bps(unsigned long long v) { return DataRate::BitsPerSec(static_cast<int64_t>(v)); }
constexpr DataRate operator""_kbps(unsigned long long v) { return DataRate::KilobitsPerSec(static_cast<int64_t>(v)); }
constexpr DataRate operator""_mbps(unsigned long long v) { return DataRate::MegabitsPerSec(static_cast<int64_t>(v)); }
constexpr DataSize operator""_bytes(unsigned long long v) { return DataSize::Bytes(static_cast<int64_t>(v)); }
}  // namespace unit_literals

template <typename U>
constexpr U min(U a, U b) { return b < a ? b : a; }
template <typename U>
constexpr U max(U a, U b) { return a < b ? b : a; }
template <typename U>
constexpr U clamp(U v, U lo, U hi) { return v < lo ? lo : (hi < v ? hi : v); }

}  // namespace tern
