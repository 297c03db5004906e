// Two DtlsTransports joined in memory, for tests, benchmarks and fuzz targets: a process-wide
// pair of certificates (key generation is the slow part), configs that know each other's
// fingerprint, and a shuttle that moves queued datagrams between the two until both are quiet.
#pragma once

#include <cstdint>
#include <memory>

#include "tern/core/units.h"
#include "tern/dtls/dtls_transport.h"

namespace tern::dtls {

// Certificate 0 ("tern-a") or 1 ("tern-b"), generated on first use and kept for the process.
const std::shared_ptr<const DtlsCertificate>& InMemoryCertificate(int which);

// The config of one side: the client holds certificate 0 and expects certificate 1, the server
// the reverse.
DtlsConfig InMemoryConfig(DtlsRole role);

struct ShuttleCount {
  uint64_t datagrams = 0;
  uint64_t bytes = 0;
};

// Moves every datagram `from` has queued into `to` (no loss); adds what moved to `count`.
void DeliverAll(DtlsTransport& from, DtlsTransport& to, Timestamp now, ShuttleCount& count);

// Delivers both ways until neither side has anything queued (at most `max_rounds` rounds, no
// timers run): an in-memory handshake completes in a few rounds.
ShuttleCount Shuttle(DtlsTransport& a, DtlsTransport& b, Timestamp now, int max_rounds = 20);

}  // namespace tern::dtls
