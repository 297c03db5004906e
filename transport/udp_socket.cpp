#include "tern/transport/udp_socket.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "tern/core/reason_text.h"

namespace tern::transport {
namespace {

// sendmmsg/recvmmsg are called in chunks of this many messages; the headers live on the stack.
constexpr size_t kChunk = 64;

// "<call> failed: <the system's reason>" as a lasting reason; `fallback` if none can be stored.
Error system_error(const std::string& call, const char* fallback) {
  const int error = errno;
  return Error{lasting_reason(call + " failed: " + std::strerror(error), fallback)};
}

}  // namespace

DatagramBatch::DatagramBatch(size_t count, size_t slot_size)
    : slot_size_(slot_size), storage_(count * slot_size), slots_(count) {
  for (size_t i = 0; i < count; ++i) slots_[i].buffer = std::span<uint8_t>(storage_).subspan(i * slot_size, slot_size);
}

void DatagramBatch::set(size_t i, std::span<const uint8_t> data, const SocketAddress& peer) {
  Datagram& d = slots_[i];
  d.size = std::min(data.size(), slot_size_);
  if (d.size > 0) std::memcpy(d.buffer.data(), data.data(), d.size);
  d.peer = peer;
  d.truncated = false;
}

Result<UdpSocket> UdpSocket::Open(const SocketAddress& local, const UdpSocketConfig& config) {
  if (local.empty()) return Error{"udp: empty local address"};
  UdpSocket s;
  s.fd_ = ::socket(local.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (s.fd_ < 0) {
    return system_error(std::string("udp: socket(") + (local.is_v6() ? "IPv6" : "IPv4") + ")",
                        "udp: socket() failed (address family unavailable?)");
  }
  const int one = 1;
  if (local.is_v6()) {
    const int v6only = config.v6_only ? 1 : 0;
    if (::setsockopt(s.fd_, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) != 0)
      return system_error("udp: setsockopt(IPV6_V6ONLY)", "udp: setsockopt(IPV6_V6ONLY) failed");
  }
  if (config.reuse_address && ::setsockopt(s.fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
    return system_error("udp: setsockopt(SO_REUSEADDR)", "udp: setsockopt(SO_REUSEADDR) failed");
  // Buffer sizes are requests: the kernel caps SO_RCVBUF/SO_SNDBUF at net.core.*mem_max (208 KiB
  // by default, which a burst of 256 KiB data-channel messages or a loaded machine overflows);
  // with CAP_NET_ADMIN the *FORCE options set them past the cap. Neither failing is an error.
  if (config.receive_buffer_bytes > 0 &&
      ::setsockopt(s.fd_, SOL_SOCKET, SO_RCVBUFFORCE, &config.receive_buffer_bytes, sizeof(int)) != 0)
    (void)::setsockopt(s.fd_, SOL_SOCKET, SO_RCVBUF, &config.receive_buffer_bytes, sizeof(int));
  if (config.send_buffer_bytes > 0 &&
      ::setsockopt(s.fd_, SOL_SOCKET, SO_SNDBUFFORCE, &config.send_buffer_bytes, sizeof(int)) != 0)
    (void)::setsockopt(s.fd_, SOL_SOCKET, SO_SNDBUF, &config.send_buffer_bytes, sizeof(int));
  if (config.report_unreachable) {
    const bool v6 = local.is_v6();
    if (::setsockopt(s.fd_, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_RECVERR : IP_RECVERR, &one, sizeof(one)) != 0)
      return system_error("udp: setsockopt(IP_RECVERR)", "udp: setsockopt(IP_RECVERR) failed");
  }
  if (::bind(s.fd_, local.sockaddr_ptr(), local.sockaddr_len()) != 0) {
    return system_error("udp: bind(" + local.to_string() + ")", "udp: bind() failed");
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  if (::getsockname(s.fd_, reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
    return system_error("udp: getsockname()", "udp: getsockname() failed");
  }
  s.local_ = SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&bound), len);
  return s;
}

UdpSocket::~UdpSocket() { close(); }

UdpSocket::UdpSocket(UdpSocket&& other) noexcept
    : fd_(other.fd_), local_(other.local_), counters_(other.counters_), last_errno_(other.last_errno_) {
  other.fd_ = -1;
}

UdpSocket& UdpSocket::operator=(UdpSocket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    local_ = other.local_;
    counters_ = other.counters_;
    last_errno_ = other.last_errno_;
    other.fd_ = -1;
  }
  return *this;
}

void UdpSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<size_t> UdpSocket::send_batch(std::span<const Datagram> datagrams) {
  if (fd_ < 0) return Error{"udp: socket not open"};
  std::array<mmsghdr, kChunk> msgs;
  std::array<iovec, kChunk> iovs;
  size_t done = 0;
  while (done < datagrams.size()) {
    const size_t n = std::min(kChunk, datagrams.size() - done);
    for (size_t i = 0; i < n; ++i) {
      const Datagram& d = datagrams[done + i];
      iovs[i].iov_base = d.buffer.data();
      iovs[i].iov_len = std::min(d.size, d.buffer.size());
      msgs[i] = mmsghdr{};
      msgs[i].msg_hdr.msg_name = const_cast<sockaddr*>(d.peer.sockaddr_ptr());
      msgs[i].msg_hdr.msg_namelen = d.peer.sockaddr_len();
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int r = ::sendmmsg(fd_, msgs.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
    if (r < 0) {
      last_errno_ = errno;
      if (last_errno_ == EINTR) continue;
      if (last_errno_ == EAGAIN || last_errno_ == EWOULDBLOCK || last_errno_ == ENOBUFS) {
        ++counters_.send_would_block;
        return done;
      }
      // The first datagram of the chunk failed for another reason: drop it and go on.
      ++counters_.send_errors;
      ++done;
      continue;
    }
    for (int i = 0; i < r; ++i) counters_.bytes_sent += msgs[static_cast<size_t>(i)].msg_len;
    counters_.datagrams_sent += static_cast<uint64_t>(r);
    done += static_cast<size_t>(r);
  }
  return done;
}

Status UdpSocket::send_to(std::span<const uint8_t> data, const SocketAddress& peer) {
  Datagram d;
  d.buffer = std::span<uint8_t>(const_cast<uint8_t*>(data.data()), data.size());  // sendmmsg only reads
  d.size = data.size();
  d.peer = peer;
  const uint64_t errors_before = counters_.send_errors;
  auto sent = send_batch(std::span<const Datagram>(&d, 1));
  if (!sent) return Error{sent.error()};
  if (*sent != 1) return Error{"udp: send would block"};
  if (counters_.send_errors != errors_before) return Error{"udp: send failed"};
  return Status::Ok();
}

Result<size_t> UdpSocket::receive_batch(std::span<Datagram> slots) {
  if (fd_ < 0) return Error{"udp: socket not open"};
  std::array<mmsghdr, kChunk> msgs;
  std::array<iovec, kChunk> iovs;
  std::array<sockaddr_storage, kChunk> addrs;
  size_t done = 0;
  while (done < slots.size()) {
    const size_t n = std::min(kChunk, slots.size() - done);
    for (size_t i = 0; i < n; ++i) {
      Datagram& d = slots[done + i];
      iovs[i].iov_base = d.buffer.data();
      iovs[i].iov_len = d.buffer.size();
      msgs[i] = mmsghdr{};
      msgs[i].msg_hdr.msg_name = &addrs[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int r = ::recvmmsg(fd_, msgs.data(), static_cast<unsigned>(n), MSG_DONTWAIT, nullptr);
    if (r < 0) {
      last_errno_ = errno;
      if (last_errno_ == EINTR) continue;
      if (last_errno_ == EAGAIN || last_errno_ == EWOULDBLOCK) {
        if (done == 0) ++counters_.receive_would_block;
        return done;
      }
      ++counters_.receive_errors;
      // Pending ICMP errors (ECONNREFUSED) are reported once and cleared; other errors end the call.
      if (last_errno_ == ECONNREFUSED) continue;
      if (done > 0) return done;
      return Error{"udp: recvmmsg failed"};
    }
    for (size_t i = 0; i < static_cast<size_t>(r); ++i) {
      Datagram& d = slots[done + i];
      d.truncated = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
      d.size = std::min<size_t>(msgs[i].msg_len, d.buffer.size());
      d.peer = SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&addrs[i]), msgs[i].msg_hdr.msg_namelen);
      counters_.bytes_received += d.size;
      if (d.truncated) ++counters_.truncated;
    }
    counters_.datagrams_received += static_cast<uint64_t>(r);
    done += static_cast<size_t>(r);
    if (static_cast<size_t>(r) < n) break;  // queue drained
  }
  return done;
}

Result<size_t> UdpSocket::read_errors(std::span<IcmpError> out) {
  if (fd_ < 0) return Error{"udp: socket not open"};
  size_t n = 0;
  // Bounded: every pass either fills one slot, drops one queued error, or ends the loop.
  for (size_t pass = 0; n < out.size() && pass < 4 * out.size() + 4; ++pass) {
    sockaddr_storage addr{};
    alignas(cmsghdr) uint8_t control[512];
    uint8_t first_byte = 0;  // the offending datagram's payload is not needed
    iovec iov{&first_byte, 1};
    msghdr msg{};
    msg.msg_name = &addr;
    msg.msg_namelen = sizeof(addr);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    if (::recvmsg(fd_, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
      last_errno_ = errno;
      if (last_errno_ == EINTR) continue;
      if (last_errno_ == EAGAIN || last_errno_ == EWOULDBLOCK) break;
      return Error{"udp: recvmsg(MSG_ERRQUEUE) failed"};
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      const bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
      const bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
      if ((!v4 && !v6) || c->cmsg_len < CMSG_LEN(sizeof(sock_extended_err))) continue;
      sock_extended_err ee;
      std::memcpy(&ee, CMSG_DATA(c), sizeof(ee));
      out[n].error = static_cast<int>(ee.ee_errno);
      out[n].destination = SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&addr), msg.msg_namelen);
      ++n;
      ++counters_.icmp_errors;
      break;
    }
  }
  return n;
}

}  // namespace tern::transport
