#include "tern/ice/transport_address.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>

namespace tern::ice {

TransportAddress TransportAddress::V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
  TransportAddress t;
  t.family = Family::kIPv4;
  t.ip[0] = a;
  t.ip[1] = b;
  t.ip[2] = c;
  t.ip[3] = d;
  t.port = port;
  return t;
}

TransportAddress TransportAddress::V6(const std::array<uint8_t, 16>& ip, uint16_t port) {
  TransportAddress t;
  t.family = Family::kIPv6;
  t.ip = ip;
  t.port = port;
  return t;
}

Result<TransportAddress> TransportAddress::Parse(std::string_view ip, uint16_t port) {
  if (ip.size() >= INET6_ADDRSTRLEN) return Error{"address too long"};
  char text[INET6_ADDRSTRLEN] = {};
  std::memcpy(text, ip.data(), ip.size());
  TransportAddress t;
  t.port = port;
  if (inet_pton(AF_INET, text, t.ip.data()) == 1) {
    t.family = Family::kIPv4;
    return t;
  }
  if (inet_pton(AF_INET6, text, t.ip.data()) == 1) {
    t.family = Family::kIPv6;
    return t;
  }
  return Error{"not a numeric IPv4 or IPv6 address"};
}

std::string TransportAddress::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(is_v6() ? AF_INET6 : AF_INET, ip.data(), text, sizeof(text));
  std::string out;
  out.reserve(sizeof(text) + 8);
  if (is_v6()) out += '[';
  out += text;
  if (is_v6()) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

bool operator==(const TransportAddress& a, const TransportAddress& b) {
  return a.family == b.family && a.port == b.port &&
         std::memcmp(a.ip.data(), b.ip.data(), a.ip_size()) == 0;
}

}  // namespace tern::ice
