// SRTP cost per 1200-byte RTP packet, protect then unprotect (one sender, one receiver), for each
// suite and each SrtpSession backend, beside the bare OpenSSL EVP primitives the suite needs
// (AES-CTR + HMAC-SHA1-80 twice, or AES-GCM seal + open): the floor for this machine. Issue 17's
// goal: the OpenSSL backend within 1.5x of the primitives; libsrtp2 (NSS underneath in Debian) for
// reference. Run: build/bench/tern_srtp_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <cstring>
#include <vector>

#include "tern/core/byte_io.h"
#include "tern/transport/srtp_session.h"

using namespace tern;
using namespace tern::transport;

namespace {

constexpr size_t kPacketSize = 1200;

std::vector<uint8_t> plain_rtp() {
  std::vector<uint8_t> p(kPacketSize, 0x5a);
  p[0] = 0x80;
  p[1] = 96;
  store_be32(&p[8], 0x11223344);
  return p;
}

SrtpSession make(SrtpProfile profile, SrtpDirection direction, SrtpBackend backend) {
  SrtpConfig c;
  c.profile = profile;
  c.direction = direction;
  c.backend = backend;
  c.key_material.assign(srtp_key_material_size(profile), 0x42);
  return SrtpSession::Create(c).value();
}

void BM_Srtp(benchmark::State& state, SrtpProfile profile, SrtpBackend backend) {
  SrtpSession tx = make(profile, SrtpDirection::kSend, backend);
  SrtpSession rx = make(profile, SrtpDirection::kReceive, backend);
  const std::vector<uint8_t> plain = plain_rtp();
  std::vector<uint8_t> buffer(kPacketSize + SrtpSession::kMaxOverhead);
  uint16_t seq = 0;
  for (auto _ : state) {
    std::memcpy(buffer.data(), plain.data(), plain.size());
    store_be16(&buffer[2], seq++);
    size_t size = plain.size();
    if (!tx.protect_rtp(buffer, size).ok() || !rx.unprotect_rtp(buffer, size).ok()) state.SkipWithError("srtp failed");
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kPacketSize));
}

// What an AES-CM suite must compute per packet and side: AES-128-CTR over the payload and
// HMAC-SHA1 over the packet. Twice (sender and receiver), with pre-keyed contexts.
void BM_EvpPrimitives_AesCtrHmacSha1(benchmark::State& state) {
  const uint8_t key[16] = {1}, auth_key[20] = {2};
  uint8_t iv[16] = {3};
  EVP_CIPHER_CTX* ctr = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(ctr, EVP_aes_128_ctr(), nullptr, key, nullptr);
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* mac = EVP_MAC_CTX_new(hmac);
  char digest[] = "SHA1";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  EVP_MAC_init(mac, auth_key, sizeof(auth_key), params);
  std::vector<uint8_t> buffer = plain_rtp();
  uint8_t tag[20];
  for (auto _ : state) {
    for (int side = 0; side < 2; ++side) {
      int out = 0;
      size_t tag_size = 0;
      ++iv[15];
      EVP_EncryptInit_ex(ctr, nullptr, nullptr, nullptr, iv);
      EVP_EncryptUpdate(ctr, buffer.data() + 12, &out, buffer.data() + 12, static_cast<int>(buffer.size() - 12));
      EVP_MAC_init(mac, nullptr, 0, nullptr);
      EVP_MAC_update(mac, buffer.data(), buffer.size());
      EVP_MAC_final(mac, tag, &tag_size, sizeof(tag));
    }
    benchmark::DoNotOptimize(tag);
  }
  EVP_MAC_CTX_free(mac);
  EVP_MAC_free(hmac);
  EVP_CIPHER_CTX_free(ctr);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kPacketSize));
}

