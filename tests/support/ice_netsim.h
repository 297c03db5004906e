// Test harness: ICE agents on netsim's addressed Internet. IceHost drives one IceAgent on one
// netsim host (socket ids = index into its bound addresses), StunServer answers Binding requests,
// FakeTurn is a minimal in-test relay standing in for the TURN client until it lands: the agent's
// RelayTransport hook tunnels (peer, payload) to a public relay host that forwards from a relayed
// port. Candidate and credential signalling is done by the test through the event loop.
#pragma once

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "tern/core/ip_address.h"
#include "tern/ice/core_address.h"
#include "tern/ice/ice_agent.h"
#include "tern/netsim/event_loop.h"
#include "tern/netsim/internet.h"

namespace tern::test {

inline ice::TransportAddress to_ice(const TransportAddress& a) { return ice::from_core(a); }
inline TransportAddress from_ice(const ice::TransportAddress& a) { return ice::to_core(a); }

// Answers STUN Binding requests with XOR-MAPPED-ADDRESS (RFC 8489 without authentication).
class StunServer : public netsim::DatagramReceiver {
 public:
  StunServer(netsim::Internet& net, netsim::HostId host) : net_(net), host_(host) {}
  void on_datagram(netsim::HostId, netsim::Datagram d, Timestamp now) override {
    auto msg = ice::StunMessage::parse(d.data);
    if (!msg || !msg->is(ice::StunClass::kRequest, ice::StunMethod::kBinding)) return;
    ice::StunMessageBuilder b(ice::StunClass::kSuccess, ice::StunMethod::kBinding, msg->transaction_id());
    b.add_xor_mapped_address(to_ice(d.source));
    b.add_fingerprint();
    auto bytes = std::move(b).finish();
    if (bytes) (void)net_.send(host_, netsim::Datagram{d.destination, d.source, std::move(*bytes)}, now);
    ++answered;
  }
  int answered = 0;

 private:
  netsim::Internet& net_;
  netsim::HostId host_;
};

// One IceAgent on one netsim host.
class IceHost : public netsim::DatagramReceiver, public Pollable {
 public:
  IceHost(netsim::Internet& net, netsim::HostId host) : net_(net), host_(host) { net_.set_receiver(host, this); }

  // Binds one socket per address (port 0: ephemeral) and creates the agent.
  void create(ice::IceAgentConfig config, const std::vector<TransportAddress>& binds) {
    for (const TransportAddress& b : binds) {
      sockets_.push_back(net_.bind(host_, b).value());
      config.sockets.push_back(ice::LocalSocket{static_cast<ice::SocketId>(sockets_.size() - 1), to_ice(sockets_.back()), {}});
    }
    agent.emplace(ice::IceAgent::Create(std::move(config)).value());
  }

  void on_datagram(netsim::HostId, netsim::Datagram d, Timestamp now) override {
    if (relay_hook && relay_hook(d, now)) {
      flush(now);
      return;
    }
    for (size_t i = 0; i < sockets_.size(); ++i) {
      if (sockets_[i] != d.destination) continue;
      if (agent->on_datagram(static_cast<ice::SocketId>(i), to_ice(d.source), d.data, now) ==
          ice::IceAgent::Inbound::kApplication)
        app_received.push_back(std::move(d.data));
    }
    flush(now);
  }
  std::optional<Timestamp> next_wakeup() const override { return agent->next_wakeup(); }
  void process(Timestamp now) override {
    agent->process(now);
    flush(now);
  }
  // Sends the agent's datagrams and hands its events to on_event.
  void flush(Timestamp now) {
    for (ice::IceOutgoing& o : agent->take_outgoing()) send_raw(o.socket, from_ice(o.destination), std::move(o.data), now);
    while (auto e = agent->poll_event()) {
      if (e->kind == ice::IceEvent::Kind::kSelectedPair && !connected_at) connected_at = now;
      if (e->kind == ice::IceEvent::Kind::kStateChanged && e->state == ice::IceState::kFailed && !failed_at) failed_at = now;
      events.push_back(*e);
      if (on_event) on_event(*e, now);
    }
  }
  void send_raw(size_t socket, const TransportAddress& to, std::vector<uint8_t> data, Timestamp now) {
    (void)net_.send(host_, netsim::Datagram{sockets_.at(socket), to, std::move(data)}, now);  // family checked by the agent
  }
  const TransportAddress& socket_address(size_t i) const { return sockets_.at(i); }

