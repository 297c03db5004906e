#include "tern/dtls/dtls_srtp_keys.h"

namespace tern::dtls {

std::optional<SrtpKeyLengths> srtp_key_lengths(uint16_t profile) {
  switch (profile) {
    case kSrtpAes128CmSha1_80:
    case kSrtpAes128CmSha1_32: return SrtpKeyLengths{16, 14};
    case kSrtpAeadAes128Gcm: return SrtpKeyLengths{16, 12};
    case kSrtpAeadAes256Gcm: return SrtpKeyLengths{32, 12};
    default: return std::nullopt;
  }
}

std::string_view srtp_profile_openssl_name(uint16_t profile) {
  switch (profile) {
    case kSrtpAes128CmSha1_80: return "SRTP_AES128_CM_SHA1_80";
    case kSrtpAes128CmSha1_32: return "SRTP_AES128_CM_SHA1_32";
    case kSrtpAeadAes128Gcm: return "SRTP_AEAD_AES_128_GCM";
    case kSrtpAeadAes256Gcm: return "SRTP_AEAD_AES_256_GCM";
    default: return "";
  }
}

Result<DtlsSrtpKeys> split_srtp_keying_material(uint16_t profile, std::span<const uint8_t> exported, DtlsRole role) {
  const auto lengths = srtp_key_lengths(profile);
  if (!lengths) return Error{"DTLS-SRTP: unknown protection profile"};
  const size_t k = lengths->key;
  const size_t s = lengths->salt;
  if (exported.size() != 2 * (k + s)) return Error{"DTLS-SRTP: exported keying material has the wrong length"};
  auto key_salt = [&](size_t key_at, size_t salt_at) {
    std::vector<uint8_t> v(exported.begin() + static_cast<std::ptrdiff_t>(key_at), exported.begin() + static_cast<std::ptrdiff_t>(key_at + k));
    v.insert(v.end(), exported.begin() + static_cast<std::ptrdiff_t>(salt_at), exported.begin() + static_cast<std::ptrdiff_t>(salt_at + s));
    return v;
  };
  std::vector<uint8_t> client = key_salt(0, 2 * k);
  std::vector<uint8_t> server = key_salt(k, 2 * k + s);
  DtlsSrtpKeys keys;
  keys.profile = profile;
  keys.local = role == DtlsRole::kClient ? std::move(client) : std::move(server);
  keys.remote = role == DtlsRole::kClient ? std::move(server) : std::move(client);
  return keys;
}

}  // namespace tern::dtls