// What a GCM suite must compute: seal (sender) and open (receiver) with the header as AAD.
void BM_EvpPrimitives_AesGcm(benchmark::State& state, int key_bits) {
  const uint8_t key[32] = {1};
  uint8_t iv[12] = {3};
  EVP_CIPHER_CTX* seal = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* open = EVP_CIPHER_CTX_new();
  const EVP_CIPHER* cipher = key_bits == 256 ? EVP_aes_256_gcm() : EVP_aes_128_gcm();
  EVP_EncryptInit_ex(seal, cipher, nullptr, key, nullptr);
  EVP_DecryptInit_ex(open, cipher, nullptr, key, nullptr);
  std::vector<uint8_t> buffer = plain_rtp();
  uint8_t tag[16];
  for (auto _ : state) {
    int out = 0;
    ++iv[11];
    EVP_EncryptInit_ex(seal, nullptr, nullptr, nullptr, iv);
    EVP_EncryptUpdate(seal, nullptr, &out, buffer.data(), 12);
    EVP_EncryptUpdate(seal, buffer.data() + 12, &out, buffer.data() + 12, static_cast<int>(buffer.size() - 12));
    EVP_EncryptFinal_ex(seal, buffer.data() + buffer.size(), &out);
    EVP_CIPHER_CTX_ctrl(seal, EVP_CTRL_GCM_GET_TAG, 16, tag);
    EVP_DecryptInit_ex(open, nullptr, nullptr, nullptr, iv);
    EVP_DecryptUpdate(open, nullptr, &out, buffer.data(), 12);
    EVP_DecryptUpdate(open, buffer.data() + 12, &out, buffer.data() + 12, static_cast<int>(buffer.size() - 12));
    EVP_CIPHER_CTX_ctrl(open, EVP_CTRL_GCM_SET_TAG, 16, tag);
    if (EVP_DecryptFinal_ex(open, buffer.data() + buffer.size(), &out) != 1) state.SkipWithError("gcm open failed");
    benchmark::DoNotOptimize(buffer.data());
  }
  EVP_CIPHER_CTX_free(seal);
  EVP_CIPHER_CTX_free(open);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kPacketSize));
}

}  // namespace

BENCHMARK(BM_EvpPrimitives_AesCtrHmacSha1);
BENCHMARK_CAPTURE(BM_Srtp, AesCm128Sha1_80_openssl, SrtpProfile::kAesCm128HmacSha1_80, SrtpBackend::kOpenSsl);
BENCHMARK_CAPTURE(BM_Srtp, AesCm128Sha1_80_libsrtp, SrtpProfile::kAesCm128HmacSha1_80, SrtpBackend::kLibsrtp);
BENCHMARK_CAPTURE(BM_Srtp, AesCm128Sha1_32_openssl, SrtpProfile::kAesCm128HmacSha1_32, SrtpBackend::kOpenSsl);
BENCHMARK_CAPTURE(BM_Srtp, AesCm128Sha1_32_libsrtp, SrtpProfile::kAesCm128HmacSha1_32, SrtpBackend::kLibsrtp);
BENCHMARK_CAPTURE(BM_EvpPrimitives_AesGcm, 128, 128);
BENCHMARK_CAPTURE(BM_Srtp, AeadAes128Gcm_openssl, SrtpProfile::kAeadAes128Gcm, SrtpBackend::kOpenSsl);
BENCHMARK_CAPTURE(BM_Srtp, AeadAes128Gcm_libsrtp, SrtpProfile::kAeadAes128Gcm, SrtpBackend::kLibsrtp);
BENCHMARK_CAPTURE(BM_EvpPrimitives_AesGcm, 256, 256);
BENCHMARK_CAPTURE(BM_Srtp, AeadAes256Gcm_openssl, SrtpProfile::kAeadAes256Gcm, SrtpBackend::kOpenSsl);
BENCHMARK_CAPTURE(BM_Srtp, AeadAes256Gcm_libsrtp, SrtpProfile::kAeadAes256Gcm, SrtpBackend::kLibsrtp);
