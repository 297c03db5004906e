#include "tern/transport/srtp_evp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>
#include <cstring>

#include "tern/transport/srtp_session.h"

namespace tern::transport {
namespace {

constexpr size_t kGcmTag = 16;
constexpr size_t kRtcpTag = 10;  // HMAC-SHA1-80 for SRTCP in every AES-CM suite (RFC 4568 6.2.2)
constexpr size_t kSaltField = 14;

uint32_t load32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
void store32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// RTP header length (fixed header, CSRCs, extension), 0 when it does not fit `size` or is not RTP v2.
size_t rtp_header_length(const uint8_t* data, size_t size) {
  if (size < 12 || (data[0] >> 6) != 2) return 0;
  size_t length = 12 + 4 * size_t{static_cast<uint8_t>(data[0] & 0x0f)};
  if (data[0] & 0x10) {
    if (size < length + 4) return 0;
    length += 4 + 4 * ((size_t{data[length + 2]} << 8) | data[length + 3]);
  }
  return length <= size ? length : 0;
}

struct CipherCtx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
};
// HMAC-SHA1 (RFC 2104) keyed once: the SHA-1 states after the (key XOR ipad) and (key XOR opad)
// blocks, kept as plain SHA_CTX values inside the stream's crypto. A tag then costs two state
// copies and the SHA-1 blocks of the message (OpenSSL's SHA1_Update: the same SHA-NI / AVX code
// EVP's SHA-1 runs). EVP_MAC_init/update/final did the same work through three EVP_MD_CTX copies
// behind two levels of pointers per packet: on a media server forwarding to hundreds of
// subscribers those contexts are out of cache and their misses cost more than the hashing.
// SHA1_Init/Update/Final are deprecated in OpenSSL 3.0 in favour of EVP (still built by Debian);
// the warning is silenced here only (a pragma, not a macro: in a unity build the header may already
// have been included).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
struct Hmac {
  SHA_CTX inner{}, outer{};
  bool keyed = false;
  ~Hmac() { OPENSSL_cleanse(this, sizeof(*this)); }

  bool key(const uint8_t* key, size_t length) {
    uint8_t block[SHA_CBLOCK] = {};
    if (length > SHA_CBLOCK) {
      if (SHA1(key, length, block) == nullptr) return false;
    } else {
      std::memcpy(block, key, length);
    }
    uint8_t pad[SHA_CBLOCK];
    for (size_t i = 0; i < SHA_CBLOCK; ++i) pad[i] = block[i] ^ 0x36;
    keyed = SHA1_Init(&inner) == 1 && SHA1_Update(&inner, pad, SHA_CBLOCK) == 1;
    for (size_t i = 0; i < SHA_CBLOCK; ++i) pad[i] = block[i] ^ 0x5c;
    keyed = keyed && SHA1_Init(&outer) == 1 && SHA1_Update(&outer, pad, SHA_CBLOCK) == 1;
    OPENSSL_cleanse(block, sizeof(block));
    OPENSSL_cleanse(pad, sizeof(pad));
    return keyed;
  }

  // The MAC of `a` then `b`, truncated to `tag_length` (<= 20) into `tag`.
  bool tag(const uint8_t* a, size_t a_size, const uint8_t* b, size_t b_size, uint8_t* tag, size_t tag_length) const {
    if (!keyed) return false;
    SHA_CTX c = inner;
    uint8_t digest[SHA_DIGEST_LENGTH];
    bool ok = SHA1_Update(&c, a, a_size) == 1 && (b_size == 0 || SHA1_Update(&c, b, b_size) == 1) && SHA1_Final(digest, &c) == 1;
    c = outer;
    ok = ok && SHA1_Update(&c, digest, sizeof(digest)) == 1 && SHA1_Final(digest, &c) == 1;
    if (ok) std::memcpy(tag, digest, tag_length);
    OPENSSL_cleanse(&c, sizeof(c));
    OPENSSL_cleanse(digest, sizeof(digest));
    return ok;
  }
};
#pragma GCC diagnostic pop

// AES-CTR keystream of `key` from the 16-byte `iv`, XORed into data (in place).
bool ctr_xor(EVP_CIPHER_CTX* ctx, const uint8_t iv[16], uint8_t* data, size_t size) {
  int out = 0;
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv) != 1) return false;
  return size == 0 || EVP_EncryptUpdate(ctx, data, &out, data, static_cast<int>(size)) == 1;
}

