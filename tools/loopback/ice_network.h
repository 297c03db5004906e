// IceNetwork: the network of a tern-loopback call whose path is found by ICE, as a real call's is:
// A and B are hosts on netsim's addressed Internet (netsim/internet.h), each optionally behind a NAT
// (--nat), with a TURN server (the ice::TurnServer core, which also answers STUN Binding requests)
// on the public internet. Each side runs an ice::IceAgent with a TURN allocation of its own
// (ice::TurnRelayTransport over the TurnClient, on the agent's socket); candidates and credentials
// are signalled at once (one event-loop turn). `--topology relay` sets the relay policy (W3C
// iceTransportPolicy "relay"), so media always crosses the TURN server as ChannelData; otherwise
// ICE picks the best pair the NATs allow (host, server-reflexive, peer-reflexive or relayed).
//
// Links: A's access link carries the configured forward link up and the return link down; B's
// access link is a clean 5 ms hop each way; the TURN server and the NAT boxes sit on clean hops.
// Direct, that is the anonymous topology's A -> B path plus B's 5 ms; relayed, the same plus the
// server's turn-around.
//
// Media: send_from_a()/send_from_b() hand a datagram to the side's agent (IceAgent::send on the
// selected pair), stamped with its origin (send time, id) so the receiving side's sink sees the
// send time across the relay. The call runs its endpoints only once both agents have selected a
// pair (connected(side)), as a WebRTC endpoint sends no media before ICE and DTLS have connected;
// datagrams refused by an agent (consent lost, no pair) are counted in summary().send_refused.
// Sans-I/O: every object here is a Pollable, driven by the call's driver.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tern/core/pollable.h"
#include "tern/core/result.h"
#include "tern/icesim/hosts.h"
#include "tern/netsim/internet.h"
#include "tern/netsim/link.h"
#include "tern/netsim/nat.h"
#include "tern/netsim/packet_sink.h"
#include "tern/tools/loopback/metrics.h"  // IceSummary

namespace tern::tools {

struct IceNetworkConfig {
  netsim::LinkConfig forward;  // A's uplink
  netsim::LinkConfig back;     // A's downlink
  std::optional<netsim::NatKind> nat_a, nat_b;
  bool relay_only = false;
  uint64_t seed = 1;
};

class IceNetwork {
 public:
  static Result<std::unique_ptr<IceNetwork>> Create(const IceNetworkConfig& config);
  IceNetwork(const IceNetwork&) = delete;
  IceNetwork& operator=(const IceNetwork&) = delete;

  // Where each side's received application datagrams go (as SimPackets with their origin).
  void set_sink_a(netsim::PacketSink* sink) { sink_[0] = sink; }
  void set_sink_b(netsim::PacketSink* sink) { sink_[1] = sink; }
  void send_from_a(netsim::SimPacket packet, Timestamp now) { send(0, std::move(packet), now); }
  void send_from_b(netsim::SimPacket packet, Timestamp now) { send(1, std::move(packet), now); }

  // Side 0 = A, 1 = B: its agent has selected a pair.
  bool connected(int side) const { return ends_[side]->connected_at.has_value(); }
  // Every object to drive, in a fixed order.
  std::vector<Pollable*> pollables();
  IceSummary summary() const;

 private:
  // Signalling: candidates and end-of-candidates reach the peer one event-loop turn later (never
  // inside the sender's own flush). Bounded by the agents' candidate limits.
  class Signalling final : public Pollable {
   public:
    void post(Timestamp at, std::function<void(Timestamp)> fn) { queue_.emplace_back(at, std::move(fn)); }
    std::optional<Timestamp> next_wakeup() const override;
    void process(Timestamp now) override;

   private:
    std::deque<std::pair<Timestamp, std::function<void(Timestamp)>>> queue_;
  };

  explicit IceNetwork(const IceNetworkConfig& config);
  Status build();
  void send(int side, netsim::SimPacket packet, Timestamp now);

  IceNetworkConfig config_;
  netsim::Internet net_;
  std::unique_ptr<icesim::TurnServerHost> turn_;
  std::unique_ptr<icesim::IceHost> ends_[2];
  std::unique_ptr<icesim::IceRelay> relays_[2];
  Signalling signalling_;
  netsim::PacketSink* sink_[2] = {nullptr, nullptr};
  uint64_t send_refused_ = 0;
};

}  // namespace tern::tools