  std::optional<ice::IceAgent> agent;
  std::vector<ice::IceEvent> events;
  std::vector<std::vector<uint8_t>> app_received;
  std::optional<Timestamp> connected_at;
  std::optional<Timestamp> failed_at;
  std::function<void(const ice::IceEvent&, Timestamp)> on_event;
  // Lets a FakeTurn client claim datagrams from its relay server before the agent sees them.
  std::function<bool(netsim::Datagram&, Timestamp)> relay_hook;

 private:
  netsim::Internet& net_;
  netsim::HostId host_;
  std::vector<TransportAddress> sockets_;
};

// In-test relay: a public host with a control port; each client gets a relayed port. Tunnel
// format on the control path: 4-byte IPv4 + 2-byte port of the peer, then the payload.
class FakeTurnServer : public netsim::DatagramReceiver {
 public:
  FakeTurnServer(netsim::Internet& net, netsim::HostId host, TransportAddress control)
      : net_(net), host_(host), control_(net.bind(host, control).value()) {
    net_.set_receiver(host, this);
  }
  const TransportAddress& control() const { return control_; }

  void on_datagram(netsim::HostId, netsim::Datagram d, Timestamp now) override {
    if (d.destination == control_) {
      if (d.data.size() < 6) return;
      auto [it, fresh] = clients_.try_emplace(d.source);
      if (fresh) it->second = net_.bind(host_, TransportAddress{control_.ip, 0}).value();
      TransportAddress peer{IpAddress::V4(d.data[0], d.data[1], d.data[2], d.data[3]),
                            static_cast<uint16_t>((d.data[4] << 8) | d.data[5])};
      if (peer.port == 0) {  // allocation request: answer with the relayed address
        (void)net_.send(host_, netsim::Datagram{control_, d.source, encode(it->second, {})}, now);
        return;
      }
      (void)net_.send(host_, netsim::Datagram{it->second, peer, {d.data.begin() + 6, d.data.end()}}, now);
      return;
    }
    for (const auto& [client, relayed] : clients_)
      if (relayed == d.destination) (void)net_.send(host_, netsim::Datagram{control_, client, encode(d.source, d.data)}, now);
  }
  static std::vector<uint8_t> encode(const TransportAddress& a, std::span<const uint8_t> payload) {
    std::vector<uint8_t> out(a.ip.bytes(), a.ip.bytes() + 4);
    out.push_back(static_cast<uint8_t>(a.port >> 8));
    out.push_back(static_cast<uint8_t>(a.port));
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
  }

 private:
  netsim::Internet& net_;
  netsim::HostId host_;
  TransportAddress control_;
  std::map<TransportAddress, TransportAddress> clients_;
};

// The client side, as the ICE agent's RelayTransport, tunnelling through its host's socket 0.
class FakeTurnClient : public ice::RelayTransport {
 public:
  FakeTurnClient(IceHost& host, TransportAddress server) : host_(host), server_(server) {
    host_.relay_hook = [this](netsim::Datagram& d, Timestamp now) {
      if (d.source != server_ || d.data.size() < 6) return false;
      TransportAddress from{IpAddress::V4(d.data[0], d.data[1], d.data[2], d.data[3]),
                            static_cast<uint16_t>((d.data[4] << 8) | d.data[5])};
      std::span<const uint8_t> payload(d.data.data() + 6, d.data.size() - 6);
      if (!relayed_) {
        relayed_ = to_ice(from);
        return true;
      }
      if (host_.agent->on_relayed_datagram(this, to_ice(from), payload, now) == ice::IceAgent::Inbound::kApplication)
        host_.app_received.emplace_back(payload.begin(), payload.end());
      return true;
    };
  }
  void allocate(Timestamp now) { host_.send_raw(0, server_, FakeTurnServer::encode(TransportAddress{IpAddress::V4(0), 0}, {}), now); }
  std::optional<ice::TransportAddress> relayed_address() const override { return relayed_; }
  void add_permission(const ice::TransportAddress&, Timestamp) override { ++permissions; }
  void send_to(const ice::TransportAddress& peer, std::span<const uint8_t> data, Timestamp now) override {
    host_.send_raw(0, server_, FakeTurnServer::encode(from_ice(peer), data), now);
  }
  int permissions = 0;

 private:
  IceHost& host_;
  TransportAddress server_;
  std::optional<ice::TransportAddress> relayed_;
};

}  // namespace tern::test
