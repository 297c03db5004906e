#include "ice_tcp_driver.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "tern/ice/transport_address.h"

namespace tern::tools::sfu_tool {

Result<std::unique_ptr<IceTcpDriver>> IceTcpDriver::Open(const transport::SocketAddress& at, size_t max_send_queue, int worker) {
  std::unique_ptr<IceTcpDriver> d(new IceTcpDriver(max_send_queue, worker));
  d->epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (d->epoll_fd_ < 0) return Error{"tern-sfu: --tcp: epoll_create1 failed"};
  d->listener_ = ::socket(at.is_v6() ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (d->listener_ < 0) return Error{"tern-sfu: --tcp: socket() failed"};
  const int one = 1;
  (void)::setsockopt(d->listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));  // eases restarts only
  if (::bind(d->listener_, at.sockaddr_ptr(), at.sockaddr_len()) != 0 || ::listen(d->listener_, 64) != 0)
    return Error{"tern-sfu: --tcp: cannot listen (address in use?)"};
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  if (::getsockname(d->listener_, reinterpret_cast<sockaddr*>(&local), &len) != 0)
    return Error{"tern-sfu: --tcp: getsockname failed"};
  d->local_ = transport::SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&local), len);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;  // the listener; connections are 1, 2, ...
  if (::epoll_ctl(d->epoll_fd_, EPOLL_CTL_ADD, d->listener_, &ev) != 0) return Error{"tern-sfu: --tcp: epoll_ctl failed"};
  return d;
}

IceTcpDriver::~IceTcpDriver() {
  for (auto& [id, c] : conns_) ::close(c.fd);
  if (listener_ >= 0) ::close(listener_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

size_t IceTcpDriver::queued_bytes() const {
  size_t n = 0;
  for (const auto& [id, c] : conns_) n += c.queue.size() - c.sent;
  return n;
}

void IceTcpDriver::on_readable(Timestamp now) {
  std::array<epoll_event, 64> events;
  const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 0);
  for (int i = 0; i < n; ++i) {
    const sfu::ConnectionId id = events[i].data.u64;
    if (id == 0) {
      accept_some(now);
      continue;
    }
    if (conns_.count(id) == 0) continue;  // closed by an earlier event of this round
    if (events[i].events & EPOLLOUT) write_queue(id);
    if (conns_.count(id) != 0 && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) read_some(id, now);
  }
}

void IceTcpDriver::send(sfu::ConnectionId id, std::span<const uint8_t> data) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;  // closed meanwhile
  Conn& c = it->second;
  size_t written = 0;
  if (c.queue.size() == c.sent) {  // nothing queued: straight to the kernel
    const ssize_t w = ::send(c.fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      drop(id, false);
      return;
    }
    written = w > 0 ? static_cast<size_t>(w) : 0;
    counters_.bytes_sent += written;
  }
  if (written == data.size()) return;
  if (c.queue.size() - c.sent + data.size() - written > max_send_queue_) {
    drop(id, true);  // the peer stopped reading
    return;
  }
  if (c.sent > 0 && (c.sent == c.queue.size() || c.sent >= max_send_queue_)) {  // the vector holds at most 2x the limit
    c.queue.erase(c.queue.begin(), c.queue.begin() + static_cast<std::ptrdiff_t>(c.sent));
    c.sent = 0;
  }
  c.queue.insert(c.queue.end(), data.begin() + static_cast<std::ptrdiff_t>(written), data.end());
  watch(id, c, true);
}

void IceTcpDriver::close_ended() {
  for (sfu::ConnectionId id : server_->take_closed_streams()) {
    auto it = conns_.find(id);
    if (it == conns_.end()) continue;
    ::close(it->second.fd);
    conns_.erase(it);
  }
}

void IceTcpDriver::accept_some(Timestamp now) {
  for (int round = 0; round < 16; ++round) {  // bounded; level-triggered: the rest next time
    sockaddr_storage from{};
    socklen_t len = sizeof(from);
    const int fd = ::accept4(listener_, reinterpret_cast<sockaddr*>(&from), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    const sfu::ConnectionId id = next_id_++;
    const auto peer = ice::TransportAddress::Parse(
        transport::SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&from), len).ip_string(),
        transport::SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&from), len).port());
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = id;
    if (!peer || server_->on_stream_opened(id, *peer, now) == sfu::StreamVerdict::kClose ||
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      if (peer) server_->on_stream_closed(id);
      ::close(fd);
      continue;
    }
    const int one = 1;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  // latency only
    // The kernel's share of a stalled peer's backlog: no autotuning up to tcp_wmem's max (megabytes).
    const int sndbuf = static_cast<int>(std::min<size_t>(max_send_queue_, 1 << 24));
    (void)::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    Conn& c = conns_[id];
    c.fd = fd;
    c.peer = peer->to_string();
    ++counters_.accepted;
  }
}

void IceTcpDriver::read_some(sfu::ConnectionId id, Timestamp now) {
  for (int round = 0; round < 4; ++round) {  // bounded: other connections get their turn
    const ssize_t r = ::recv(conns_.at(id).fd, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (r <= 0) {  // closed by the peer, or an error
      drop(id, false);
      return;
    }
    if (server_->on_stream_bytes(id, std::span<const uint8_t>(buffer_.data(), static_cast<size_t>(r)), now) ==
        sfu::StreamVerdict::kClose) {
      drop(id, false);
      return;
    }
    if (static_cast<size_t>(r) < buffer_.size()) return;
  }
}

void IceTcpDriver::write_queue(sfu::ConnectionId id) {
  Conn& c = conns_.at(id);
  while (c.sent < c.queue.size()) {
    const ssize_t w = ::send(c.fd, c.queue.data() + c.sent, c.queue.size() - c.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (w <= 0) {
      drop(id, false);
      return;
    }
    c.sent += static_cast<size_t>(w);
    counters_.bytes_sent += static_cast<size_t>(w);
  }
  c.queue.clear();
  c.sent = 0;
  watch(id, c, false);
}

void IceTcpDriver::watch(sfu::ConnectionId id, Conn& c, bool out) {
  if (c.want_out == out) return;
  epoll_event ev{};
  ev.events = EPOLLIN | (out ? EPOLLOUT : 0u);
  ev.data.u64 = id;
  (void)::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  c.want_out = out;
}

void IceTcpDriver::drop(sfu::ConnectionId id, bool slow) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  if (slow) {
    ++counters_.slow_dropped;
    std::fprintf(stderr,
                 "tern-sfu: worker %d: ICE-TCP connection %llu from %s dropped: its peer stopped reading (%zu bytes "
                 "queued, the limit)\n",
                 worker_, static_cast<unsigned long long>(id), it->second.peer.c_str(), max_send_queue_);
  }
  ::close(it->second.fd);  // also leaves the epoll set
  conns_.erase(it);
  server_->on_stream_closed(id);
}

}  // namespace tern::tools::sfu_tool
