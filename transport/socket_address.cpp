#include "tern/transport/socket_address.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cstring>

namespace tern::transport {

Result<SocketAddress> SocketAddress::Parse(std::string_view ip, uint16_t port) {
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  if (ip.empty() || ip.size() >= INET6_ADDRSTRLEN) return Error{"socket address: bad length"};
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, ip.data(), ip.size());
  SocketAddress a;
  sockaddr_in v4{};
  if (inet_pton(AF_INET, buf, &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    std::memcpy(&a.storage_, &v4, sizeof(v4));
    a.len_ = sizeof(v4);
    return a;
  }
  sockaddr_in6 v6{};
  if (inet_pton(AF_INET6, buf, &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    std::memcpy(&a.storage_, &v6, sizeof(v6));
    a.len_ = sizeof(v6);
    return a;
  }
  return Error{"socket address: not a numeric IPv4 or IPv6 address"};
}

SocketAddress SocketAddress::LoopbackV4(uint16_t port) { return *Parse("127.0.0.1", port); }
SocketAddress SocketAddress::LoopbackV6(uint16_t port) { return *Parse("::1", port); }

SocketAddress SocketAddress::FromSockaddr(const sockaddr* sa, socklen_t len) {
  SocketAddress a;
  if (sa == nullptr) return a;
  if ((sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) ||
      (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6))) {
    const socklen_t n = sa->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    std::memcpy(&a.storage_, sa, n);
    a.len_ = n;
  }
  return a;
}

SocketAddress SocketAddress::FromCore(const tern::TransportAddress& a) {
  SocketAddress out;
  if (a.ip.is_v4()) {
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    v4.sin_port = htons(a.port);
    std::memcpy(&v4.sin_addr, a.ip.bytes(), 4);
    std::memcpy(&out.storage_, &v4, sizeof(v4));
    out.len_ = sizeof(v4);
  } else if (a.ip.is_v6()) {
    sockaddr_in6 v6{};
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(a.port);
    std::memcpy(&v6.sin6_addr, a.ip.bytes(), 16);
    std::memcpy(&out.storage_, &v6, sizeof(v6));
    out.len_ = sizeof(v6);
  }
  return out;
}

tern::TransportAddress SocketAddress::to_core() const {
  tern::TransportAddress out;
  out.port = port();
  if (storage_.ss_family == AF_INET) {
    out.ip = IpAddress::V4(ntohl(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr.s_addr));
  } else if (storage_.ss_family == AF_INET6) {
    std::array<uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, 16);
    out.ip = IpAddress::V6(bytes);
  }
  return out;
}

uint16_t SocketAddress::port() const {
  if (storage_.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (storage_.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return 0;
}

void SocketAddress::set_port(uint16_t port) {
  if (storage_.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
  if (storage_.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
}

std::string SocketAddress::ip_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (storage_.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof(buf));
  } else if (storage_.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf, sizeof(buf));
  }
  return buf;
}

std::string SocketAddress::to_string() const {
  if (empty()) return "(none)";
  std::string out;
  if (is_v6()) out += '[';
  out += ip_string();
  if (is_v6()) out += ']';
  out += ':';
  out += std::to_string(port());
  return out;
}

bool operator==(const SocketAddress& a, const SocketAddress& b) {
  if (a.len_ != b.len_ || a.family() != b.family()) return false;
  if (a.empty()) return true;
  if (a.family() == AF_INET) {
    const auto* x = reinterpret_cast<const sockaddr_in*>(&a.storage_);
    const auto* y = reinterpret_cast<const sockaddr_in*>(&b.storage_);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  const auto* x = reinterpret_cast<const sockaddr_in6*>(&a.storage_);
  const auto* y = reinterpret_cast<const sockaddr_in6*>(&b.storage_);
  return x->sin6_port == y->sin6_port && std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(in6_addr)) == 0;
}

Result<SocketAddress> parse_host_port(const std::string& text) {
  std::string host;
  std::string port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Error{"address: expected [v6]:port"};
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos) return Error{"address: expected host:port"};
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
    return Error{"address: port must be 1..65535"};
  }
  if (host == "localhost") host = "127.0.0.1";
  return SocketAddress::Parse(host, static_cast<uint16_t>(port));
}

}  // namespace tern::transport
