// dtls/ benchmarks: what a DTLS-SRTP association costs.
//  - One full in-memory handshake per iteration between two tern DtlsTransports (client and
//    server, certificates made once, fingerprints checked, keys exported): ECDHE X25519 +
//    ECDSA P-256 on both sides, AES-128-GCM, AEAD_AES_128_GCM.
//  - The reference in the same run: the same handshake driven by bare OpenSSL (two SSL objects over
//    memory BIOs, one context per side made once as tern does, same certificates, cipher, groups
//    and use_srtp, no fingerprint check, no export).
//    tern / raw is the wrapper's cost over the crypto.
//  - Creating one DtlsTransport (an SSL on its certificate's shared SSL_CTX), a part of the
//    handshake figure.
//  - Generating the P-256 certificate (once per endpoint in WebRTC).
//  - One 1000-byte application record protected by one side and read by the other.
#include <benchmark/benchmark.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <memory>
#include <vector>

#include "tern/dtls/dtls_transport.h"
#include "tern/dtls/in_memory_pair.h"

using namespace tern;
using namespace tern::dtls;

namespace {

void BM_DtlsHandshake(benchmark::State& state) {
  const Timestamp now = Timestamp::Seconds(1);
  size_t bytes = 0;
  for (auto _ : state) {
    auto client = DtlsTransport::Create(InMemoryConfig(DtlsRole::kClient)).value();
    auto server = DtlsTransport::Create(InMemoryConfig(DtlsRole::kServer)).value();
    client->start(now);
    bytes = Shuttle(*client, *server, now).bytes;
    if (client->state() != DtlsState::kConnected || server->state() != DtlsState::kConnected) {
      state.SkipWithError("handshake failed");
      break;
    }
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_DtlsHandshake)->Unit(benchmark::kMicrosecond);

SSL_CTX* RawContext(int self) {
  SSL_CTX* ctx = SSL_CTX_new(DTLS_method());
  SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION);
  SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305");
  SSL_CTX_set1_groups_list(ctx, "X25519:P-256");
  SSL_CTX_use_certificate(ctx, InMemoryCertificate(self)->x509());
  SSL_CTX_use_PrivateKey(ctx, InMemoryCertificate(self)->private_key());
  SSL_CTX_set_tlsext_use_srtp(ctx, "SRTP_AEAD_AES_128_GCM:SRTP_AEAD_AES_256_GCM:SRTP_AES128_CM_SHA1_80");
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_QUERY_MTU);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, [](int, X509_STORE_CTX*) { return 1; });
  return ctx;
}

// Moves what `from` wrote to `to`'s input, one datagram per BIO_write (mem BIOs keep no boundaries,
// which a record-aware reader in memory does not need).
void Move(BIO* from, BIO* to) {
  char buf[4096];
  int n;
  while ((n = BIO_read(from, buf, sizeof(buf))) > 0) BIO_write(to, buf, n);
}

void BM_RawOpenSslDtlsHandshake(benchmark::State& state) {
  SSL_CTX* cctx = RawContext(0);
  SSL_CTX* sctx = RawContext(1);
  for (auto _ : state) {
    SSL* c = SSL_new(cctx);
    SSL* s = SSL_new(sctx);
    BIO* c_in = BIO_new(BIO_s_mem());
    BIO* c_out = BIO_new(BIO_s_mem());
    BIO* s_in = BIO_new(BIO_s_mem());
    BIO* s_out = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(c_in, -1);
    BIO_set_mem_eof_return(s_in, -1);
    SSL_set_bio(c, c_in, c_out);
    SSL_set_bio(s, s_in, s_out);
    SSL_set_mtu(c, 1200);
    SSL_set_mtu(s, 1200);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    bool done = false;
    for (int i = 0; i < 20 && !done; ++i) {
      const int rc = SSL_do_handshake(c);
      Move(c_out, s_in);
      const int rs = SSL_do_handshake(s);
      Move(s_out, c_in);
      done = rc == 1 && rs == 1;
    }
    if (!done) {
      state.SkipWithError("raw handshake failed");
      break;
    }
    SSL_free(c);
    SSL_free(s);
  }
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
}
BENCHMARK(BM_RawOpenSslDtlsHandshake)->Unit(benchmark::kMicrosecond);

// The per-association setup inside BM_DtlsHandshake (twice there): an SSL on the certificate's
// shared context, its BIO, use_srtp, MTU and timer. (With an SSL_CTX per transport, as first
// written, this was ~130 µs: OpenSSL 3.0's SSL_CTX_new.)
void BM_DtlsTransportCreate(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(DtlsTransport::Create(InMemoryConfig(DtlsRole::kServer)).value());
}
BENCHMARK(BM_DtlsTransportCreate)->Unit(benchmark::kMicrosecond);

void BM_DtlsCertificateGenerate(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(DtlsCertificate::Generate("bench").value());
}
BENCHMARK(BM_DtlsCertificateGenerate)->Unit(benchmark::kMicrosecond);

void BM_DtlsApplicationRecord(benchmark::State& state) {
  const Timestamp now = Timestamp::Seconds(1);
  auto client = DtlsTransport::Create(InMemoryConfig(DtlsRole::kClient)).value();
  auto server = DtlsTransport::Create(InMemoryConfig(DtlsRole::kServer)).value();
  client->start(now);
  Shuttle(*client, *server, now);
  const std::vector<uint8_t> payload(1000, 0x42);
  for (auto _ : state) {
    if (!client->send_application(payload, now).ok()) {
      state.SkipWithError("send failed");
      break;
    }
    server->on_datagram(*client->pop_outgoing(), now);
    benchmark::DoNotOptimize(server->pop_application());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 1000);
}
BENCHMARK(BM_DtlsApplicationRecord);

}  // namespace
