// TurnRelay: ice::TurnServer on real UDP sockets with netsim links on relayed traffic; see
// turn_relay.h.
#include "tern/tools/turn/turn_relay.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <cstring>

#include "tern/ice/core_address.h"

namespace tern::tools::turn {
namespace {

constexpr uint64_t kFromRelayBit = uint64_t{1} << 32;

}  // namespace

ice::TransportAddress to_ice_address(const transport::SocketAddress& a) { return ice::from_core(a.to_core()); }

transport::SocketAddress to_socket_address(const ice::TransportAddress& a) {
  return transport::SocketAddress::FromCore(ice::to_core(a));
}

Result<std::unique_ptr<TurnRelay>> TurnRelay::Open(TurnRelayConfig config, transport::EpollDriver& driver) {
  if (config.min_port == 0 || config.min_port > config.max_port) return Error{"bad relay port range"};
  if (!transport::SocketAddress::Parse(config.relay_ip, 0)) return Error{"bad relay ip"};
  auto listener = transport::UdpSocket::Open(config.listen);
  if (!listener) return Error{listener.error()};
  if (config.max_tcp_connections > 0) config.server.stream_listeners = {kTcpListener};
  std::unique_ptr<TurnRelay> relay(new TurnRelay(std::move(config), driver, std::move(listener).value()));
  auto server = ice::TurnServer::Create(relay->config_.server, relay.get());
  if (!server) return Error{server.error()};
  relay->server_.emplace(std::move(server).value());
  if (relay->config_.impairment) {
    netsim::LinkConfig up = *relay->config_.impairment;
    netsim::LinkConfig down = up;
    down.seed = up.seed + 1;
    auto a = netsim::Link::Create(up);
    if (!a) return Error{a.error()};
    auto b = netsim::Link::Create(down);
    if (!b) return Error{b.error()};
    relay->to_peer_.emplace(std::move(a).value());
    relay->to_client_.emplace(std::move(b).value());
  }
  TurnRelay* self = relay.get();
  if (Status st = driver.add_fd(self->listener_.fd(), [self](Timestamp now) { self->on_listener_readable(now); });
      !st.ok())
    return Error{st.error()};
  if (relay->config_.max_tcp_connections > 0) {
    if (Status st = relay->open_tcp_listener(); !st.ok()) return Error{st.error()};
  }
  if (Status st = driver.add_pollable(self); !st.ok()) return Error{st.error()};
  return relay;
}

Status TurnRelay::open_tcp_listener() {
  const transport::SocketAddress& at = listener_.local_address();  // the UDP port, now known
  const int fd = ::socket(at.is_v6() ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{"tcp socket() failed"};
  const int one = 1;
  (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));  // only eases restarts
  if (::bind(fd, at.sockaddr_ptr(), at.sockaddr_len()) != 0 || ::listen(fd, 16) != 0) {
    ::close(fd);
    return Error{"tcp listener: address in use"};
  }
  if (Status st = driver_.add_fd(fd, [this](Timestamp now) { on_tcp_accept(now); }); !st.ok()) {
    ::close(fd);
    return st;
  }
  tcp_listener_ = fd;
  return Status::Ok();
}

void TurnRelay::on_tcp_accept(Timestamp now) {
  for (int round = 0; round < 16; ++round) {  // bounded; level-triggered epoll wakes us again
    sockaddr_storage from{};
    socklen_t len = sizeof(from);
    const int fd = ::accept4(tcp_listener_, reinterpret_cast<sockaddr*>(&from), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    const bool room = tcp_.size() < config_.max_tcp_connections &&
                      relays_.size() + tcp_.size() + kReservedFds < transport::EpollDriver::kMaxFds;
    if (!room || !driver_.add_fd(fd, [this, fd](Timestamp t) { on_tcp_readable(fd, t); }).ok()) {
      ::close(fd);
      ++stats_.tcp_refused;
      continue;
    }
    const int one = 1;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  // latency only
    auto c = std::make_unique<TcpConnection>();
    c->fd = fd;
    c->client = to_ice_address(transport::SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&from), len));
    c->idle_deadline = now + kTcpIdleTimeout;
    tcp_.push_back(std::move(c));
    ++stats_.tcp_accepted;
  }
}

TurnRelay::TcpConnection* TurnRelay::find_tcp(const ice::TransportAddress& client) {
  for (auto& c : tcp_)
    if (c->client == client && !c->dead) return c.get();
  return nullptr;
}

void TurnRelay::on_tcp_readable(int fd, Timestamp now) {
  const auto it = std::find_if(tcp_.begin(), tcp_.end(), [fd](const auto& c) { return c->fd == fd; });
  if (it == tcp_.end()) return;
  TcpConnection& c = **it;
  for (int round = 0; round < 16 && !c.dead; ++round) {
    uint8_t buf[16384];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {  // closed by the client, or an error
      c.dead = true;
      break;
    }
    if (!c.framer.push(std::span<const uint8_t>(buf, static_cast<size_t>(n))).ok()) {
      ++stats_.tcp_stream_errors;
      c.dead = true;
      break;
    }
    for (auto m = c.framer.next(); !m.empty(); m = c.framer.next())
      server_->on_client_datagram(kTcpListener, c.client, m, now);
    if (c.framer.failed()) {
      ++stats_.tcp_stream_errors;
      c.dead = true;
    }
    flush(now);
  }
  sweep_tcp(now);
}

