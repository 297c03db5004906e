// Test support for tests/dtls: two DtlsTransports joined in memory (optionally through a lossy,
// delayed channel in virtual time), and the certificates they use.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tern/dtls/dtls_transport.h"
#include "tern/dtls/in_memory_pair.h"

namespace tern::test {

// One certificate per side, made once per test program (key generation is the slow part).
inline const std::shared_ptr<const dtls::DtlsCertificate>& TestCertificate(int which) {
  return dtls::InMemoryCertificate(which);
}

struct DtlsPair {
  std::unique_ptr<dtls::DtlsTransport> client;
  std::unique_ptr<dtls::DtlsTransport> server;
  uint64_t datagrams = 0;  // moved between the two
  uint64_t bytes = 0;
};

// Configs of a client (certificate 0) and a server (certificate 1) that know each other's
// fingerprints.
inline std::pair<dtls::DtlsConfig, dtls::DtlsConfig> PairConfigs() {
  return {dtls::InMemoryConfig(dtls::DtlsRole::kClient), dtls::InMemoryConfig(dtls::DtlsRole::kServer)};
}

inline DtlsPair MakePair(dtls::DtlsConfig client, dtls::DtlsConfig server) {
  DtlsPair p;
  p.client = dtls::DtlsTransport::Create(std::move(client)).value();
  p.server = dtls::DtlsTransport::Create(std::move(server)).value();
  return p;
}

// Moves every queued datagram from `from` to `to` (no loss); returns how many.
inline int Deliver(dtls::DtlsTransport& from, dtls::DtlsTransport& to, Timestamp now, DtlsPair* count = nullptr) {
  dtls::ShuttleCount moved;
  dtls::DeliverAll(from, to, now, moved);
  if (count) {
    count->datagrams += moved.datagrams;
    count->bytes += moved.bytes;
  }
  return static_cast<int>(moved.datagrams);
}

// Shuttles datagrams both ways until neither side has anything to send (bounded, no timers).
inline void Shuttle(DtlsPair& p, Timestamp now) {
  const dtls::ShuttleCount moved = dtls::Shuttle(*p.client, *p.server, now);
  p.datagrams += moved.datagrams;
  p.bytes += moved.bytes;
}

// A started and fully connected pair (REQUIREd).
inline DtlsPair ConnectedPair(std::pair<dtls::DtlsConfig, dtls::DtlsConfig> configs = PairConfigs(),
                              Timestamp now = Timestamp::Seconds(1)) {
  DtlsPair p = MakePair(std::move(configs.first), std::move(configs.second));
  p.client->start(now);
  p.server->start(now);
  Shuttle(p, now);
  REQUIRE_MESSAGE(p.client->state() == dtls::DtlsState::kConnected,
                  std::string(p.client->failure_reason()) << " / " << p.client->failure_detail());
  REQUIRE_MESSAGE(p.server->state() == dtls::DtlsState::kConnected,
                  std::string(p.server->failure_reason()) << " / " << p.server->failure_detail());
  return p;
}

}  // namespace tern::test
