// A certificate fingerprint as SDP carries it (RFC 8122 5, `a=fingerprint:sha-256 AB:CD:...`): the
// hash function's name and the digest of the certificate's DER encoding. RFC 8842 5 and RFC 5763 5
// make it the only authentication of a self-signed DTLS certificate in WebRTC.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/result.h"

namespace tern::dtls {

struct CertificateFingerprint {
  std::string algorithm;        // lower case: "sha-256", "sha-384" or "sha-512"
  std::vector<uint8_t> digest;  // 32, 48 or 64 bytes

  // Parses "<hash-func> <hex:hex:...>" (the a=fingerprint value): the hash name is matched without
  // regard to case, the digest is upper- or lower-case hex pairs separated by ':' and must have the
  // hash's length. Only SHA-2 is accepted (sha-1 and md5 are refused as too weak to authenticate).
  static Result<CertificateFingerprint> parse(std::string_view value);
  // The digest of `der` (a certificate's DER bytes) under `algorithm` (one parse() accepts).
  static Result<CertificateFingerprint> of_der(std::span<const uint8_t> der, std::string_view algorithm);

  // "sha-256 AB:CD:..." (upper-case hex, as browsers write it).
  std::string to_string() const;
  bool operator==(const CertificateFingerprint&) const = default;
};

}  // namespace tern::dtls
