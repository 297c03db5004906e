#include "tern/netsim/nat.h"

#include <algorithm>

namespace tern::netsim {

const char* to_string(NatKind kind) {
  switch (kind) {
    case NatKind::kFullCone: return "full-cone";
    case NatKind::kAddressRestricted: return "address-restricted";
    case NatKind::kPortRestricted: return "port-restricted";
    case NatKind::kSymmetric: return "symmetric";
  }
  return "?";
}

NatConfig NatConfig::Of(NatKind kind, IpAddress public_ip) {
  NatConfig c;
  c.public_ip = public_ip;
  switch (kind) {
    case NatKind::kFullCone:
      c.filtering = NatBehavior::kEndpointIndependent;
      break;
    case NatKind::kAddressRestricted:
      c.filtering = NatBehavior::kAddressDependent;
      break;
    case NatKind::kPortRestricted:
      c.filtering = NatBehavior::kAddressAndPortDependent;
      break;
    case NatKind::kSymmetric:
      c.mapping = NatBehavior::kAddressAndPortDependent;
      c.filtering = NatBehavior::kAddressAndPortDependent;
      break;
  }
  return c;
}

Result<Nat> Nat::Create(NatConfig config) {
  if (!config.public_ip.is_v4()) return Error{"nat: public_ip must be an IPv4 address"};
  if (config.port_min == 0 || config.port_min > config.port_max) return Error{"nat: bad port range"};
  if (config.max_mappings == 0) return Error{"nat: max_mappings must be positive"};
  if (config.max_peers_per_mapping == 0) return Error{"nat: max_peers_per_mapping must be positive"};
  if (config.mapping_timeout <= TimeDelta::Zero()) return Error{"nat: mapping_timeout must be positive"};
  return Nat(config);
}

Nat::Key Nat::key_for(const TransportAddress& internal, const TransportAddress& remote) const {
  switch (config_.mapping) {
    case NatBehavior::kEndpointIndependent: return Key{internal, {}};
    case NatBehavior::kAddressDependent: return Key{internal, {remote.ip, 0}};
    case NatBehavior::kAddressAndPortDependent: return Key{internal, remote};
  }
  return Key{internal, remote};
}

bool Nat::permits(const Mapping& m, const TransportAddress& remote, Timestamp now) const {
  if (config_.filtering == NatBehavior::kEndpointIndependent) return true;
  const bool by_port = config_.filtering == NatBehavior::kAddressAndPortDependent;
  return std::any_of(m.peers.begin(), m.peers.end(), [&](const Peer& p) {
    return now - p.last_out < config_.mapping_timeout && p.remote.ip == remote.ip &&
           (!by_port || p.remote.port == remote.port);
  });
}

void Nat::remember_peer(Mapping& m, const TransportAddress& remote, Timestamp now) {
  for (Peer& p : m.peers) {
    if (p.remote == remote) {
      p.last_out = now;
      return;
    }
  }
  if (m.peers.size() >= config_.max_peers_per_mapping) {
    auto oldest = std::min_element(m.peers.begin(), m.peers.end(),
                                   [](const Peer& a, const Peer& b) { return a.last_out < b.last_out; });
    m.peers.erase(oldest);
    ++stats_.peers_evicted;
  }
  m.peers.push_back(Peer{remote, now});
}

void Nat::erase(std::map<Key, Mapping>::iterator it) {
  by_port_.erase(it->second.external_port);
  mappings_.erase(it);
}

void Nat::sweep(Timestamp now) {
  for (auto it = mappings_.begin(); it != mappings_.end();) {
    auto next = std::next(it);
    if (!live(it->second, now)) {
      erase(it);
      ++stats_.mappings_expired;
    }
    it = next;
  }
}

std::optional<uint16_t> Nat::allocate_port(uint16_t internal_port) {
  const uint32_t range = uint32_t{config_.port_max} - config_.port_min + 1;
  if (by_port_.size() >= range) return std::nullopt;
  auto free = [&](uint32_t p) { return !by_port_.contains(static_cast<uint16_t>(p)); };
  if (config_.port_allocation == NatConfig::PortAllocation::kPreserve && internal_port >= config_.port_min &&
      internal_port <= config_.port_max && free(internal_port))
    return internal_port;
  if (config_.port_allocation == NatConfig::PortAllocation::kRandom) {
    for (int attempt = 0; attempt < 64; ++attempt) {
      const auto p = static_cast<uint32_t>(random_.uniform_int(config_.port_min, config_.port_max));
      if (free(p)) return static_cast<uint16_t>(p);
    }
  }
  // Sequential scan from the cursor; terminates because a free port exists.
  for (uint32_t i = 0; i < range; ++i) {
    const uint32_t p = config_.port_min + (next_port_ - config_.port_min + i) % range;
    if (free(p)) {
      next_port_ = static_cast<uint16_t>(p == config_.port_max ? config_.port_min : p + 1);
      return static_cast<uint16_t>(p);
    }
  }
  return std::nullopt;
}

std::optional<TransportAddress> Nat::translate_outbound(const TransportAddress& internal,
                                                        const TransportAddress& remote, Timestamp now) {
  const Key key = key_for(internal, remote);
  auto it = mappings_.find(key);
  if (it != mappings_.end() && !live(it->second, now)) {
    erase(it);
    ++stats_.mappings_expired;
    it = mappings_.end();
  }
  if (it == mappings_.end()) {
    if (mappings_.size() >= config_.max_mappings) sweep(now);
    if (mappings_.size() >= config_.max_mappings) {
      if (config_.when_full == NatConfig::WhenFull::kDropNew) {
        ++stats_.dropped_table_full;
        return std::nullopt;
      }
      auto lru = std::min_element(mappings_.begin(), mappings_.end(), [](const auto& a, const auto& b) {
        return a.second.refreshed < b.second.refreshed;
      });
      erase(lru);
      ++stats_.mappings_evicted;
    }
    auto port = allocate_port(internal.port);
    if (!port) {
      sweep(now);
      port = allocate_port(internal.port);
    }
    if (!port) {
      ++stats_.dropped_no_port;
      return std::nullopt;
    }
    it = mappings_.emplace(key, Mapping{*port, now, {}}).first;
    by_port_.emplace(*port, key);
    ++stats_.mappings_created;
  }
  Mapping& m = it->second;
  m.refreshed = now;
  if (config_.filtering != NatBehavior::kEndpointIndependent) remember_peer(m, remote, now);
  ++stats_.translated_out;
  return TransportAddress{config_.public_ip, m.external_port};
}

std::optional<TransportAddress> Nat::translate_inbound(const TransportAddress& remote,
                                                       const TransportAddress& external, Timestamp now) {
  auto port_it = external.ip == config_.public_ip ? by_port_.find(external.port) : by_port_.end();
  if (port_it == by_port_.end()) {
    ++stats_.dropped_no_mapping;
    return std::nullopt;
  }
  auto it = mappings_.find(port_it->second);
  if (!live(it->second, now)) {
    erase(it);
    ++stats_.mappings_expired;
    ++stats_.dropped_no_mapping;
    return std::nullopt;
  }
  if (!permits(it->second, remote, now)) {
    ++stats_.dropped_filtered;
    return std::nullopt;
  }
  if (config_.inbound_refreshes) it->second.refreshed = now;
  ++stats_.translated_in;
  return it->first.internal;
}

size_t Nat::mapping_count(Timestamp now) const {
  return static_cast<size_t>(
      std::count_if(mappings_.begin(), mappings_.end(), [&](const auto& kv) { return live(kv.second, now); }));
}

std::optional<TransportAddress> Nat::peek_mapping(const TransportAddress& internal, const TransportAddress& remote,
                                                  Timestamp now) const {
  auto it = mappings_.find(key_for(internal, remote));
  if (it == mappings_.end() || !live(it->second, now)) return std::nullopt;
  return TransportAddress{config_.public_ip, it->second.external_port};
}

}  // namespace tern::netsim
