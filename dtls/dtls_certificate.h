// DtlsCertificate: the self-signed ECDSA P-256 certificate and key a WebRTC endpoint presents in
// DTLS (RFC 8827 6.5: ECDSA P-256; RFC 8842 5: authenticated only by the SDP fingerprint), made in
// memory with OpenSSL. One certificate usually serves every DtlsTransport of an endpoint, so it is
// shared (std::shared_ptr<const DtlsCertificate>) and immutable once made.
//
// It also carries the OpenSSL context (SSL_CTX) every DtlsTransport presenting it shares, made on
// the first transport's creation (thread-safe) and freed with the certificate.
//
// Validity: from one day before creation (clock skew) to `validity` after, read from the system's
// wall clock (X509_gmtime_adj): the peer checks only the fingerprint, not the dates, in WebRTC.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/dtls/certificate_fingerprint.h"

// OpenSSL's types, kept opaque so that users of this header need not include OpenSSL.
struct x509_st;
struct evp_pkey_st;
struct ssl_ctx_st;

namespace tern::dtls {

class DtlsCertificate {
 public:
  // A fresh P-256 key and a self-signed X.509 v3 certificate (random 64-bit serial, SHA-256
  // signature, subject = issuer = CN=<common_name>). Fails with OpenSSL's reason.
  static Result<std::shared_ptr<const DtlsCertificate>> Generate(std::string_view common_name = "tern",
                                                                 TimeDelta validity = TimeDelta::Seconds(30 * 86400));
  ~DtlsCertificate();
  DtlsCertificate(const DtlsCertificate&) = delete;
  DtlsCertificate& operator=(const DtlsCertificate&) = delete;

  // The SHA-256 fingerprint; fingerprint().to_string() is the a=fingerprint value.
  const CertificateFingerprint& fingerprint() const { return fingerprint_; }
  // The certificate's DER encoding and PEM text (the key is never exported).
  const std::vector<uint8_t>& der() const { return der_; }
  std::string pem() const;

  // For the DTLS engine: borrowed, valid as long as this object.
  x509_st* x509() const { return x509_; }
  evp_pkey_st* private_key() const { return key_; }

 private:
  friend class DtlsTransport;  // makes and uses context_
  DtlsCertificate() = default;
  mutable std::once_flag context_once_;
  mutable ssl_ctx_st* context_ = nullptr;
  x509_st* x509_ = nullptr;
  evp_pkey_st* key_ = nullptr;
  std::vector<uint8_t> der_;
  CertificateFingerprint fingerprint_;
};

}  // namespace tern::dtls
