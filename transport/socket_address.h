// SocketAddress: an IPv4 or IPv6 UDP endpoint (address + port), the value type the real-network
// transport passes around. Wraps sockaddr_storage so callers never touch the BSD socket structs.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "tern/core/ip_address.h"
#include "tern/core/result.h"

namespace tern::transport {

class SocketAddress {
 public:
  SocketAddress() = default;
  // Parses a numeric IPv4 ("127.0.0.1") or IPv6 ("::1", optionally "[::1]") address; no DNS.
  static Result<SocketAddress> Parse(std::string_view ip, uint16_t port);
  static SocketAddress LoopbackV4(uint16_t port);
  static SocketAddress LoopbackV6(uint16_t port);
  // Builds from a kernel-provided address; an unknown family gives an empty address.
  static SocketAddress FromSockaddr(const sockaddr* sa, socklen_t len);
  // From and to core's address value (what ICE, netsim and SDP carry; ice::from_core/to_core take it
  // on to the STUN view). No text on the way: these run per datagram. An empty address maps to an
  // empty one both ways.
  static SocketAddress FromCore(const tern::TransportAddress& a);
  tern::TransportAddress to_core() const;

  bool empty() const { return len_ == 0; }
  bool is_v6() const { return storage_.ss_family == AF_INET6; }
  int family() const { return storage_.ss_family; }
  uint16_t port() const;
  void set_port(uint16_t port);
  // Numeric address without port ("127.0.0.1", "::1").
  std::string ip_string() const;
  // "127.0.0.1:5004" or "[::1]:5004".
  std::string to_string() const;

  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t sockaddr_len() const { return len_; }

  friend bool operator==(const SocketAddress& a, const SocketAddress& b);

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

// "host:port" or "[v6]:port" with a numeric host ("localhost" is read as 127.0.0.1; no DNS) and a
// port in 1..65535, as tools take a destination on their command line.
Result<SocketAddress> parse_host_port(const std::string& text);

}  // namespace tern::transport
