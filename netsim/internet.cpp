#include "tern/netsim/internet.h"

#include <algorithm>

#include "tern/netsim/derive_seed.h"

namespace tern::netsim {

Result<size_t> Internet::add_link(LinkConfig config, Exit exit, uint32_t target) {
  config.seed = derive_seed(seed_, links_.size());
  auto link = Link::Create(std::move(config));
  if (!link) return Error{link.error()};
  links_.push_back(LinkSlot{std::move(*link), exit, target});
  return links_.size() - 1;
}

Result<RealmId> Internet::add_nat(NatConfig config, RealmId parent, const AccessLinks& wan) {
  if (parent >= realms_.size()) return Error{"internet: unknown parent realm"};
  if (realms_.size() > kMaxNats) return Error{"internet: too many NATs"};
  config.seed = derive_seed(seed_, 1'000'000 + realms_.size());
  auto nat = Nat::Create(config);
  if (!nat) return Error{nat.error()};
  if (realms_[parent].routes.contains(config.public_ip)) return Error{"internet: public_ip already used in parent"};
  const auto id = static_cast<RealmId>(realms_.size());
  auto up = add_link(wan.up, Exit::kToRealm, parent);
  if (!up) return Error{up.error()};
  auto down = add_link(wan.down, Exit::kToNatOutside, id);
  if (!down) return Error{down.error()};
  Realm r;
  r.parent = parent;
  r.nat.emplace(std::move(*nat));
  r.nat_up = *up;
  r.nat_down = *down;
  realms_.push_back(std::move(r));
  realms_[parent].routes.emplace(config.public_ip, Hop{false, id});
  return id;
}

Result<HostId> Internet::add_host(RealmId realm, const std::vector<IpAddress>& addresses,
                                  const AccessLinks& access) {
  if (realm >= realms_.size()) return Error{"internet: unknown realm"};
  if (hosts_.size() >= kMaxHosts) return Error{"internet: too many hosts"};
  if (addresses.empty()) return Error{"internet: a host needs an address"};
  for (size_t i = 0; i < addresses.size(); ++i) {
    if (addresses[i].empty()) return Error{"internet: empty host address"};
    if (realms_[realm].routes.contains(addresses[i])) return Error{"internet: address already used in realm"};
    for (size_t j = 0; j < i; ++j)
      if (addresses[j] == addresses[i]) return Error{"internet: duplicate host address"};
  }
  const auto id = static_cast<HostId>(hosts_.size());
  auto up = add_link(access.up, Exit::kToRealm, realm);
  if (!up) return Error{up.error()};
  auto down = add_link(access.down, Exit::kToHost, id);
  if (!down) return Error{down.error()};
  Host h;
  h.realm = realm;
  h.addresses = addresses;
  h.up = *up;
  h.down = *down;
  hosts_.push_back(std::move(h));
  for (const IpAddress& a : addresses) realms_[realm].routes.emplace(a, Hop{true, id});
  return id;
}

void Internet::set_receiver(HostId host, DatagramReceiver* receiver) { hosts_.at(host).receiver = receiver; }

Result<TransportAddress> Internet::bind(HostId host, const TransportAddress& local) {
  if (host >= hosts_.size()) return Error{"internet: unknown host"};
  Host& h = hosts_[host];
  if (std::find(h.addresses.begin(), h.addresses.end(), local.ip) == h.addresses.end())
    return Error{"internet: bind to an address the host does not have"};
  if (h.bound.size() >= kMaxBoundPorts) return Error{"internet: too many bound ports on host"};
  TransportAddress a = local;
  if (a.port == 0) {
    // Next free ephemeral port; terminates because fewer than the range's ports are bound.
    const uint32_t range = 65536 - kEphemeralFirst;
    for (uint32_t i = 0; i < range && a.port == 0; ++i) {
      const auto p = static_cast<uint16_t>(kEphemeralFirst + (h.next_ephemeral - kEphemeralFirst + i) % range);
      if (!h.bound.contains(TransportAddress{local.ip, p})) a.port = p;
    }
    if (a.port == 0) return Error{"internet: no free ephemeral port"};
    h.next_ephemeral = static_cast<uint16_t>(a.port == 65535 ? kEphemeralFirst : a.port + 1);
  }
  if (!h.bound.insert(a).second) return Error{"internet: address already bound"};
  return a;
}

void Internet::unbind(HostId host, const TransportAddress& local) {
  if (host < hosts_.size()) hosts_[host].bound.erase(local);
}

Status Internet::send(HostId host, Datagram datagram, Timestamp now) {
  if (host >= hosts_.size()) return Error{"internet: unknown host"};
  const Host& h = hosts_[host];
  if (!h.bound.contains(datagram.source)) return Error{"internet: source address not bound on host"};
  if (datagram.destination.empty() || datagram.destination.ip.family() != datagram.source.ip.family())
    return Error{"internet: destination family differs from source"};
  SimPacket p;
  const uint64_t fresh_id = stats_.sent++;
  p.id = datagram.id.value_or(fresh_id);
  p.sent_time = datagram.sent_time.value_or(now);
  p.overhead = DataSize::Bytes(datagram.source.ip.is_v6() ? 48 : 28);  // IP + UDP headers
  p.source = datagram.source;
  p.destination = datagram.destination;
  p.data = std::move(datagram.data);
  p.duplicate = datagram.duplicate;
  push(h.up, std::move(p), now);
  return Status::Ok();
}

void Internet::push(size_t link, SimPacket packet, Timestamp now) { links_[link].link.send(std::move(packet), now); }

void Internet::route(RealmId realm_id, SimPacket packet, Timestamp now) {
  Realm& realm = realms_[realm_id];
  if (auto it = realm.routes.find(packet.destination.ip); it != realm.routes.end()) {
    const Hop hop = it->second;
    push(hop.is_host ? hosts_[hop.id].down : realms_[hop.id].nat_down, std::move(packet), now);
    return;
  }
  if (!realm.nat) {
    ++stats_.dropped_unroutable;
    return;
  }
  if (packet.destination.ip.is_v6()) {
    ++stats_.dropped_ipv6_at_nat;
    return;
  }
  Nat& nat = *realm.nat;
  auto external = nat.translate_outbound(packet.source, packet.destination, now);
  if (!external) {
    ++stats_.dropped_at_nat;
    return;
  }
  packet.source = *external;
  if (packet.destination.ip == nat.config().public_ip) {
    if (!nat.config().hairpinning) {
      ++stats_.dropped_hairpin;
      return;
    }
    auto internal = nat.translate_inbound(packet.source, packet.destination, now);
    if (!internal) {
      ++stats_.dropped_at_nat;
      return;
    }
    ++stats_.hairpinned;
    packet.destination = *internal;
    route(realm_id, std::move(packet), now);  // the internal address is in this realm: no recursion loop
    return;
  }
  push(realm.nat_up, std::move(packet), now);
}

void Internet::arrive(const LinkSlot& slot, SimPacket packet, Timestamp now) {
  switch (slot.exit) {
    case Exit::kToRealm:
      route(slot.target, std::move(packet), now);
      return;
    case Exit::kToNatOutside: {
      auto internal = realms_[slot.target].nat->translate_inbound(packet.source, packet.destination, now);
      if (!internal) {
        ++stats_.dropped_at_nat;
        return;
      }
      packet.destination = *internal;
      route(slot.target, std::move(packet), now);
      return;
    }
    case Exit::kToHost: {
      Host& h = hosts_[slot.target];
      if (h.receiver == nullptr || !h.bound.contains(packet.destination)) {
        ++stats_.dropped_no_listener;
        return;
      }
      ++stats_.delivered;
      h.receiver->on_datagram(slot.target,
                              Datagram{packet.source, packet.destination, std::move(packet.data), packet.sent_time,
                                       packet.id, packet.duplicate},
                              now);
      return;
    }
  }
}

std::optional<Timestamp> Internet::next_wakeup() const {
  std::optional<Timestamp> next;
  for (const LinkSlot& s : links_) {
    auto w = s.link.next_wakeup();
    if (w && (!next || *w < *next)) next = w;
  }
  return next;
}

void Internet::process(Timestamp now) {
  // Deliveries may send at once (zero-delay links), so pass over the links until none is due.
  uint64_t deliveries = 0;
  bool again = true;
  while (again) {
    again = false;
    for (size_t i = 0; i < links_.size(); ++i) {
      auto w = links_[i].link.next_wakeup();
      if (!w || *w > now) continue;
      for (SimPacket& p : links_[i].link.process(now)) {
        again = true;
        arrive(links_[i], std::move(p), now);
        ++deliveries;
      }
      if (deliveries >= kMaxDeliveriesPerProcess) {  // the rest waits for the next call
        ++stats_.process_guard_hits;
        return;
      }
    }
  }
}

Nat* Internet::nat(RealmId realm) {
  if (realm >= realms_.size() || !realms_[realm].nat) return nullptr;
  return &*realms_[realm].nat;
}

}  // namespace tern::netsim
