// Test harness: ICE agents on netsim's addressed Internet. IceHost drives one IceAgent on one
// netsim host (socket ids = index into its bound addresses), StunServer answers Binding requests.
// Relayed candidates are real TURN allocations: NetsimIceRelay in turn_netsim.h puts a TurnClient
// (through ice::TurnRelayTransport) on an IceHost's socket. Candidate and credential signalling is
// done by the test through the event loop.
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
    if (after_flush) after_flush(now);
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
  // Lets a TURN client claim datagrams from its server before the agent sees them.
  std::function<bool(netsim::Datagram&, Timestamp)> relay_hook;
  // Runs after each flush: a TURN client sends what the agent queued through it.
  std::function<void(Timestamp)> after_flush;

 private:
  netsim::Internet& net_;
  netsim::HostId host_;
  std::vector<TransportAddress> sockets_;
};

}  // namespace tern::test
