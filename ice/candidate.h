// ICE candidates and candidate pairs (RFC 8445 section 5.1 and 6.1.2): the values an agent
// gathers, signals and pairs, and the formulas that order them. Pure functions, so the unit tests
// check them against the RFC's formulas directly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tern/ice/transport_address.h"

namespace tern::ice {

enum class CandidateType : uint8_t { kHost, kServerReflexive, kPeerReflexive, kRelay };
const char* to_string(CandidateType type);

struct Candidate {
  std::string foundation;  // RFC 8445 5.1.1.3; at most 32 ice-chars
  uint16_t component = 1;
  uint32_t priority = 0;
  TransportAddress address;  // unset (port 0) while `hostname` is unresolved
  CandidateType type = CandidateType::kHost;
  TransportAddress related;  // base of srflx/prflx/relay candidates (raddr/rport), else unset
  // A multicast-DNS name (RFC 8838-era browsers hide host IPs as "<uuid>.local"); empty otherwise.
  std::string hostname;
};

// RFC 8445 5.1.2.2 recommended type preferences.
uint32_t type_preference(CandidateType type);
// RFC 8445 5.1.2.1: (2^24)*type_pref + (2^8)*local_pref + (256 - component).
uint32_t candidate_priority(CandidateType type, uint16_t local_preference, uint16_t component);
// RFC 8445 6.1.2.3: 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0), G the controlling agent's candidate.
uint64_t pair_priority(uint32_t controlling, uint32_t controlled);

// Candidate pair states (RFC 8445 6.1.2.6).
enum class PairState : uint8_t { kFrozen, kWaiting, kInProgress, kSucceeded, kFailed };
const char* to_string(PairState state);

// True for "<label>.local" names (RFC 6762), case-insensitive.
bool is_mdns_hostname(std::string_view host);
// Same IP family and bytes (port ignored).
bool same_ip(const TransportAddress& a, const TransportAddress& b);

}  // namespace tern::ice
