// TransportAddress: an IP address (v4 or v6) and a port, as STUN carries it in MAPPED-ADDRESS and
// the XOR-*-ADDRESS attributes and as ICE names candidates (RFC 8445 "transport address").
//
// A plain value type with no operating-system structs, so the sans-I/O cores (STUN, TURN, ICE)
// never include socket headers; a driver converts to and from its own socket address type.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "tern/core/result.h"

namespace tern::ice {

struct TransportAddress {
  enum class Family : uint8_t { kIPv4 = 1, kIPv6 = 2 };  // the STUN family codes

  Family family = Family::kIPv4;
  std::array<uint8_t, 16> ip{};  // network order; an IPv4 address uses the first 4 bytes
  uint16_t port = 0;

  static TransportAddress V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port);
  static TransportAddress V6(const std::array<uint8_t, 16>& ip, uint16_t port);
  // Numeric "192.0.2.1" or "2001:db8::1" (no brackets, no DNS).
  static Result<TransportAddress> Parse(std::string_view ip, uint16_t port);

  bool is_v6() const { return family == Family::kIPv6; }
  size_t ip_size() const { return is_v6() ? 16 : 4; }
  // "192.0.2.1:3478" or "[2001:db8::1]:3478".
  std::string to_string() const;

  friend bool operator==(const TransportAddress& a, const TransportAddress& b);
};

}  // namespace tern::ice
