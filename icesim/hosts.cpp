#include "tern/icesim/hosts.h"

#include <string>
#include <utility>

#include "tern/core/byte_io.h"
#include "tern/ice/stun_message.h"

namespace tern::icesim {

// --- StunServer -------------------------------------------------------------------------------

void StunServer::on_datagram(netsim::HostId, netsim::Datagram d, Timestamp now) {
  auto msg = ice::StunMessage::parse(d.data);
  if (!msg || !msg->is(ice::StunClass::kRequest, ice::StunMethod::kBinding)) return;
  ice::StunMessageBuilder b(ice::StunClass::kSuccess, ice::StunMethod::kBinding, msg->transaction_id());
  b.add_xor_mapped_address(to_ice(d.source));
  b.add_fingerprint();
  auto bytes = std::move(b).finish();
  if (!bytes) return;  // an answer with two attributes always fits; nothing to send otherwise
  // A send fails only for an unbound source: the request arrived on that address.
  (void)net_.send(host_, netsim::Datagram{d.destination, d.source, std::move(*bytes)}, now);
  ++answered_;
}

// --- IceHost ----------------------------------------------------------------------------------

IceHost::IceHost(netsim::Internet& net, netsim::HostId host) : net_(net), host_(host) { net_.set_receiver(host, this); }

Status IceHost::create(ice::IceAgentConfig config, const std::vector<TransportAddress>& binds) {
  for (const TransportAddress& b : binds) {
    auto bound = net_.bind(host_, b);
    if (!bound) return Error{bound.error()};
    sockets_.push_back(*bound);
    config.sockets.push_back(
        ice::LocalSocket{static_cast<ice::SocketId>(sockets_.size() - 1), to_ice(sockets_.back()), {}});
  }
  auto created = ice::IceAgent::Create(std::move(config));
  if (!created) return Error{created.error()};
  agent.emplace(std::move(created).value());
  return Status::Ok();
}

void IceHost::on_datagram(netsim::HostId, netsim::Datagram d, Timestamp now) {
  if (relay_hook && relay_hook(d, now)) {
    flush(now);
    return;
  }
  for (size_t i = 0; i < sockets_.size(); ++i) {
    if (sockets_[i] != d.destination) continue;
    if (agent->on_datagram(static_cast<ice::SocketId>(i), to_ice(d.source), d.data, now) ==
        ice::IceAgent::Inbound::kApplication) {
      deliver_application(std::move(d), now);
    }
    break;
  }
  flush(now);
}

void IceHost::deliver_application(netsim::Datagram&& d, Timestamp now) {
  if (on_application) {
    on_application(std::move(d), now);
  } else {
    app_received.push_back(std::move(d.data));
  }
}

void IceHost::process(Timestamp now) {
  agent->process(now);
  flush(now);
}

Status IceHost::send_application(std::span<const uint8_t> data, const Origin& origin, Timestamp now) {
  origin_ = origin;
  Status st = agent->send(data, now);
  flush(now);
  origin_ = Origin{};
  if (!st.ok()) ++send_failures_;
  return st;
}

void IceHost::flush(Timestamp now) {
  for (ice::IceOutgoing& o : agent->take_outgoing()) send_raw(o.socket, from_ice(o.destination), std::move(o.data), now);
  while (auto e = agent->poll_event()) {
    if (e->kind == ice::IceEvent::Kind::kSelectedPair && !connected_at) connected_at = now;
    if (e->kind == ice::IceEvent::Kind::kStateChanged && e->state == ice::IceState::kFailed && !failed_at) failed_at = now;
    events.push_back(*e);
    if (on_event) on_event(*e, now);
  }
  if (after_flush) after_flush(now);
}

void IceHost::send_raw(size_t socket, const TransportAddress& to, std::vector<uint8_t> data, Timestamp now) {
  netsim::Datagram d{sockets_.at(socket), to, std::move(data)};
  origin_.stamp(d);
  // Fails only on a family mismatch, which the agent rules out when it pairs candidates.
  (void)net_.send(host_, std::move(d), now);
}

// --- TurnServerHost ---------------------------------------------------------------------------

Result<std::unique_ptr<TurnServerHost>> TurnServerHost::Create(netsim::Internet& net, netsim::HostId host,
                                                               const TransportAddress& listen,
                                                               ice::TurnServerConfig config) {
  auto bound = net.bind(host, listen);
  if (!bound) return Error{bound.error()};
  std::unique_ptr<TurnServerHost> h(new TurnServerHost(net, host, *bound));
  auto server = ice::TurnServer::Create(std::move(config), h.get());
  if (!server) {
    net.unbind(host, *bound);
    return Error{server.error()};
  }
  h->server_.emplace(std::move(server).value());
  net.set_receiver(host, h.get());
  return h;
}

std::optional<ice::RelayPorts::Opened> TurnServerHost::open(const ice::TransportAddress&, Timestamp) {
  auto bound = net_.bind(host_, TransportAddress{listen_.ip, 0});
  if (!bound) return std::nullopt;
  const ice::RelayId id = next_id_++;
  relays_[id] = *bound;
  return Opened{id, to_ice(*bound)};
}

void TurnServerHost::close(ice::RelayId id) {
  const auto it = relays_.find(id);
  if (it == relays_.end()) return;
  net_.unbind(host_, it->second);
  relays_.erase(it);
}

void TurnServerHost::on_datagram(netsim::HostId, netsim::Datagram d, Timestamp now) {
  const Origin origin = Origin::of(d);
  if (d.destination == listen_) {
    server_->on_client_datagram(0, to_ice(d.source), d.data, now);
  } else {
    for (const auto& [id, addr] : relays_) {
      if (addr != d.destination) continue;
      server_->on_peer_datagram(id, to_ice(d.source), d.data, now);
      break;
    }
  }
  flush(now, origin);
}

void TurnServerHost::process(Timestamp now) {
  server_->process(now);
  flush(now, Origin{});
}

void TurnServerHost::flush(Timestamp now, const Origin& origin) {
  while (auto out = server_->pop_outgoing()) {
    TransportAddress from = listen_;
    if (out->from == ice::TurnServerDatagram::From::kRelay) {
      const auto it = relays_.find(out->socket);
      if (it == relays_.end()) continue;  // closed meanwhile
      from = it->second;
    }
    netsim::Datagram d{from, from_ice(out->to), std::move(out->data)};
    origin.stamp(d);
    // A send fails only for an unbound source, which the lookup above rules out.
    (void)net_.send(host_, std::move(d), now);
  }
}

// --- TurnClientHost ---------------------------------------------------------------------------

Result<std::unique_ptr<TurnClientHost>> TurnClientHost::Create(netsim::Internet& net, netsim::HostId host,
                                                               const TransportAddress& local,
                                                               const TransportAddress& server,
                                                               ice::TurnClientConfig config) {
  auto client = ice::TurnClient::Create(std::move(config));
  if (!client) return Error{client.error()};
  auto bound = net.bind(host, local);
  if (!bound) return Error{bound.error()};
  std::unique_ptr<TurnClientHost> h(new TurnClientHost(net, host, *bound, server, std::move(client).value()));
  net.set_receiver(host, h.get());
  return h;
}

void TurnClientHost::on_datagram(netsim::HostId, netsim::Datagram d, Timestamp now) {
  if (d.source == server_) client.on_datagram(d.data, now);
  flush(now);
}

void TurnClientHost::process(Timestamp now) {
  client.process(now);
  flush(now);
}

void TurnClientHost::flush(Timestamp now) {
  while (auto out = client.pop_outgoing())
    (void)net_.send(host_, netsim::Datagram{local_, server_, std::move(*out)}, now);  // local_ is bound
}

// --- IceRelay ---------------------------------------------------------------------------------

namespace {
bool is_binding(std::span<const uint8_t> data) {
  if (!ice::looks_like_stun(data)) return false;
  return ice::stun_message_method(load_be16(data.data())) == static_cast<uint16_t>(ice::StunMethod::kBinding);
}
}  // namespace

IceRelay::IceRelay(IceHost& host, size_t socket, const TransportAddress& server, ice::TurnClient client, Timestamp now)
    : host_(host), socket_(socket), server_(server), relay(std::move(client)) {
  host_.relay_hook = [this](netsim::Datagram& d, Timestamp at) {
    if (d.source != server_ || d.destination != host_.socket_address(socket_)) return false;
    // The server is the agent's STUN server too: Binding answers (server-reflexive gathering) are
    // the agent's, never the TURN client's (which sends no Binding request).
    if (is_binding(d.data)) return false;
    relay.client().on_datagram(d.data, at);
    const Origin origin = Origin::of(d);
    relay.deliver(*host_.agent, at, [&](const ice::TransportAddress& peer, std::span<const uint8_t> data) {
      netsim::Datagram app{from_ice(peer), host_.socket_address(socket_), {data.begin(), data.end()}};
      origin.stamp(app);
      host_.deliver_application(std::move(app), at);
    });
    return true;  // IceHost flushes next, and after_flush sends what the client queued
  };
  host_.after_flush = [this](Timestamp at) { send_pending(at); };
  host_.agent->add_relay(&relay, now);
}

void IceRelay::allocate(Timestamp now) {
  relay.client().allocate(now);
  send_pending(now);
}

void IceRelay::process(Timestamp now) {
  relay.client().process(now);
  send_pending(now);
}

void IceRelay::send_pending(Timestamp now) {
  while (auto out = relay.client().pop_outgoing()) host_.send_raw(socket_, server_, std::move(*out), now);
}

}  // namespace tern::icesim
