#include <doctest/doctest.h>

#include "tern/ice/candidate.h"

using namespace tern::ice;

TEST_CASE("Candidate priority follows RFC 8445 5.1.2.1") {
  // (2^24)*type_pref + (2^8)*local_pref + (256 - component)
  CHECK(candidate_priority(CandidateType::kHost, 65535, 1) == 126u * 16777216u + 65535u * 256u + 255u);
  CHECK(candidate_priority(CandidateType::kHost, 65535, 1) == 2130706431u);  // the familiar maximum
  CHECK(candidate_priority(CandidateType::kServerReflexive, 32767, 1) == (100u << 24) + (32767u << 8) + 255u);
  CHECK(candidate_priority(CandidateType::kPeerReflexive, 0, 2) == (110u << 24) + 254u);
  CHECK(candidate_priority(CandidateType::kRelay, 65535, 1) == (65535u << 8) + 255u);
  CHECK(type_preference(CandidateType::kHost) > type_preference(CandidateType::kPeerReflexive));
  CHECK(type_preference(CandidateType::kPeerReflexive) > type_preference(CandidateType::kServerReflexive));
  CHECK(type_preference(CandidateType::kServerReflexive) > type_preference(CandidateType::kRelay));
}

TEST_CASE("Pair priority follows RFC 8445 6.1.2.3 and is symmetric between the agents") {
  const uint32_t g = 2130706431u, d = 1694498815u;
  CHECK(pair_priority(g, d) == (uint64_t{d} << 32) + 2 * uint64_t{g} + 1);
  CHECK(pair_priority(d, g) == (uint64_t{d} << 32) + 2 * uint64_t{g} + 0);
  CHECK(pair_priority(g, g) == (uint64_t{g} << 32) + 2 * uint64_t{g});
  // Ordering: the minimum dominates, so host-host beats host-relay whatever the host priority.
  const uint32_t host = candidate_priority(CandidateType::kHost, 65535, 1);
  const uint32_t relay = candidate_priority(CandidateType::kRelay, 65535, 1);
  const uint32_t srflx = candidate_priority(CandidateType::kServerReflexive, 65535, 1);
  CHECK(pair_priority(host, srflx) > pair_priority(host, relay));
  CHECK(pair_priority(srflx, srflx) > pair_priority(host, relay));
}

TEST_CASE("mDNS names and address comparison") {
  CHECK(is_mdns_hostname("1f2e3d4c-aaaa-bbbb-cccc-0123456789ab.local"));
  CHECK(is_mdns_hostname("host.LOCAL"));
  CHECK(!is_mdns_hostname(".local"));
  CHECK(!is_mdns_hostname("example.com"));
  CHECK(!is_mdns_hostname("local"));
  CHECK(same_ip(TransportAddress::V4(192, 0, 2, 1, 1), TransportAddress::V4(192, 0, 2, 1, 2)));
  CHECK(!same_ip(TransportAddress::V4(192, 0, 2, 1, 1), TransportAddress::V4(192, 0, 2, 2, 1)));
}
