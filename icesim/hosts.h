// icesim: the ICE/STUN/TURN cores (ice/) as hosts on netsim's addressed Internet (netsim/internet.h).
// Neither ice/ nor netsim/ may depend on the other; this small module joins them for the tests, the
// benchmarks and tern-loopback's ICE topologies (relay, and direct through NATs).
//
//  - StunServer: answers Binding requests with XOR-MAPPED-ADDRESS (RFC 8489, no authentication).
//  - IceHost: one IceAgent on one host (socket ids = index into its bound addresses). Application
//    data the agent accepts goes to `on_application` (or is kept in `app_received`).
//  - TurnServerHost: an ice::TurnServer on a public host. It listens on one port (which also answers
//    STUN Binding requests, so the same host is the STUN server) and is the server's RelayPorts: each
//    allocation binds an ephemeral port on the host, released when the allocation ends.
//  - TurnClientHost: a TurnClient alone on a host (possibly behind NATs), bound to one local port.
//  - IceRelay: a TurnClient as an IceHost's relay (ice::TurnRelayTransport), sharing the agent's
//    socket with its checks as a WebRTC stack does: datagrams from the TURN server on that socket go
//    to the client, everything else to the agent.
// All are Pollables for netsim::EventLoop (or any driver) and send what their core produces at once.
//
// Origin: netsim::Datagram carries the first sender's send time and id. IceHost::send_application()
// stamps every datagram it causes (the data itself, or the ChannelData / Send indication that carries
// it to the TURN server) with the caller's origin, and TurnServerHost passes a client's origin on to
// the datagram it relays, so a receiver measures one-way delay and loss end to end across a relay.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "tern/core/pollable.h"
#include "tern/ice/core_address.h"
#include "tern/ice/ice_agent.h"
#include "tern/ice/turn_client.h"
#include "tern/ice/turn_relay_transport.h"
#include "tern/ice/turn_server.h"
#include "tern/netsim/internet.h"

namespace tern::icesim {

inline ice::TransportAddress to_ice(const TransportAddress& a) { return ice::from_core(a); }
inline TransportAddress from_ice(const ice::TransportAddress& a) { return ice::to_core(a); }

// The origin stamped on datagrams: see the header comment.
struct Origin {
  std::optional<Timestamp> sent_time;
  std::optional<uint64_t> id;
  bool duplicate = false;
  static Origin of(const netsim::Datagram& d) { return Origin{d.sent_time, d.id, d.duplicate}; }
  void stamp(netsim::Datagram& d) const {
    d.sent_time = sent_time;
    d.id = id;
    d.duplicate = duplicate;
  }
};

class StunServer final : public netsim::DatagramReceiver {
 public:
  StunServer(netsim::Internet& net, netsim::HostId host) : net_(net), host_(host) {}
  void on_datagram(netsim::HostId host, netsim::Datagram d, Timestamp now) override;
  uint64_t answered() const { return answered_; }

 private:
  netsim::Internet& net_;
  netsim::HostId host_;
  uint64_t answered_ = 0;
};

class IceHost final : public netsim::DatagramReceiver, public Pollable {
 public:
  // Becomes the host's receiver.
  IceHost(netsim::Internet& net, netsim::HostId host);

  // Binds one socket per address (port 0: ephemeral) and creates the agent. Fails when a bind or
  // the agent's configuration fails.
  Status create(ice::IceAgentConfig config, const std::vector<TransportAddress>& binds);

  void on_datagram(netsim::HostId host, netsim::Datagram d, Timestamp now) override;
  std::optional<Timestamp> next_wakeup() const override { return agent->next_wakeup(); }
  void process(Timestamp now) override;

  // Sends application data on the selected pair (IceAgent::send), every datagram it causes stamped
  // with `origin`. Fails as the agent does (no selected pair yet, closed).
  Status send_application(std::span<const uint8_t> data, const Origin& origin, Timestamp now);

  // Sends the agent's datagrams and hands its events to on_event.
  void flush(Timestamp now);
  void send_raw(size_t socket, const TransportAddress& to, std::vector<uint8_t> data, Timestamp now);
  const TransportAddress& socket_address(size_t i) const { return sockets_.at(i); }
  uint64_t send_failures() const { return send_failures_; }

