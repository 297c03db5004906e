#include "tern/ice/core_address.h"

#include <array>
#include <cstring>

namespace tern::ice {

ice::TransportAddress from_core(const tern::TransportAddress& a) {
  ice::TransportAddress t;
  t.family = a.ip.is_v6() ? ice::TransportAddress::Family::kIPv6 : ice::TransportAddress::Family::kIPv4;
  std::memcpy(t.ip.data(), a.ip.bytes(), a.ip.size());
  t.port = a.port;
  return t;
}

tern::TransportAddress to_core(const ice::TransportAddress& a) {
  tern::TransportAddress t;
  if (a.is_v6()) {
    std::array<uint8_t, 16> b{};
    std::memcpy(b.data(), a.ip.data(), 16);
    t.ip = IpAddress::V6(b);
  } else {
    t.ip = IpAddress::V4(a.ip[0], a.ip[1], a.ip[2], a.ip[3]);
  }
  t.port = a.port;
  return t;
}

}  // namespace tern::ice
