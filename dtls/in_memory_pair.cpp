#include "tern/dtls/in_memory_pair.h"

namespace tern::dtls {

const std::shared_ptr<const DtlsCertificate>& InMemoryCertificate(int which) {
  static const std::shared_ptr<const DtlsCertificate> certs[2] = {DtlsCertificate::Generate("tern-a").value(),
                                                                  DtlsCertificate::Generate("tern-b").value()};
  return certs[which & 1];
}

DtlsConfig InMemoryConfig(DtlsRole role) {
  DtlsConfig c;
  c.role = role;
  const int self = role == DtlsRole::kClient ? 0 : 1;
  c.certificate = InMemoryCertificate(self);
  c.remote_fingerprint = InMemoryCertificate(1 - self)->fingerprint();
  return c;
}

void DeliverAll(DtlsTransport& from, DtlsTransport& to, Timestamp now, ShuttleCount& count) {
  while (auto d = from.pop_outgoing()) {
    ++count.datagrams;
    count.bytes += d->size();
    to.on_datagram(*d, now);
  }
}

ShuttleCount Shuttle(DtlsTransport& a, DtlsTransport& b, Timestamp now, int max_rounds) {
  ShuttleCount count;
  for (int i = 0; i < max_rounds; ++i) {
    const uint64_t before = count.datagrams;
    DeliverAll(a, b, now, count);
    DeliverAll(b, a, now, count);
    if (count.datagrams == before) break;
  }
  return count;
}

}  // namespace tern::dtls
