// Nat: the translation and filtering logic of one NAT box, with the behaviours of RFC 4787
// (mapping: section 4.1; filtering: section 5), sans-I/O and deterministic for a given seed. The
// box itself sits in an Internet (internet.h); this class only answers "what does this datagram
// become" so that it is testable on its own.
//
// A mapping binds an internal transport address (and, for the dependent mapping behaviours, the
// remote address or address:port) to an external port on `public_ip`:
//  - endpoint-independent mapping (EIM): one external port per internal address:port, whatever
//    the destination; address-dependent (ADM): one per (internal, remote IP); address-and-port-
//    dependent (APDM, "symmetric"): one per (internal, remote IP:port).
// Filtering decides which inbound datagrams to an external port pass:
//  - endpoint-independent (EIF): any source; address-dependent (ADF): sources whose IP the
//    internal endpoint has sent to through this mapping; address-and-port-dependent (APDF):
//    sources whose IP:port it has sent to.
// Mapping lifetime: a mapping expires `mapping_timeout` after its last refresh; outbound traffic
// refreshes (RFC 4787 REQ-6), inbound traffic only when `inbound_refreshes`. Filter permissions
// (remote endpoints sent to) expire the same time after the last outbound datagram to them.
// Bounds: at most `max_mappings` live mappings; when a new one is needed and the table is full the
// `when_full` policy applies (drop the datagram and keep every existing flow, like a conntrack
// table at its limit; or evict the least recently refreshed mapping). At most
// `max_peers_per_mapping` filter permissions per mapping; the least recently used is evicted.
// Hairpinning (REQ-9) is the Internet's job; the flag lives here so a box is one config.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "tern/core/ip_address.h"
#include "tern/core/random.h"
#include "tern/core/result.h"
#include "tern/core/units.h"

namespace tern::netsim {

// RFC 4787 behaviour of mapping or filtering.
enum class NatBehavior : uint8_t { kEndpointIndependent, kAddressDependent, kAddressAndPortDependent };

// The four classic (RFC 3489) names, as mapping + filtering pairs.
enum class NatKind : uint8_t {
  kFullCone,           // EIM + EIF
  kAddressRestricted,  // EIM + ADF
  kPortRestricted,     // EIM + APDF
  kSymmetric,          // APDM + APDF
};
const char* to_string(NatKind kind);

struct NatConfig {
  NatBehavior mapping = NatBehavior::kEndpointIndependent;
  NatBehavior filtering = NatBehavior::kAddressAndPortDependent;
  IpAddress public_ip;  // IPv4 (NAT44); required
  TimeDelta mapping_timeout = TimeDelta::Seconds(120);  // RFC 4787 REQ-5 minimum
  bool inbound_refreshes = false;
  size_t max_mappings = 1024;
  enum class WhenFull : uint8_t { kDropNew, kEvictLeastRecent };
  WhenFull when_full = WhenFull::kDropNew;
  size_t max_peers_per_mapping = 64;
  // External ports come from [port_min, port_max]. kPreserve keeps the internal port when free
  // (else sequential), kSequential counts up from port_min, kRandom draws from the seeded stream.
  uint16_t port_min = 1024;
  uint16_t port_max = 65535;
  enum class PortAllocation : uint8_t { kPreserve, kSequential, kRandom };
  PortAllocation port_allocation = PortAllocation::kSequential;
  bool hairpinning = false;  // REQ-9 says support it; off by default as many home routers ship
  uint64_t seed = 1;

  static NatConfig Of(NatKind kind, IpAddress public_ip);
};

struct NatStats {
  uint64_t mappings_created = 0;
  uint64_t mappings_expired = 0;
  uint64_t mappings_evicted = 0;   // by WhenFull::kEvictLeastRecent
  uint64_t translated_out = 0;
  uint64_t translated_in = 0;
  uint64_t dropped_table_full = 0;  // outbound, WhenFull::kDropNew
  uint64_t dropped_no_port = 0;     // outbound, every external port in use
  uint64_t dropped_no_mapping = 0;  // inbound to an unmapped (or expired) external port
  uint64_t dropped_filtered = 0;    // inbound refused by the filtering behaviour
  uint64_t peers_evicted = 0;       // filter permissions evicted at max_peers_per_mapping
};

class Nat {
 public:
  static Result<Nat> Create(NatConfig config);

  // An internal endpoint sends to `remote`: returns the external source address the datagram
  // leaves with (creating or refreshing a mapping), or nullopt when it is dropped (see stats()).
  std::optional<TransportAddress> translate_outbound(const TransportAddress& internal,
                                                     const TransportAddress& remote, Timestamp now);
  // A datagram from `remote` reaches `external` (public_ip:port): returns the internal endpoint to
  // deliver it to, or nullopt when there is no live mapping or the filter refuses it.
  std::optional<TransportAddress> translate_inbound(const TransportAddress& remote,
                                                    const TransportAddress& external, Timestamp now);

  // Live (unexpired) mappings at `now`.
  size_t mapping_count(Timestamp now) const;
  // The external address a datagram from `internal` to `remote` would use now, without creating
  // or refreshing anything; nullopt if it would need a new mapping.
  std::optional<TransportAddress> peek_mapping(const TransportAddress& internal, const TransportAddress& remote,
                                               Timestamp now) const;

  const NatConfig& config() const { return config_; }
  const NatStats& stats() const { return stats_; }

 private:
  struct Key {
    TransportAddress internal;
    TransportAddress remote;  // the part of the remote the mapping behaviour depends on
    friend auto operator<=>(const Key&, const Key&) = default;
  };
  struct Peer {
    TransportAddress remote;
    Timestamp last_out;
  };
  struct Mapping {
    uint16_t external_port = 0;
    Timestamp refreshed;
    std::vector<Peer> peers;  // filter permissions, at most max_peers_per_mapping
  };

  explicit Nat(NatConfig config) : config_(config), random_(config.seed), next_port_(config.port_min) {}

  Key key_for(const TransportAddress& internal, const TransportAddress& remote) const;
  bool live(const Mapping& m, Timestamp now) const { return now - m.refreshed < config_.mapping_timeout; }
  bool permits(const Mapping& m, const TransportAddress& remote, Timestamp now) const;
  void remember_peer(Mapping& m, const TransportAddress& remote, Timestamp now);
  void erase(std::map<Key, Mapping>::iterator it);
  void sweep(Timestamp now);
  std::optional<uint16_t> allocate_port(uint16_t internal_port);

  NatConfig config_;
  Random random_;
  uint16_t next_port_;
  std::map<Key, Mapping> mappings_;
  std::map<uint16_t, Key> by_port_;
  NatStats stats_;
};

}  // namespace tern::netsim