// RFC 3711 4.1.1: IV = (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16); the last two bytes
// count blocks. `index` is the 48-bit SRTP or the 31-bit SRTCP index.
void cm_iv(const uint8_t* salt14, const uint8_t* ssrc, uint64_t index, uint8_t iv[16]) {
  std::memcpy(iv, salt14, kSaltField);
  iv[14] = iv[15] = 0;
  for (int i = 0; i < 4; ++i) iv[4 + i] ^= ssrc[i];
  for (int i = 0; i < 6; ++i) iv[8 + i] ^= static_cast<uint8_t>(index >> (40 - 8 * i));
}

// RFC 7714 8.1 (SRTP: 00 00 || SSRC || ROC || SEQ) and 9.1 (SRTCP: 00 00 || SSRC || 00 00 ||
// index), XOR the 12-byte salt: `high` is the ROC or 0, `low` the sequence number or the index.
void gcm_iv(const uint8_t* salt12, const uint8_t* ssrc, uint32_t high, uint32_t low, bool rtcp, uint8_t iv[12]) {
  std::memcpy(iv, salt12, 12);
  for (int i = 0; i < 4; ++i) iv[2 + i] ^= ssrc[i];
  if (rtcp) {
    for (int i = 0; i < 4; ++i) iv[8 + i] ^= static_cast<uint8_t>(low >> (24 - 8 * i));
  } else {
    for (int i = 0; i < 4; ++i) iv[6 + i] ^= static_cast<uint8_t>(high >> (24 - 8 * i));
    iv[10] ^= static_cast<uint8_t>(low >> 8);
    iv[11] ^= static_cast<uint8_t>(low);
  }
}

}  // namespace

// Session keys and the EVP contexts that hold them (one direction: encrypt or decrypt).
struct EvpSrtp::Crypto {
  bool encrypt = true;
  CipherCtx rtp_cipher, rtcp_cipher;
  Hmac rtp_mac, rtcp_mac;  // AES-CM suites only
  std::array<uint8_t, kSaltField> rtp_salt{}, rtcp_salt{};

  // RFC 3711 4.3.1 with key derivation rate 0: AES-CM(master key) keystream from (salt XOR label).
  static bool derive(const EVP_CIPHER* ctr, const uint8_t* master_key, const std::array<uint8_t, kSaltField>& master_salt,
                     uint8_t label, uint8_t* out, size_t length) {
    CipherCtx kdf;
    uint8_t iv[16] = {};
    std::memcpy(iv, master_salt.data(), kSaltField);
    iv[7] ^= label;
    std::memset(out, 0, length);
    return kdf.ctx && EVP_EncryptInit_ex(kdf.ctx, ctr, nullptr, master_key, nullptr) == 1 && ctr_xor(kdf.ctx, iv, out, length);
  }


  // AEAD over `data` (in place) with `aad`; encrypt writes the tag, decrypt checks it.
  bool gcm(EVP_CIPHER_CTX* ctx, const uint8_t iv[12], const uint8_t* aad, size_t aad_size, const uint8_t* aad2,
           size_t aad2_size, uint8_t* data, size_t size, uint8_t* tag) const {
    int out = 0;
    if (EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, iv, encrypt ? 1 : 0) != 1) return false;
    if (EVP_CipherUpdate(ctx, nullptr, &out, aad, static_cast<int>(aad_size)) != 1) return false;
    if (aad2_size && EVP_CipherUpdate(ctx, nullptr, &out, aad2, static_cast<int>(aad2_size)) != 1) return false;
    if (size && EVP_CipherUpdate(ctx, data, &out, data, static_cast<int>(size)) != 1) return false;
    if (!encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTag), tag) != 1) return false;
    if (EVP_CipherFinal_ex(ctx, data + size, &out) != 1) return false;
    return !encrypt || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTag), tag) == 1;
  }
};

EvpSrtp::ReplayWindow::ReplayWindow(uint32_t size) : size_(size), bits_((size + 63) / 64 + 1, 0) {}

EvpSrtp::Outcome EvpSrtp::ReplayWindow::check(uint64_t index) const {
  if (index > highest_) return Outcome::kOk;
  if (highest_ - index >= size_) return Outcome::kReplay;
  const uint64_t bit = index % (bits_.size() * 64);
  return (bits_[bit / 64] >> (bit % 64)) & 1 ? Outcome::kReplay : Outcome::kOk;
}

