// Internet: an addressed network for ICE/STUN/TURN tests. Hosts own IPv4/IPv6 addresses and bind
// UDP ports; realms (the public internet, and one private realm behind each NAT box) route
// datagrams by destination address; every hop is a netsim Link, so capacity, delay, jitter, loss
// and blackouts apply. Sans-I/O and deterministic for a given seed, like the rest of netsim: it is
// one Pollable (next_wakeup()/process(now)), and received datagrams go to a DatagramReceiver
// synchronously inside process(), which may send at once (a STUN server answering).
//
// Topology is a tree of realms. Realm 0 is the public internet. add_nat() puts a NAT box (nat.h)
// with its public IPv4 address in a parent realm and returns the private realm behind it; NATs can
// nest (a carrier-grade NAT in front of a home NAT). add_host() puts a host in a realm with its
// access links. A datagram a host sends travels:
//   host uplink -> its realm's router: a destination address in this realm goes down that host's
//   (or child NAT's) downlink; any other destination leaves through the realm's NAT (translated
//   by Nat::translate_outbound) over the NAT's uplink into the parent realm, and so on. At a NAT's
//   outside the datagram is translated and filtered (Nat::translate_inbound) and routed inside.
//   The public realm drops what it cannot route (counted).
// Hairpinning: a datagram from inside to its own NAT's public address is translated (external
// source) and turned back inside when NatConfig::hairpinning is set, dropped and counted otherwise.
// IPv6 is routed inside a realm (host candidates on the same network or on the public internet)
// but NAT boxes are NAT44 only: IPv6 datagrams that would cross one are dropped and counted.
// A STUN or TURN server is an ordinary public host: it binds its port(s) and answers from its
// receiver; a TURN server binds relay ports as it allocates them.
// Bounds: kMaxHosts hosts, kMaxNats NATs, kMaxBoundPorts per host; links keep their own limits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "tern/core/ip_address.h"
#include "tern/core/pollable.h"
#include "tern/core/result.h"
#include "tern/netsim/link.h"
#include "tern/netsim/nat.h"

namespace tern::netsim {

using HostId = uint32_t;
using RealmId = uint32_t;
inline constexpr RealmId kPublicRealm = 0;

struct Datagram {
  TransportAddress source;
  TransportAddress destination;
  std::vector<uint8_t> data;
  // Origin, for measurements across relays: send() stamps the packet with `sent_time` (now when
  // unset) and `id` (a fresh one when unset); delivery hands them back unchanged, so a relay that
  // forwards a datagram can pass its origin on and the receiver still sees when and what the first
  // sender sent. `duplicate` is set on delivery for a copy made by a link's duplication model.
  std::optional<Timestamp> sent_time = std::nullopt;
  std::optional<uint64_t> id = std::nullopt;
  bool duplicate = false;
};

// Receives the datagrams delivered to a host's bound ports.
class DatagramReceiver {
 public:
  virtual ~DatagramReceiver() = default;
  virtual void on_datagram(HostId host, Datagram datagram, Timestamp now) = 0;
};

// The two directions of an attachment to a realm's router: up = toward the router.
struct AccessLinks {
  LinkConfig up;
  LinkConfig down;
};

struct InternetStats {
  uint64_t sent = 0;
  uint64_t delivered = 0;
  uint64_t dropped_unroutable = 0;    // no host or NAT owns the destination in the public realm
  uint64_t dropped_no_listener = 0;   // reached the host, port not bound
  uint64_t dropped_at_nat = 0;        // refused by a NAT (see its NatStats for why)
  uint64_t dropped_hairpin = 0;       // to the own NAT's public address, hairpinning off
  uint64_t dropped_ipv6_at_nat = 0;   // IPv6 datagram that would have to cross a NAT44 box
  uint64_t hairpinned = 0;
  uint64_t process_guard_hits = 0;    // process() stopped at kMaxDeliveriesPerProcess
};

class Internet final : public Pollable {
 public:
  static constexpr size_t kMaxHosts = 1024;
  static constexpr size_t kMaxNats = 256;
  static constexpr size_t kMaxBoundPorts = 4096;
  static constexpr uint64_t kMaxDeliveriesPerProcess = 1'000'000;
  static constexpr uint16_t kEphemeralFirst = 49152;

