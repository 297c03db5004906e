#include "tern/dtls/dtls_certificate.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string>

namespace tern::dtls {

Result<std::shared_ptr<const DtlsCertificate>> DtlsCertificate::Generate(std::string_view common_name, TimeDelta validity) {
  if (common_name.empty() || common_name.size() > 64) return Error{"certificate: common name must be 1..64 characters"};
  if (validity <= TimeDelta::Zero() || validity > TimeDelta::Seconds(3650LL * 86400)) return Error{"certificate: validity must be in (0, 10 years]"};
  std::shared_ptr<DtlsCertificate> c(new DtlsCertificate());
  c->key_ = EVP_EC_gen("P-256");
  if (c->key_ == nullptr) return Error{"certificate: P-256 key generation failed"};
  c->x509_ = X509_new();
  X509* x = c->x509_;
  if (x == nullptr) return Error{"certificate: X509_new failed"};
  // Serial: 63 random bits (positive as a DER INTEGER).
  uint64_t serial = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof(serial)) != 1) return Error{"certificate: no randomness for the serial"};
  serial &= 0x7fffffffffffffffull;
  BIGNUM* bn = BN_new();
  const bool serial_ok = bn != nullptr && BN_set_word(bn, serial) == 1 && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != nullptr;
  BN_free(bn);
  const std::string cn(common_name);
  X509_NAME* name = X509_get_subject_name(x);
  const bool ok = serial_ok && X509_set_version(x, 2) == 1 &&
                  X509_gmtime_adj(X509_getm_notBefore(x), -86400) != nullptr &&
                  X509_gmtime_adj(X509_getm_notAfter(x), static_cast<long>(validity.seconds())) != nullptr &&
                  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) == 1 &&
                  X509_set_issuer_name(x, name) == 1 && X509_set_pubkey(x, c->key_) == 1 && X509_sign(x, c->key_, EVP_sha256()) > 0;
  if (!ok) return Error{"certificate: building or signing the X.509 certificate failed"};
  const int len = i2d_X509(x, nullptr);
  if (len <= 0) return Error{"certificate: DER encoding failed"};
  c->der_.resize(static_cast<size_t>(len));
  unsigned char* p = c->der_.data();
  if (i2d_X509(x, &p) != len) return Error{"certificate: DER encoding failed"};
  auto f = CertificateFingerprint::of_der(c->der_, "sha-256");
  if (!f) return Error{f.error()};
  c->fingerprint_ = std::move(*f);
  return std::shared_ptr<const DtlsCertificate>(std::move(c));
}

DtlsCertificate::~DtlsCertificate() {
  SSL_CTX_free(context_);  // transports still alive hold their own reference through their SSL
  X509_free(x509_);
  EVP_PKEY_free(key_);
}

std::string DtlsCertificate::pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return {};
  std::string out;
  if (PEM_write_bio_X509(bio, x509_) == 1) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    if (n > 0) out.assign(data, static_cast<size_t>(n));
  }
  BIO_free(bio);
  return out;
}

}  // namespace tern::dtls