void TurnRelay::tcp_drain(TcpConnection& c) {
  size_t sent = 0;
  while (sent < c.pending.size()) {
    const ssize_t n = ::send(c.fd, c.pending.data() + sent, c.pending.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {
      c.dead = true;
      break;
    }
    sent += static_cast<size_t>(n);
  }
  c.pending.erase(c.pending.begin(), c.pending.begin() + static_cast<std::ptrdiff_t>(sent));
}

void TurnRelay::tcp_send(const ice::TransportAddress& to, std::span<const uint8_t> data) {
  TcpConnection* c = find_tcp(to);
  if (c == nullptr || c->pending.size() + data.size() > kTcpSendBuffer) {
    ++stats_.tcp_send_drops;  // whole message: the stream stays framed
    return;
  }
  c->pending.insert(c->pending.end(), data.begin(), data.end());
  tcp_drain(*c);
}

void TurnRelay::close_tcp(TcpConnection& c) {
  (void)driver_.remove_fd(c.fd);  // registered on accept; a failure leaves nothing to undo
  ::close(c.fd);
  server_->on_client_closed(kTcpListener, c.client);
  ++stats_.tcp_closed;
}

void TurnRelay::sweep_tcp(Timestamp now) {
  for (auto& c : tcp_) {
    if (c->dead) continue;
    if (server_->allocation(kTcpListener, c->client)) {
      c->idle_deadline = now + kTcpIdleTimeout;
    } else if (now >= c->idle_deadline) {
      ++stats_.tcp_idle_closed;
      c->dead = true;
    }
  }
  std::erase_if(tcp_, [this](const auto& c) {
    if (c->dead) close_tcp(*c);
    return c->dead;
  });
}

TurnRelay::TurnRelay(TurnRelayConfig config, transport::EpollDriver& driver, transport::UdpSocket listener)
    : config_(std::move(config)), driver_(driver), listener_(std::move(listener)), next_port_(config_.min_port),
      batch_(32, 65536) {}

TurnRelay::~TurnRelay() {
  driver_.remove_pollable(this);
  // Unregistering fails only for fds never registered: nothing to undo then.
  if (listener_.is_open()) (void)driver_.remove_fd(listener_.fd());
  for (auto& [id, socket] : relays_) (void)driver_.remove_fd(socket.fd());
  for (auto& c : tcp_) {
    (void)driver_.remove_fd(c->fd);
    ::close(c->fd);
  }
  if (tcp_listener_ >= 0) {
    (void)driver_.remove_fd(tcp_listener_);
    ::close(tcp_listener_);
  }
}

TurnRelayStats TurnRelay::stats() const {
  TurnRelayStats s = stats_;
  s.relay_ports_open = relays_.size();
  s.tcp_connections = tcp_.size();
  if (to_peer_) s.to_peer = to_peer_->stats();
  if (to_client_) s.to_client = to_client_->stats();
  return s;
}

std::optional<TurnRelay::Opened> TurnRelay::bind_port(uint16_t port) {
  if (relays_.size() + tcp_.size() + kReservedFds >= transport::EpollDriver::kMaxFds) return std::nullopt;
  auto local = transport::SocketAddress::Parse(config_.relay_ip, port);
  if (!local) return std::nullopt;
  auto socket = transport::UdpSocket::Open(*local);
  if (!socket) return std::nullopt;  // in use
  const ice::RelayId id = next_id_++;
  if (Status st = driver_.add_fd(socket->fd(), [this, id](Timestamp now) { on_relay_readable(id, now); }); !st.ok())
    return std::nullopt;
  const ice::TransportAddress address = to_ice_address(socket->local_address());
  relays_.emplace(id, std::move(socket).value());
  return Opened{id, address};
}

std::optional<TurnRelay::Opened> TurnRelay::open(const ice::TransportAddress&, Timestamp) {
  // Round robin over the range, at most 4096 tries (bounded even for a huge range).
  const uint32_t range = uint32_t{config_.max_port} - config_.min_port + 1;
  for (uint32_t tries = 0; tries < range && tries < 4096; ++tries) {
    const uint16_t port = next_port_;
    next_port_ = port == config_.max_port ? config_.min_port : static_cast<uint16_t>(port + 1);
    if (auto opened = bind_port(port)) return opened;
  }
  ++stats_.relay_bind_failures;
  return std::nullopt;
}

std::optional<TurnRelay::Pair> TurnRelay::open_even(const ice::TransportAddress&, bool reserve_next, Timestamp) {
  const uint32_t range = uint32_t{config_.max_port} - config_.min_port + 1;
  for (uint32_t tries = 0; tries < range && tries < 4096; ++tries) {
    uint16_t port = next_port_;
    next_port_ = port >= config_.max_port - 1 ? config_.min_port : static_cast<uint16_t>(port + 2);
    if (port % 2 != 0) {
      if (port == config_.max_port) continue;
      ++port;
    }
    if (reserve_next && port == config_.max_port) continue;
    auto even = bind_port(port);
    if (!even) continue;
    if (!reserve_next) return Pair{*even, std::nullopt};
    if (auto next = bind_port(static_cast<uint16_t>(port + 1))) return Pair{*even, *next};
    close(even->id);
  }
  ++stats_.relay_bind_failures;
  return std::nullopt;
}

void TurnRelay::close(ice::RelayId id) {
  const auto it = relays_.find(id);
  if (it == relays_.end()) return;
  (void)driver_.remove_fd(it->second.fd());  // registered in open(); a failure leaves nothing to undo
  relays_.erase(it);
}

void TurnRelay::on_listener_readable(Timestamp now) {
  for (int round = 0; round < 16; ++round) {  // bounded; level-triggered epoll wakes us again
    auto n = listener_.receive_batch(batch_.slots());
    if (!n || *n == 0) break;
    for (size_t i = 0; i < *n; ++i)
      server_->on_client_datagram(kUdpListener, to_ice_address(batch_[i].peer), batch_[i].data(), now);
    flush(now);
  }
}

void TurnRelay::on_relay_readable(ice::RelayId id, Timestamp now) {
  for (int round = 0; round < 16; ++round) {
    const auto it = relays_.find(id);
    if (it == relays_.end()) return;
    auto n = it->second.receive_batch(batch_.slots());
    if (!n || *n == 0) break;
    for (size_t i = 0; i < *n; ++i) server_->on_peer_datagram(id, to_ice_address(batch_[i].peer), batch_[i].data(), now);
    flush(now);
  }
}

void TurnRelay::flush(Timestamp now) {
  while (auto d = server_->pop_outgoing()) {
    netsim::Link* link = !d->relayed                                          ? nullptr
                         : d->from == ice::TurnServerDatagram::From::kRelay ? (to_peer_ ? &*to_peer_ : nullptr)
                                                                              : (to_client_ ? &*to_client_ : nullptr);
    if (link == nullptr) {
      transmit(d->from, d->socket, d->to, d->data);
      continue;
    }
    netsim::SimPacket p;
    p.id = (d->from == ice::TurnServerDatagram::From::kRelay ? kFromRelayBit : 0) | d->socket;
    p.destination = ice::to_core(d->to);
    p.sent_time = now;
    p.overhead = DataSize::Bytes(28);  // IPv4 + UDP headers count against capacity
    p.data = std::move(d->data);
    link->send(std::move(p), now);
  }
  deliver_links(now);
}

void TurnRelay::deliver_links(Timestamp now) {
  for (netsim::Link* link : {to_peer_ ? &*to_peer_ : nullptr, to_client_ ? &*to_client_ : nullptr}) {
    if (link == nullptr) continue;
    for (netsim::SimPacket& p : link->process(now)) {
      const auto from = (p.id & kFromRelayBit) != 0 ? ice::TurnServerDatagram::From::kRelay
                                                    : ice::TurnServerDatagram::From::kListener;
      transmit(from, static_cast<uint32_t>(p.id), ice::from_core(p.destination), p.data);
    }
  }
}

void TurnRelay::transmit(ice::TurnServerDatagram::From from, uint32_t socket, const ice::TransportAddress& to,
                         std::span<const uint8_t> data) {
  if (from == ice::TurnServerDatagram::From::kListener && socket == kTcpListener) {
    tcp_send(to, data);
    return;
  }
  transport::UdpSocket* s = &listener_;
  if (from == ice::TurnServerDatagram::From::kRelay) {
    const auto it = relays_.find(socket);
    if (it == relays_.end()) {
      ++stats_.dropped_closed_relay;
      return;
    }
    s = &it->second;
  }
  if (!s->send_to(data, to_socket_address(to)).ok()) ++stats_.send_failures;
}

std::optional<Timestamp> TurnRelay::next_wakeup() const {
  std::optional<Timestamp> t = server_->next_wakeup();
  for (const auto* link : {to_peer_ ? &*to_peer_ : nullptr, to_client_ ? &*to_client_ : nullptr}) {
    if (link == nullptr) continue;
    if (auto w = link->next_wakeup(); w && (!t || *w < *t)) t = w;
  }
  for (const auto& c : tcp_) {
    // Pending bytes are retried every 5 ms (the driver watches for input only).
    const Timestamp w = c->pending.empty() ? c->idle_deadline : transport::EpollDriver::Now() + TimeDelta::Millis(5);
    if (!t || w < *t) t = w;
  }
  return t;
}

void TurnRelay::process(Timestamp now) {
  server_->process(now);
  flush(now);
  for (auto& c : tcp_)
    if (!c->pending.empty()) tcp_drain(*c);
  sweep_tcp(now);
}

}  // namespace tern::tools::turn