  // `seed` replaces every link's seed with one derived from it and the link's creation order, and
  // seeds the NATs' port allocation, so one number reproduces the whole network.
  explicit Internet(uint64_t seed = 1) : seed_(seed) {}
  Internet(const Internet&) = delete;
  Internet& operator=(const Internet&) = delete;

  // A NAT box with its outside (config.public_ip) in `parent` and its uplink/downlink there.
  // Returns the private realm behind it.
  Result<RealmId> add_nat(NatConfig config, RealmId parent = kPublicRealm, const AccessLinks& wan = {});
  // A host with `addresses` (unique in the realm) in `realm`.
  Result<HostId> add_host(RealmId realm, const std::vector<IpAddress>& addresses, const AccessLinks& access = {});
  // Receiver of everything delivered to the host's bound ports; not owned; nullptr drops (counted).
  void set_receiver(HostId host, DatagramReceiver* receiver);

  // Binds a UDP port on one of the host's addresses; port 0 picks the next free ephemeral port.
  Result<TransportAddress> bind(HostId host, const TransportAddress& local);
  void unbind(HostId host, const TransportAddress& local);
  // Sends from a bound local address of `host`. Errors when the source is not bound there.
  Status send(HostId host, Datagram datagram, Timestamp now);

  std::optional<Timestamp> next_wakeup() const override;
  void process(Timestamp now) override;

  // The NAT in front of `realm` (nullptr for the public realm or an unknown id).
  Nat* nat(RealmId realm);
  RealmId realm_of(HostId host) const { return hosts_.at(host).realm; }
  const std::vector<IpAddress>& addresses(HostId host) const { return hosts_.at(host).addresses; }
  // A host's access links (up: from the host).
  const Link& uplink(HostId host) const { return links_.at(hosts_.at(host).up).link; }
  const Link& downlink(HostId host) const { return links_.at(hosts_.at(host).down).link; }
  const InternetStats& stats() const { return stats_; }

 private:
  enum class Exit : uint8_t { kToRealm, kToHost, kToNatOutside };
  struct LinkSlot {
    Link link;
    Exit exit;
    uint32_t target;  // realm, host or realm behind the NAT
  };
  struct Hop {  // what owns an address inside a realm
    bool is_host;
    uint32_t id;  // host id, or the child realm whose NAT this is
  };
  struct Realm {
    std::optional<RealmId> parent;
    std::optional<Nat> nat;  // set for every realm but the public one
    size_t nat_up = 0;       // link index: NAT outside -> parent router
    size_t nat_down = 0;     // link index: parent router -> NAT outside
    std::map<IpAddress, Hop> routes;
  };
  struct Host {
    RealmId realm;
    std::vector<IpAddress> addresses;
    size_t up = 0;
    size_t down = 0;
    DatagramReceiver* receiver = nullptr;
    std::set<TransportAddress> bound;
    uint16_t next_ephemeral = kEphemeralFirst;
  };

  Result<size_t> add_link(LinkConfig config, Exit exit, uint32_t target);
  void push(size_t link, SimPacket packet, Timestamp now);
  void arrive(const LinkSlot& slot, SimPacket packet, Timestamp now);
  void route(RealmId realm, SimPacket packet, Timestamp now);

  uint64_t seed_;
  std::deque<LinkSlot> links_;  // deque: slots keep their address as links are added
  std::vector<Realm> realms_ = std::vector<Realm>(1);
  std::vector<Host> hosts_;
  InternetStats stats_;
};

}  // namespace tern::netsim
