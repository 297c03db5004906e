// The bare reference forwarder of issue 17 (tern-sfu's yardstick): one thread, 1200-byte SRTP
// packets in batches of 32 over 127.0.0.1, publisher socket -> forwarder socket: recvmmsg -> SRTP
// unprotect (the publisher's key) -> SRTP protect (the subscriber's key) -> sendmmsg -> subscriber
// socket (drained, not decrypted). No logic beyond that. Items are packets forwarded; the
// publisher's packets are protected before timing (a ring; the forwarder's sessions are remade,
// untimed, when it wraps). Beside it, the same relay without SRTP: the floor of the sockets alone.
// So: SRTP's share of a forwarded packet, per backend (libsrtp2 on NSS, OpenSSL EVP).
#include <benchmark/benchmark.h>

#include <vector>

#include "tern/core/byte_io.h"
#include "tern/transport/srtp_session.h"
#include "tern/transport/udp_socket.h"

using namespace tern;
using namespace tern::transport;

namespace {

constexpr size_t kPacketSize = 1200;
constexpr size_t kBatch = 32;
constexpr size_t kRing = 16384;

SrtpSession session(SrtpDirection direction, SrtpBackend backend, uint8_t key) {
  SrtpConfig c;
  c.direction = direction;
  c.backend = backend;
  c.key_material.assign(srtp_key_material_size(c.profile), key);
  return SrtpSession::Create(c).value();
}

void BM_ReferenceForwarder(benchmark::State& state, bool srtp, SrtpBackend backend) {
  auto publisher = UdpSocket::Open(SocketAddress::LoopbackV4(0));
  auto forwarder = UdpSocket::Open(SocketAddress::LoopbackV4(0));
  auto subscriber = UdpSocket::Open(SocketAddress::LoopbackV4(0));
  if (!publisher.ok() || !forwarder.ok() || !subscriber.ok()) {
    state.SkipWithError("no loopback");
    return;
  }
  // The publisher's stream, protected once.
  std::vector<std::vector<uint8_t>> ring(kRing);
  SrtpSession publish = session(SrtpDirection::kSend, backend, 0x11);
  for (size_t i = 0; i < kRing; ++i) {
    ring[i].assign(kPacketSize, 0x5a);
    ring[i][0] = 0x80;
    ring[i][1] = 96;
    store_be16(&ring[i][2], static_cast<uint16_t>(i));
    store_be32(&ring[i][8], 0x01020304);
    if (srtp && !publish.protect_rtp(ring[i]).ok()) state.SkipWithError("protect failed");
  }
  SrtpSession in = session(SrtpDirection::kReceive, backend, 0x11);
  SrtpSession out = session(SrtpDirection::kSend, backend, 0x22);
  DatagramBatch sent(kBatch, 1500), relay(kBatch, 1500), drained(kBatch, 1500);
  const SocketAddress to_forwarder = forwarder->local_address(), to_subscriber = subscriber->local_address();
  size_t next = 0;
  int64_t forwarded = 0, dropped = 0;
  for (auto _ : state) {
    if (next + kBatch > kRing) {
      state.PauseTiming();
      in = session(SrtpDirection::kReceive, backend, 0x11);
      out = session(SrtpDirection::kSend, backend, 0x22);
      next = 0;
      state.ResumeTiming();
    }
    for (size_t i = 0; i < kBatch; ++i) sent.set(i, ring[next + i], to_forwarder);
    next += kBatch;
    auto n = publisher->send_batch(sent.slots());
    const size_t want = n.ok() ? *n : 0;
    size_t got = 0;
    for (int round = 0; round < 100 && got < want; ++round) {
      auto r = forwarder->receive_batch(relay.slots().subspan(got));
      if (!r.ok()) break;
      got += *r;
    }
    // The forwarder's work: unprotect, protect for the subscriber, address it.
    for (size_t i = 0; i < got; ++i) {
      Datagram& d = relay[i];
      if (srtp && (!in.unprotect_rtp(d.buffer, d.size).ok() || !out.protect_rtp(d.buffer, d.size).ok())) {
        ++dropped;
        d.size = 0;
      }
      d.peer = to_subscriber;
    }
    auto s = forwarder->send_batch(relay.slots().first(got));
    const size_t out_count = s.ok() ? *s : 0;
    size_t drained_count = 0;
    for (int round = 0; round < 100 && drained_count < out_count; ++round) {
      auto r = subscriber->receive_batch(drained.slots());
      if (!r.ok()) break;
      drained_count += *r;
    }
    forwarded += static_cast<int64_t>(drained_count);
  }
  if (dropped > 0) state.SkipWithError("SRTP refused packets");
  state.SetItemsProcessed(forwarded);
}

}  // namespace

BENCHMARK_CAPTURE(BM_ReferenceForwarder, no_srtp, false, SrtpBackend::kOpenSsl);
BENCHMARK_CAPTURE(BM_ReferenceForwarder, srtp_openssl, true, SrtpBackend::kOpenSsl);
BENCHMARK_CAPTURE(BM_ReferenceForwarder, srtp_libsrtp, true, SrtpBackend::kLibsrtp);