void EvpSrtp::ReplayWindow::add(uint64_t index) {
  const uint64_t capacity = bits_.size() * 64;
  if (index > highest_) {
    // Clear the bits of the indices skipped over (they were not seen), at most the whole ring.
    if (index - highest_ >= capacity) {
      std::fill(bits_.begin(), bits_.end(), 0);
    } else {
      for (uint64_t i = highest_ + 1; i < index; ++i) bits_[(i % capacity) / 64] &= ~(uint64_t{1} << (i % 64));
    }
    highest_ = index;
  }
  const uint64_t bit = index % capacity;
  bits_[bit / 64] |= uint64_t{1} << (bit % 64);
}

EvpSrtp::~EvpSrtp() = default;

Result<std::unique_ptr<EvpSrtp>> EvpSrtp::Create(const SrtpConfig& config) {
  if (config.key_material.size() != srtp_key_material_size(config.profile)) return Error{"srtp: key material length does not match the profile"};
  std::unique_ptr<EvpSrtp> s(new EvpSrtp());
  s->profile_ = config.profile;
  s->gcm_ = config.profile == SrtpProfile::kAeadAes128Gcm || config.profile == SrtpProfile::kAeadAes256Gcm;
  s->rtp_tag_ = s->gcm_ ? kGcmTag : config.profile == SrtpProfile::kAesCm128HmacSha1_32 ? 4 : 10;
  s->replay_window_ = config.replay_window;
  s->allow_repeat_tx_ = config.allow_repeat_tx;
  s->crypto_ = std::make_unique<Crypto>();
  Crypto& c = *s->crypto_;
  c.encrypt = config.direction == SrtpDirection::kSend;
  const size_t key_length = config.profile == SrtpProfile::kAeadAes256Gcm ? 32 : 16;
  const size_t salt_length = s->gcm_ ? 12 : 14;
  const uint8_t* master_key = config.key_material.data();
  // The master salt, left-aligned in the 14-byte field (a GCM suite's 12 bytes then two zeros, as
  // libsrtp2 lays it out for its KDF).
  std::array<uint8_t, kSaltField> master_salt{};
  std::memcpy(master_salt.data(), master_key + key_length, salt_length);
  const EVP_CIPHER* ctr = key_length == 32 ? EVP_aes_256_ctr() : EVP_aes_128_ctr();
  const EVP_CIPHER* session_cipher = !s->gcm_ ? EVP_aes_128_ctr() : key_length == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm();
  uint8_t key[32], auth[20];
  bool ok = c.rtp_cipher.ctx && c.rtcp_cipher.ctx;
  for (int rtcp = 0; rtcp < 2 && ok; ++rtcp) {
    const uint8_t base = rtcp ? 3 : 0;  // labels: 0/3 encryption key, 1/4 authentication key, 2/5 salt
    auto& salt = rtcp ? c.rtcp_salt : c.rtp_salt;
    EVP_CIPHER_CTX* cipher = rtcp ? c.rtcp_cipher.ctx : c.rtp_cipher.ctx;
    ok = Crypto::derive(ctr, master_key, master_salt, base, key, key_length) &&
         Crypto::derive(ctr, master_key, master_salt, base + 2, salt.data(), salt_length) &&
         EVP_CipherInit_ex(cipher, session_cipher, nullptr, key, nullptr, c.encrypt ? 1 : 0) == 1;
    if (ok && !s->gcm_) {
      ok = Crypto::derive(ctr, master_key, master_salt, base + 1, auth, sizeof(auth)) &&
           (rtcp ? c.rtcp_mac : c.rtp_mac).key(auth, sizeof(auth));
    }
  }
  OPENSSL_cleanse(key, sizeof(key));
  OPENSSL_cleanse(auth, sizeof(auth));
  if (!ok) return Error{"srtp: OpenSSL could not set up the suite's ciphers"};
  return s;
}

uint64_t EvpSrtp::estimate_index(const Stream& stream, uint16_t seq) {
  const uint64_t highest = stream.rtp.highest();
  if (highest <= 0x8000) return seq;  // ROC 0 until the index passes 2^15, as libsrtp2
  const uint64_t roc = highest >> 16;
  const uint16_t local = static_cast<uint16_t>(highest);
  uint64_t guess_roc = roc;
  if (local < 0x8000) {
    if (seq > local && seq - local > 0x8000) guess_roc = roc - 1;
  } else if (local - 0x8000 > seq) {
    guess_roc = roc + 1;
  }
  return (guess_roc << 16) | seq;
}

