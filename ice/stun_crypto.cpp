#include "tern/ice/stun_crypto.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstring>

namespace tern::ice {
namespace {

// Fetched once per process (fetching is the costly part of EVP); EVP_MAC/EVP_MD objects are
// immutable and safe to share between threads.
EVP_MAC* HmacAlgorithm() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

const EVP_MD* Md5Algorithm() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "MD5", nullptr);
  return md;
}

// One HMAC context per thread and digest, its digest set once: OpenSSL 3 resolves the digest by
// name on every EVP_MAC_init that passes it, which costs as much as the MAC of a STUN message;
// re-initialising with only a new key skips that (and the context allocation).
class HmacContext {
 public:
  explicit HmacContext(const char* digest) {
    if (HmacAlgorithm() == nullptr) return;
    ctx_ = EVP_MAC_CTX_new(HmacAlgorithm());
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
        OSSL_PARAM_construct_end()};
    if (ctx_ != nullptr && EVP_MAC_CTX_set_params(ctx_, params) != 1) {
      EVP_MAC_CTX_free(ctx_);
      ctx_ = nullptr;
    }
  }
  ~HmacContext() { EVP_MAC_CTX_free(ctx_); }
  HmacContext(const HmacContext&) = delete;
  HmacContext& operator=(const HmacContext&) = delete;
  EVP_MAC_CTX* get() const { return ctx_; }

 private:
  EVP_MAC_CTX* ctx_ = nullptr;
};

template <size_t N>
std::array<uint8_t, N> Hmac(const HmacContext& context, ByteSpan key, std::initializer_list<ByteSpan> pieces) {
  std::array<uint8_t, N> out{};
  EVP_MAC_CTX* ctx = context.get();
  if (ctx == nullptr) return out;  // no HMAC provider: an all-zero MAC never verifies
  // OpenSSL refuses a null key pointer even with length 0.
  static const uint8_t kEmpty = 0;
  const uint8_t* k = key.empty() ? &kEmpty : key.data();
  size_t len = 0;
  bool ok = EVP_MAC_init(ctx, k, key.size(), nullptr) == 1;
  for (ByteSpan p : pieces) ok = ok && (p.empty() || EVP_MAC_update(ctx, p.data(), p.size()) == 1);
  ok = ok && EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1 && len == N;
  if (!ok) out.fill(0);
  return out;
}

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

}  // namespace

std::array<uint8_t, 20> hmac_sha1(ByteSpan key, std::initializer_list<ByteSpan> pieces) {
  static thread_local const HmacContext context("SHA1");
  return Hmac<20>(context, key, pieces);
}

std::array<uint8_t, 32> hmac_sha256(ByteSpan key, std::initializer_list<ByteSpan> pieces) {
  static thread_local const HmacContext context("SHA256");
  return Hmac<32>(context, key, pieces);
}

std::array<uint8_t, 16> md5(std::initializer_list<ByteSpan> pieces) {
  std::array<uint8_t, 16> out{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr || Md5Algorithm() == nullptr) {
    EVP_MD_CTX_free(ctx);
    return out;
  }
  unsigned len = 0;
  bool ok = EVP_DigestInit_ex2(ctx, Md5Algorithm(), nullptr) == 1;
  for (ByteSpan p : pieces) ok = ok && (p.empty() || EVP_DigestUpdate(ctx, p.data(), p.size()) == 1);
  ok = ok && EVP_DigestFinal_ex(ctx, out.data(), &len) == 1 && len == out.size();
  EVP_MD_CTX_free(ctx);
  if (!ok) out.fill(0);
  return out;
}

uint32_t crc32(ByteSpan data, uint32_t crc) {
  crc = ~crc;
  for (uint8_t b : data) crc = kCrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

}  // namespace tern::ice
