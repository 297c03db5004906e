#include "tern/ice/candidate.h"

#include <algorithm>
#include <cstring>

namespace tern::ice {

const char* to_string(CandidateType type) {
  switch (type) {
    case CandidateType::kHost: return "host";
    case CandidateType::kServerReflexive: return "srflx";
    case CandidateType::kPeerReflexive: return "prflx";
    case CandidateType::kRelay: return "relay";
  }
  return "?";
}

const char* to_string(PairState state) {
  switch (state) {
    case PairState::kFrozen: return "frozen";
    case PairState::kWaiting: return "waiting";
    case PairState::kInProgress: return "in-progress";
    case PairState::kSucceeded: return "succeeded";
    case PairState::kFailed: return "failed";
  }
  return "?";
}

uint32_t type_preference(CandidateType type) {
  switch (type) {
    case CandidateType::kHost: return 126;
    case CandidateType::kPeerReflexive: return 110;
    case CandidateType::kServerReflexive: return 100;
    case CandidateType::kRelay: return 0;
  }
  return 0;
}

uint32_t candidate_priority(CandidateType type, uint16_t local_preference, uint16_t component) {
  const uint32_t c = std::clamp<uint32_t>(component, 1, 256);
  return (type_preference(type) << 24) + (uint32_t{local_preference} << 8) + (256 - c);
}

uint64_t pair_priority(uint32_t controlling, uint32_t controlled) {
  const uint64_t g = controlling, d = controlled;
  return (std::min(g, d) << 32) + 2 * std::max(g, d) + (g > d ? 1 : 0);
}

bool is_mdns_hostname(std::string_view host) {
  constexpr std::string_view kSuffix = ".local";
  if (host.size() <= kSuffix.size()) return false;
  const std::string_view tail = host.substr(host.size() - kSuffix.size());
  return std::equal(tail.begin(), tail.end(), kSuffix.begin(),
                    [](char a, char b) { return (a | 0x20) == b; });
}

bool same_ip(const TransportAddress& a, const TransportAddress& b) {
  return a.family == b.family && std::memcmp(a.ip.data(), b.ip.data(), a.ip_size()) == 0;
}

}  // namespace tern::ice