EvpSrtp::Stream* EvpSrtp::stream_for(uint32_t ssrc, bool create_allowed, std::optional<Stream>& scratch) {
  if (last_stream_ != nullptr && last_ssrc_ == ssrc) return last_stream_;
  auto it = streams_.find(ssrc);
  if (it == streams_.end()) {
    if (streams_.size() >= kMaxStreams) return nullptr;
    if (!create_allowed) {
      scratch.emplace(replay_window_);
      return &*scratch;
    }
    it = streams_.emplace(ssrc, Stream(replay_window_)).first;
  }
  last_ssrc_ = ssrc;
  last_stream_ = &it->second;
  return last_stream_;
}

EvpSrtp::Outcome EvpSrtp::protect_rtp(uint8_t* data, size_t& size, size_t capacity) {
  const size_t header = rtp_header_length(data, size);
  if (header == 0 || size + rtp_tag_ > capacity) return Outcome::kMalformed;
  const uint32_t ssrc = load32(data + 8);
  std::optional<Stream> scratch;  // made only for an SSRC without a stream (receive)
  Stream* stream = stream_for(ssrc, true, scratch);
  if (!stream) return Outcome::kTooManyStreams;
  const uint64_t index = estimate_index(*stream, static_cast<uint16_t>((data[2] << 8) | data[3]));
  if (stream->rtp.check(index) != Outcome::kOk) {
    // A sequence number protected before: allowed again for plain retransmission.
    if (!allow_repeat_tx_ || index + replay_window_ <= stream->rtp.highest()) return Outcome::kReplay;
  } else {
    stream->rtp.add(index);
  }
  Crypto& c = *crypto_;
  const uint32_t roc = static_cast<uint32_t>(index >> 16);
  if (gcm_) {
    uint8_t iv[12];
    gcm_iv(c.rtp_salt.data(), data + 8, roc, static_cast<uint16_t>(index), false, iv);
    if (!c.gcm(c.rtp_cipher.ctx, iv, data, header, nullptr, 0, data + header, size - header, data + size)) return Outcome::kMalformed;
  } else {
    uint8_t iv[16];
    cm_iv(c.rtp_salt.data(), data + 8, index, iv);
    uint8_t roc_bytes[4];
    store32(roc_bytes, roc);
    if (!ctr_xor(c.rtp_cipher.ctx, iv, data + header, size - header) ||
        !c.rtp_mac.tag(data, size, roc_bytes, 4, data + size, rtp_tag_)) {
      return Outcome::kMalformed;
    }
  }
  size += rtp_tag_;
  return Outcome::kOk;
}

EvpSrtp::Outcome EvpSrtp::unprotect_rtp(uint8_t* data, size_t& size) {
  if (size < 12 + rtp_tag_) return Outcome::kMalformed;
  const size_t body = size - rtp_tag_;
  const size_t header = rtp_header_length(data, body);
  if (header == 0) return Outcome::kMalformed;
  const uint32_t ssrc = load32(data + 8);
  std::optional<Stream> scratch;  // made only for an SSRC without a stream (receive)
  Stream* stream = stream_for(ssrc, false, scratch);
  if (!stream) return Outcome::kTooManyStreams;
  const uint64_t index = estimate_index(*stream, static_cast<uint16_t>((data[2] << 8) | data[3]));
  if (stream->rtp.check(index) != Outcome::kOk) return Outcome::kReplay;
  Crypto& c = *crypto_;
  const uint32_t roc = static_cast<uint32_t>(index >> 16);
  if (gcm_) {
    uint8_t iv[12];
    gcm_iv(c.rtp_salt.data(), data + 8, roc, static_cast<uint16_t>(index), false, iv);
    if (!c.gcm(c.rtp_cipher.ctx, iv, data, header, nullptr, 0, data + header, body - header, data + body)) return Outcome::kAuthFailure;
  } else {
    uint8_t roc_bytes[4], tag[10];
    store32(roc_bytes, roc);
    if (!c.rtp_mac.tag(data, body, roc_bytes, 4, tag, rtp_tag_)) return Outcome::kMalformed;
    if (CRYPTO_memcmp(tag, data + body, rtp_tag_) != 0) return Outcome::kAuthFailure;
    uint8_t iv[16];
    cm_iv(c.rtp_salt.data(), data + 8, index, iv);
    if (!ctr_xor(c.rtp_cipher.ctx, iv, data + header, body - header)) return Outcome::kMalformed;
  }
  // Authenticated: only now may the packet create a stream and move its window.
  if (scratch) stream = &streams_.emplace(ssrc, std::move(*scratch)).first->second;
  stream->rtp.add(index);
  size = body;
  return Outcome::kOk;
}

