// TurnRelay: ice::TurnServer on real UDP sockets with netsim links on relayed traffic; see
// turn_relay.h.
#include "tern/tools/turn/turn_relay.h"

#include <netinet/in.h>

#include <cstring>

#include "tern/ice/core_address.h"

namespace tern::tools::turn {
namespace {

constexpr uint64_t kFromRelayBit = uint64_t{1} << 32;

}  // namespace

ice::TransportAddress to_ice_address(const transport::SocketAddress& a) {
  ice::TransportAddress t;
  if (a.is_v6()) {
    const auto* sa = reinterpret_cast<const sockaddr_in6*>(a.sockaddr_ptr());
    t.family = ice::TransportAddress::Family::kIPv6;
    std::memcpy(t.ip.data(), &sa->sin6_addr, 16);
  } else {
    const auto* sa = reinterpret_cast<const sockaddr_in*>(a.sockaddr_ptr());
    std::memcpy(t.ip.data(), &sa->sin_addr, 4);
  }
  t.port = a.port();
  return t;
}

transport::SocketAddress to_socket_address(const ice::TransportAddress& a) {
  if (a.is_v6()) {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(a.port);
    std::memcpy(&sa.sin6_addr, a.ip.data(), 16);
    return transport::SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&sa), sizeof(sa));
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(a.port);
  std::memcpy(&sa.sin_addr, a.ip.data(), 4);
  return transport::SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&sa), sizeof(sa));
}

Result<std::unique_ptr<TurnRelay>> TurnRelay::Open(TurnRelayConfig config, transport::EpollDriver& driver) {
  if (config.min_port == 0 || config.min_port > config.max_port) return Error{"bad relay port range"};
  if (!transport::SocketAddress::Parse(config.relay_ip, 0)) return Error{"bad relay ip"};
  auto listener = transport::UdpSocket::Open(config.listen);
  if (!listener) return Error{listener.error()};
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
  if (Status st = driver.add_pollable(self); !st.ok()) return Error{st.error()};
  return relay;
}

TurnRelay::TurnRelay(TurnRelayConfig config, transport::EpollDriver& driver, transport::UdpSocket listener)
    : config_(std::move(config)), driver_(driver), listener_(std::move(listener)), next_port_(config_.min_port),
      batch_(32, 65536) {}

TurnRelay::~TurnRelay() {
  driver_.remove_pollable(this);
  // Unregistering fails only for fds never registered: nothing to undo then.
  if (listener_.is_open()) (void)driver_.remove_fd(listener_.fd());
  for (auto& [id, socket] : relays_) (void)driver_.remove_fd(socket.fd());
}

TurnRelayStats TurnRelay::stats() const {
  TurnRelayStats s = stats_;
  s.relay_ports_open = relays_.size();
  if (to_peer_) s.to_peer = to_peer_->stats();
  if (to_client_) s.to_client = to_client_->stats();
  return s;
}

std::optional<TurnRelay::Opened> TurnRelay::bind_port(uint16_t port) {
  if (relays_.size() + kReservedFds >= transport::EpollDriver::kMaxFds) return std::nullopt;
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
      server_->on_client_datagram(0, to_ice_address(batch_[i].peer), batch_[i].data(), now);
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
  return t;
}

void TurnRelay::process(Timestamp now) {
  server_->process(now);
  flush(now);
}

}  // namespace tern::tools::turn
