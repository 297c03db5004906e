// Test harness: the real TURN server core (ice::TurnServer) and TURN client (ice::TurnClient) as
// ordinary hosts on netsim's addressed Internet.
//
// Why here: the adapter depends on both ice/ and netsim/, and neither may depend on the other
// (netsim depends only on core; ice only on core). Tests are the only users today; when
// tern-loopback's relay topology speaks TURN, this moves into a small module that depends on both.
//
//  - NetsimTurnServer: a TurnServer on a public host. It listens on one port (which also answers
//    STUN Binding requests, so the same host is the STUN server) and is the server's RelayPorts:
//    each allocation binds an ephemeral port on the host, released when the allocation ends.
//  - NetsimTurnClient: a TurnClient on a host (possibly behind NATs), bound to one local port.
//  - NetsimIceRelay: a TurnClient as an IceHost's relay (ice::TurnRelayTransport), sharing the
//    agent's socket with its checks as a WebRTC stack does: datagrams from the TURN server on that
//    socket go to the client, everything else to the agent.
// All are Pollables for netsim::EventLoop and send what their core produces at once.
#pragma once

#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "support/ice_netsim.h"  // to_ice / from_ice
#include "tern/core/pollable.h"
#include "tern/ice/turn_client.h"
#include "tern/ice/turn_relay_transport.h"
#include "tern/ice/turn_server.h"
#include "tern/netsim/internet.h"

namespace tern::test {

class NetsimTurnServer final : public netsim::DatagramReceiver, public ice::RelayPorts, public Pollable {
 public:
  // Binds `listen` on `host` and becomes its receiver.
  NetsimTurnServer(netsim::Internet& net, netsim::HostId host, const TransportAddress& listen,
                   ice::TurnServerConfig config)
      : net_(net), host_(host), listen_(net.bind(host, listen).value()),
        server_(ice::TurnServer::Create(std::move(config), this).value()) {
    net_.set_receiver(host, this);
  }

  const TransportAddress& listen_address() const { return listen_; }
  ice::TurnServer& server() { return server_; }

  // RelayPorts: an ephemeral port on the listening address.
  std::optional<Opened> open(const ice::TransportAddress&, Timestamp) override {
    auto bound = net_.bind(host_, TransportAddress{listen_.ip, 0});
    if (!bound) return std::nullopt;
    const ice::RelayId id = next_id_++;
    relays_[id] = *bound;
    return Opened{id, to_ice(*bound)};
  }
  void close(ice::RelayId id) override {
    const auto it = relays_.find(id);
    if (it == relays_.end()) return;
    net_.unbind(host_, it->second);
    relays_.erase(it);
  }

  void on_datagram(netsim::HostId, netsim::Datagram d, Timestamp now) override {
    if (d.destination == listen_) {
      server_.on_client_datagram(0, to_ice(d.source), d.data, now);
    } else {
      for (const auto& [id, addr] : relays_) {
        if (addr != d.destination) continue;
        server_.on_peer_datagram(id, to_ice(d.source), d.data, now);
        break;
      }
    }
    flush(now);
  }
  std::optional<Timestamp> next_wakeup() const override { return server_.next_wakeup(); }
  void process(Timestamp now) override {
    server_.process(now);
    flush(now);
  }
  size_t relay_ports() const { return relays_.size(); }

 private:
  void flush(Timestamp now) {
    while (auto out = server_.pop_outgoing()) {
      TransportAddress from = listen_;
      if (out->from == ice::TurnServerDatagram::From::kRelay) {
        const auto it = relays_.find(out->socket);
        if (it == relays_.end()) continue;  // closed meanwhile
        from = it->second;
      }
      // A send fails only for an unbound source, which the lookup above rules out.
      (void)net_.send(host_, netsim::Datagram{from, from_ice(out->to), std::move(out->data)}, now);
    }
  }

  netsim::Internet& net_;
  netsim::HostId host_;
  TransportAddress listen_;
  ice::TurnServer server_;
  std::map<ice::RelayId, TransportAddress> relays_;
  ice::RelayId next_id_ = 1;
};

class NetsimTurnClient final : public netsim::DatagramReceiver, public Pollable {
 public:
  NetsimTurnClient(netsim::Internet& net, netsim::HostId host, const TransportAddress& local,
                   const TransportAddress& server, ice::TurnClientConfig config)
      : net_(net), host_(host), local_(net.bind(host, local).value()), server_(server),
        client(ice::TurnClient::Create(std::move(config)).value()) {
    net_.set_receiver(host, this);
  }

  void on_datagram(netsim::HostId, netsim::Datagram d, Timestamp now) override {
    if (d.source == server_) client.on_datagram(d.data, now);
    flush(now);
  }
  std::optional<Timestamp> next_wakeup() const override { return client.next_wakeup(); }
  void process(Timestamp now) override {
    client.process(now);
    flush(now);
  }
  // Sends what the client queued (call after driving it directly).
  void flush(Timestamp now) {
    while (auto out = client.pop_outgoing())
      (void)net_.send(host_, netsim::Datagram{local_, server_, std::move(*out)}, now);  // local_ is bound
  }

  const TransportAddress& local() const { return local_; }

 private:
  netsim::Internet& net_;
  netsim::HostId host_;
  TransportAddress local_;
  TransportAddress server_;

 public:
  ice::TurnClient client;  // declared after the members its constructor call needs
};

class NetsimIceRelay final : public Pollable {
 public:
  // Registers with host.agent (which must exist) and claims the host's relay hooks.
  NetsimIceRelay(IceHost& host, size_t socket, const TransportAddress& server, ice::TurnClientConfig config,
                 Timestamp now)
      : host_(host), socket_(socket), server_(server), relay(ice::TurnClient::Create(std::move(config)).value()) {
    host_.relay_hook = [this](netsim::Datagram& d, Timestamp at) {
      if (d.source != server_ || d.destination != host_.socket_address(socket_)) return false;
      relay.client().on_datagram(d.data, at);
      relay.deliver(*host_.agent, at, [this](const ice::TransportAddress&, std::span<const uint8_t> data) {
        host_.app_received.emplace_back(data.begin(), data.end());
      });
      return true;  // IceHost flushes next, and after_flush sends what the client queued
    };
    host_.after_flush = [this](Timestamp at) { send_pending(at); };
    host_.agent->add_relay(&relay, now);
  }
  NetsimIceRelay(const NetsimIceRelay&) = delete;
  NetsimIceRelay& operator=(const NetsimIceRelay&) = delete;

  void allocate(Timestamp now) {
    relay.client().allocate(now);
    send_pending(now);
  }
  std::optional<Timestamp> next_wakeup() const override { return relay.client().next_wakeup(); }
  void process(Timestamp now) override {
    relay.client().process(now);
    send_pending(now);
  }

 private:
  void send_pending(Timestamp now) {
    while (auto out = relay.client().pop_outgoing()) host_.send_raw(socket_, server_, std::move(*out), now);
  }

  IceHost& host_;
  size_t socket_;
  TransportAddress server_;

 public:
  ice::TurnRelayTransport relay;  // declared after the members its constructor call needs
};

}  // namespace tern::test