EvpSrtp::Outcome EvpSrtp::protect_rtcp(uint8_t* data, size_t& size, size_t capacity) {
  const size_t trailer = 4 + (gcm_ ? kGcmTag : kRtcpTag);
  if (size < 8 || (data[0] >> 6) != 2 || size + trailer > capacity) return Outcome::kMalformed;
  const uint32_t ssrc = load32(data + 4);
  std::optional<Stream> scratch;  // made only for an SSRC without a stream (receive)
  Stream* stream = stream_for(ssrc, true, scratch);
  if (!stream) return Outcome::kTooManyStreams;
  if (stream->rtcp_sent >= 0x7fffffff) return Outcome::kReplay;  // index space exhausted: rekey needed
  const uint32_t index = ++stream->rtcp_sent;
  uint8_t e_index[4];
  store32(e_index, 0x80000000u | index);
  Crypto& c = *crypto_;
  if (gcm_) {
    uint8_t iv[12];
    gcm_iv(c.rtcp_salt.data(), data + 4, 0, index, true, iv);
    if (!c.gcm(c.rtcp_cipher.ctx, iv, data, 8, e_index, 4, data + 8, size - 8, data + size)) return Outcome::kMalformed;
    std::memcpy(data + size + kGcmTag, e_index, 4);
  } else {
    uint8_t iv[16];
    cm_iv(c.rtcp_salt.data(), data + 4, index, iv);
    if (!ctr_xor(c.rtcp_cipher.ctx, iv, data + 8, size - 8)) return Outcome::kMalformed;
    std::memcpy(data + size, e_index, 4);
    if (!c.rtcp_mac.tag(data, size + 4, nullptr, 0, data + size + 4, kRtcpTag)) return Outcome::kMalformed;
  }
  size += trailer;
  return Outcome::kOk;
}

EvpSrtp::Outcome EvpSrtp::unprotect_rtcp(uint8_t* data, size_t& size) {
  const size_t tag_length = gcm_ ? kGcmTag : kRtcpTag;
  const size_t trailer = 4 + tag_length;
  if (size < 8 + trailer || (data[0] >> 6) != 2) return Outcome::kMalformed;
  const size_t body = size - trailer;
  const uint32_t ssrc = load32(data + 4);
  std::optional<Stream> scratch;  // made only for an SSRC without a stream (receive)
  Stream* stream = stream_for(ssrc, false, scratch);
  if (!stream) return Outcome::kTooManyStreams;
  // AES-CM: E|index, then the tag; AES-GCM: the tag (inside the AEAD output), then E|index.
  const uint8_t* e_index = gcm_ ? data + body + kGcmTag : data + body;
  const bool encrypted = e_index[0] & 0x80;
  const uint32_t index = load32(e_index) & 0x7fffffff;
  if (stream->rtcp.check(index) != Outcome::kOk) return Outcome::kReplay;
  Crypto& c = *crypto_;
  if (gcm_) {
    uint8_t iv[12];
    gcm_iv(c.rtcp_salt.data(), data + 4, 0, index, true, iv);
    uint8_t trailer_copy[4];
    std::memcpy(trailer_copy, e_index, 4);
    const bool ok = encrypted ? c.gcm(c.rtcp_cipher.ctx, iv, data, 8, trailer_copy, 4, data + 8, body - 8, data + body)
                              : c.gcm(c.rtcp_cipher.ctx, iv, data, body, trailer_copy, 4, nullptr, 0, data + body);
    if (!ok) return Outcome::kAuthFailure;
  } else {
    uint8_t tag[kRtcpTag];
    if (!c.rtcp_mac.tag(data, body + 4, nullptr, 0, tag, kRtcpTag)) return Outcome::kMalformed;
    if (CRYPTO_memcmp(tag, data + body + 4, kRtcpTag) != 0) return Outcome::kAuthFailure;
    if (encrypted) {
      uint8_t iv[16];
      cm_iv(c.rtcp_salt.data(), data + 4, index, iv);
      if (!ctr_xor(c.rtcp_cipher.ctx, iv, data + 8, body - 8)) return Outcome::kMalformed;
    }
  }
  if (scratch) stream = &streams_.emplace(ssrc, std::move(*scratch)).first->second;
  stream->rtcp.add(index);
  size = body;
  return Outcome::kOk;
}

}  // namespace tern::transport
