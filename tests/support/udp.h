// Test support: a minimal UDP loopback sender and receiver (POSIX sockets, 127.0.0.1 only) for
// interop tests that exchange RTP with real peers (gst-launch-1.0, ffmpeg). Receiving waits with
// poll() and a timeout, so no call can block forever. Tests only: the library itself is sans-I/O.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace tern::test {

// One UDP socket bound to 127.0.0.1 (port 0 = any free port). Closed on destruction.
class UdpSocket {
 public:
  explicit UdpSocket(uint16_t local_port = 0) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (fd_ < 0) return;
    const int rcvbuf = 4 * 1024 * 1024;  // the kernel caps this at net.core.rmem_max
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    sockaddr_in addr = Loopback(local_port);
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~UdpSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }  // for a caller's own poll() over several descriptors
  // The bound port (the kernel's choice for port 0), 0 when unbound.
  uint16_t local_port() const {
    sockaddr_in a{};
    socklen_t len = sizeof(a);
    if (fd_ < 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
    return ntohs(a.sin_port);
  }

  // Sends one datagram to 127.0.0.1:port; true when the whole datagram was handed to the kernel.
  bool send_to(uint16_t port, std::span<const uint8_t> data) const {
    if (fd_ < 0) return false;
    sockaddr_in to = Loopback(port);
    const ssize_t n = ::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof(to));
    return n == static_cast<ssize_t>(data.size());
  }

  // One datagram already queued and the port it came from (127.0.0.1 only here); nullopt when
  // none is waiting. Never blocks.
  std::optional<std::pair<uint16_t, std::vector<uint8_t>>> try_receive_from() const {
    if (fd_ < 0) return std::nullopt;
    std::vector<uint8_t> buf(65536);
    sockaddr_in from{};
    socklen_t len = sizeof(from);
    const ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<size_t>(n));
    return std::make_pair(ntohs(from.sin_port), std::move(buf));
  }

  // The same to and from any IPv4 address (host byte order: 0x7f000002 is 127.0.0.2), for tests
  // whose peers also use other loopback addresses (a TURN server relaying from 127.0.0.2).
  bool send_to_v4(uint32_t ip, uint16_t port, std::span<const uint8_t> data) const {
    if (fd_ < 0) return false;
    sockaddr_in to = Loopback(port);
    to.sin_addr.s_addr = htonl(ip);
    const ssize_t n = ::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof(to));
    return n == static_cast<ssize_t>(data.size());
  }
  struct FromV4 {
    uint32_t ip = 0;  // host byte order
    uint16_t port = 0;
    std::vector<uint8_t> data;
  };
  std::optional<FromV4> try_receive_from_v4() const {
    if (fd_ < 0) return std::nullopt;
    FromV4 r;
    r.data.resize(65536);
    sockaddr_in from{};
    socklen_t len = sizeof(from);
    const ssize_t n = ::recvfrom(fd_, r.data.data(), r.data.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return std::nullopt;
    r.data.resize(static_cast<size_t>(n));
    r.ip = ntohl(from.sin_addr.s_addr);
    r.port = ntohs(from.sin_port);
    return r;
  }

  // Waits up to `timeout_ms` for one datagram; nullopt on timeout or error. Datagrams are
  // truncated at 64 KiB (more than any UDP payload on loopback with IPv4 can be).
  std::optional<std::vector<uint8_t>> receive(int timeout_ms) const {
    if (fd_ < 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0 || (p.revents & POLLIN) == 0) return std::nullopt;
    std::vector<uint8_t> buf(65536);
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<size_t>(n));
    return buf;
  }

 private:
  static sockaddr_in Loopback(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
  }

  int fd_ = -1;
};

// A free port base for a test that owns a block of ports [base, base + 64) (a TURN server's
// listener and relay range): derived from the pid so that parallel runs rarely collide, and
// checked by binding the first port.
inline uint16_t FreeUdpPortBase() {
  for (int attempt = 0; attempt < 20; ++attempt) {
    const auto base = static_cast<uint16_t>(40000 + ((getpid() + attempt * 97) % 200) * 100);
    UdpSocket probe(base);
    if (probe.ok()) return base;
  }
  return 0;
}

}  // namespace tern::test