  std::optional<ice::IceAgent> agent;
  std::vector<ice::IceEvent> events;  // every event, in order (bounded by the agent's own limits)
  std::vector<std::vector<uint8_t>> app_received;  // application data, when on_application is unset
  std::optional<Timestamp> connected_at;  // first selected pair
  std::optional<Timestamp> failed_at;
  std::function<void(const ice::IceEvent&, Timestamp)> on_event;
  // Application data the agent accepted (directly or through the relay), with its origin.
  std::function<void(netsim::Datagram&&, Timestamp)> on_application;
  // Lets a TURN client claim datagrams from its server before the agent sees them.
  std::function<bool(netsim::Datagram&, Timestamp)> relay_hook;
  // Runs after each flush: a TURN client sends what the agent queued through it.
  std::function<void(Timestamp)> after_flush;

  // Hands application data to on_application (or app_received).
  void deliver_application(netsim::Datagram&& d, Timestamp now);

 private:
  netsim::Internet& net_;
  netsim::HostId host_;
  std::vector<TransportAddress> sockets_;
  Origin origin_;  // stamped on what is sent while set (send_application, a relayed delivery)
  uint64_t send_failures_ = 0;
};

class TurnServerHost final : public netsim::DatagramReceiver, public ice::RelayPorts, public Pollable {
 public:
  // Binds `listen` on `host` and becomes its receiver.
  static Result<std::unique_ptr<TurnServerHost>> Create(netsim::Internet& net, netsim::HostId host,
                                                        const TransportAddress& listen, ice::TurnServerConfig config);

  const TransportAddress& listen_address() const { return listen_; }
  ice::TurnServer& server() { return *server_; }
  const ice::TurnServer& server() const { return *server_; }
  size_t relay_ports() const { return relays_.size(); }

  // RelayPorts: an ephemeral port on the listening address.
  std::optional<Opened> open(const ice::TransportAddress& client, Timestamp now) override;
  void close(ice::RelayId id) override;

  void on_datagram(netsim::HostId host, netsim::Datagram d, Timestamp now) override;
  std::optional<Timestamp> next_wakeup() const override { return server_->next_wakeup(); }
  void process(Timestamp now) override;

 private:
  TurnServerHost(netsim::Internet& net, netsim::HostId host, const TransportAddress& listen)
      : net_(net), host_(host), listen_(listen) {}
  void flush(Timestamp now, const Origin& origin);

  netsim::Internet& net_;
  netsim::HostId host_;
  TransportAddress listen_;
  std::optional<ice::TurnServer> server_;
  std::map<ice::RelayId, TransportAddress> relays_;
  ice::RelayId next_id_ = 1;
};

class TurnClientHost final : public netsim::DatagramReceiver, public Pollable {
 public:
  // Binds `local` on `host` and becomes its receiver.
  static Result<std::unique_ptr<TurnClientHost>> Create(netsim::Internet& net, netsim::HostId host,
                                                        const TransportAddress& local, const TransportAddress& server,
                                                        ice::TurnClientConfig config);

  void on_datagram(netsim::HostId host, netsim::Datagram d, Timestamp now) override;
  std::optional<Timestamp> next_wakeup() const override { return client.next_wakeup(); }
  void process(Timestamp now) override;
  // Sends what the client queued (call after driving it directly).
  void flush(Timestamp now);
  const TransportAddress& local() const { return local_; }

 private:
  TurnClientHost(netsim::Internet& net, netsim::HostId host, const TransportAddress& local,
                 const TransportAddress& server, ice::TurnClient c)
      : net_(net), host_(host), local_(local), server_(server), client(std::move(c)) {}

  netsim::Internet& net_;
  netsim::HostId host_;
  TransportAddress local_;
  TransportAddress server_;

 public:
  ice::TurnClient client;  // declared after the members its constructor call needs
};

class IceRelay final : public Pollable {
 public:
  // Registers with host.agent (which must exist) and claims the host's relay hooks.
  IceRelay(IceHost& host, size_t socket, const TransportAddress& server, ice::TurnClient client, Timestamp now);
  IceRelay(const IceRelay&) = delete;
  IceRelay& operator=(const IceRelay&) = delete;

  void allocate(Timestamp now);
  std::optional<Timestamp> next_wakeup() const override { return relay.client().next_wakeup(); }
  void process(Timestamp now) override;

 private:
  void send_pending(Timestamp now);

  IceHost& host_;
  size_t socket_;
  TransportAddress server_;

 public:
  ice::TurnRelayTransport relay;  // declared after the members its constructor call needs
};

}  // namespace tern::icesim
