// IpAddress and TransportAddress: plain IPv4/IPv6 values (RFC 8445's "transport address" is an IP
// address, a port and a protocol; tern's is UDP). Platform-free (no sockaddr), so sans-I/O cores
// (ICE, STUN, netsim's addressed network) share one type; transport::SocketAddress converts at the
// socket boundary. Totally ordered and hashable, so they key maps.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "tern/core/result.h"

namespace tern {

class IpAddress {
 public:
  enum class Family : uint8_t { kNone, kV4, kV6 };

  IpAddress() = default;  // Family::kNone: "no address"
  static IpAddress V4(uint32_t host_order);
  static IpAddress V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return V4((uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d);
  }
  static IpAddress V6(const std::array<uint8_t, 16>& bytes);
  // Numeric only: "192.0.2.1", "2001:db8::1" (brackets accepted), "::ffff:192.0.2.1". No DNS.
  static Result<IpAddress> Parse(std::string_view text);

  Family family() const { return family_; }
  bool empty() const { return family_ == Family::kNone; }
  bool is_v4() const { return family_ == Family::kV4; }
  bool is_v6() const { return family_ == Family::kV6; }
  uint32_t v4() const;  // host order; 0 unless is_v4()
  // Network-order bytes: 4 for IPv4, 16 for IPv6, 0 for none.
  const uint8_t* bytes() const { return bytes_.data(); }
  size_t size() const { return is_v4() ? 4 : is_v6() ? 16 : 0; }
  // 127/8, ::1.
  bool is_loopback() const;
  // RFC 1918 / RFC 4193 unique-local / link-local: addresses that do not route on the internet.
  bool is_private() const;
  // "192.0.2.1", "2001:db8::1" (RFC 5952 shortest form), "" for none.
  std::string to_string() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;

 private:
  Family family_ = Family::kNone;
  std::array<uint8_t, 16> bytes_{};
};

struct TransportAddress {
  IpAddress ip;
  uint16_t port = 0;

  bool empty() const { return ip.empty(); }
  // "192.0.2.1:3478" or "[2001:db8::1]:3478".
  std::string to_string() const;
  // Parses the to_string() form.
  static Result<TransportAddress> Parse(std::string_view text);

  friend bool operator==(const TransportAddress&, const TransportAddress&) = default;
  friend auto operator<=>(const TransportAddress&, const TransportAddress&) = default;
};

size_t hash_value(const IpAddress& ip);

}  // namespace tern

template <>
struct std::hash<tern::IpAddress> {
  size_t operator()(const tern::IpAddress& ip) const { return tern::hash_value(ip); }
};
template <>
struct std::hash<tern::TransportAddress> {
  size_t operator()(const tern::TransportAddress& a) const {
    return tern::hash_value(a.ip) * 31 + a.port;
  }
};
