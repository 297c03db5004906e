// Fuzzes dtls::DtlsTransport with arbitrary datagrams from the network, in three situations chosen
// by the first byte: a fresh server (ClientHello parsing and reassembly), a client that has sent its
// ClientHello (ServerHello flight parsing), and an association established in memory just before
// (record protection, epochs, replay, alerts). The rest of the input is cut into datagrams
// (2-byte big-endian length, then that many bytes), with the clock moved and timers run between
// them. Nothing may crash, leak or read out of bounds; and the established association must
// survive every datagram an off-path sender can make: afterwards a record from the real peer
// still arrives (aborts otherwise).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "tern/dtls/dtls_transport.h"
#include "tern/dtls/in_memory_pair.h"

using namespace tern;
using namespace tern::dtls;

namespace {

DtlsConfig Config(DtlsRole role) {
  DtlsConfig c = InMemoryConfig(role);
  c.max_outgoing = 32;
  c.max_received_application = 8;
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int mode = data[0] % 3;
  std::span<const uint8_t> in(data + 1, size - 1);
  Timestamp now = Timestamp::Seconds(1);
  auto target = DtlsTransport::Create(Config(mode == 1 ? DtlsRole::kClient : DtlsRole::kServer)).value();
  std::unique_ptr<DtlsTransport> peer;
  if (mode == 1) {
    target->start(now);
    while (target->pop_outgoing()) {
    }
  } else if (mode == 2) {
    peer = DtlsTransport::Create(Config(DtlsRole::kClient)).value();
    peer->start(now);
    target->start(now);
    Shuttle(*peer, *target, now);
    if (target->state() != DtlsState::kConnected || peer->state() != DtlsState::kConnected) abort();
  }
  while (in.size() >= 2) {
    const size_t len = std::min<size_t>(static_cast<size_t>(in[0]) << 8 | in[1], in.size() - 2);
    target->on_datagram(in.subspan(2, len), now);
    in = in.subspan(2 + len);
    while (target->pop_outgoing()) {
    }
    while (target->pop_application()) {
    }
    now += TimeDelta::Millis(len % 64);
    target->process(now);
  }
  if (mode == 2) {
    if (target->state() != DtlsState::kConnected) abort();  // an off-path datagram broke the association
    const std::vector<uint8_t> probe = {1, 2, 3};
    if (!peer->send_application(probe, now).ok()) abort();
    while (auto d = peer->pop_outgoing()) target->on_datagram(*d, now);
    if (target->pop_application() != probe) abort();
  }
  return 0;
}
