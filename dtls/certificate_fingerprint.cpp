#include "tern/dtls/certificate_fingerprint.h"

#include <openssl/evp.h>

#include <cctype>

namespace tern::dtls {
namespace {

struct Hash {
  std::string_view name;
  size_t size;
  const EVP_MD* (*md)();
};
constexpr Hash kHashes[] = {{"sha-256", 32, &EVP_sha256}, {"sha-384", 48, &EVP_sha384}, {"sha-512", 64, &EVP_sha512}};

const Hash* find_hash(std::string_view name) {
  for (const Hash& h : kHashes) {
    if (h.name.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(name[i])) == h.name[i];
    if (same) return &h;
  }
  return nullptr;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<CertificateFingerprint> CertificateFingerprint::parse(std::string_view value) {
  const size_t space = value.find(' ');
  if (space == std::string_view::npos) return Error{"fingerprint: no space between hash function and digest"};
  const Hash* hash = find_hash(value.substr(0, space));
  if (hash == nullptr) return Error{"fingerprint: hash function is not sha-256, sha-384 or sha-512"};
  std::string_view hex = value.substr(space + 1);
  while (!hex.empty() && hex.front() == ' ') hex.remove_prefix(1);
  CertificateFingerprint f;
  f.algorithm = std::string(hash->name);
  // "XX" then ":XX" per further byte: 3 * size - 1 characters exactly.
  if (hex.size() != hash->size * 3 - 1) return Error{"fingerprint: digest length does not match the hash function"};
  for (size_t i = 0; i < hash->size; ++i) {
    const int hi = hex_digit(hex[i * 3]);
    const int lo = hex_digit(hex[i * 3 + 1]);
    if (hi < 0 || lo < 0) return Error{"fingerprint: digest is not hex"};
    if (i + 1 < hash->size && hex[i * 3 + 2] != ':') return Error{"fingerprint: digest bytes are not separated by ':'"};
    f.digest.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return f;
}

Result<CertificateFingerprint> CertificateFingerprint::of_der(std::span<const uint8_t> der, std::string_view algorithm) {
  const Hash* hash = find_hash(algorithm);
  if (hash == nullptr) return Error{"fingerprint: hash function is not sha-256, sha-384 or sha-512"};
  CertificateFingerprint f;
  f.algorithm = std::string(hash->name);
  f.digest.resize(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  if (EVP_Digest(der.data(), der.size(), f.digest.data(), &len, hash->md(), nullptr) != 1) return Error{"fingerprint: digest failed"};
  f.digest.resize(len);
  return f;
}

std::string CertificateFingerprint::to_string() const {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string s = algorithm + " ";
  for (size_t i = 0; i < digest.size(); ++i) {
    if (i > 0) s += ':';
    s += kHex[digest[i] >> 4];
    s += kHex[digest[i] & 15];
  }
  return s;
}

}  // namespace tern::dtls
