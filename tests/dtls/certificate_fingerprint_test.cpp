// SDP fingerprints (RFC 8122 5) and the generated certificate.
#include <doctest/doctest.h>

#include <openssl/x509.h>

#include <string>
#include <vector>

#include "support/dtls_pair.h"
#include "tern/dtls/certificate_fingerprint.h"
#include "tern/dtls/dtls_certificate.h"

using namespace tern;
using namespace tern::dtls;

TEST_CASE("CertificateFingerprint: SHA-256 of known bytes, printed and parsed back") {
  // SHA-256("abc") (FIPS 180-2 B.1) as if "abc" were a certificate.
  const std::vector<uint8_t> abc = {'a', 'b', 'c'};
  const auto f = CertificateFingerprint::of_der(abc, "sha-256").value();
  const std::string text = "sha-256 BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD";
  CHECK(f.to_string() == text);
  CHECK(CertificateFingerprint::parse(text).value() == f);
  // Case of the hash name and of the hex does not matter.
  std::string lower = "SHA-256 ba:78:16:bf:8f:01:cf:ea:41:41:40:de:5d:ae:22:23:b0:03:61:a3:96:17:7a:9c:b4:10:ff:61:f2:00:15:ad";
  CHECK(CertificateFingerprint::parse(lower).value() == f);
  CHECK(CertificateFingerprint::of_der(abc, "sha-384")->digest.size() == 48);
  CHECK(CertificateFingerprint::of_der(abc, "sha-512")->digest.size() == 64);
}

TEST_CASE("CertificateFingerprint: malformed values are refused with a reason") {
  const std::string good = "sha-256 BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD";
  CHECK(CertificateFingerprint::parse(good).ok());
  const std::vector<std::string> bads = {"", "sha-256", good.substr(0, good.size() - 3),
                                        "sha-1 A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D", "md5 " + good.substr(8),
                                        good.substr(0, 10) + "G" + good.substr(11), good.substr(0, 10) + "-" + good.substr(11),
                                        good + ":00"};
  for (const std::string& bad : bads) {
    const auto r = CertificateFingerprint::parse(bad);
    CHECK_MESSAGE(!r.ok(), bad);
    CHECK(std::string(r.error()).rfind("fingerprint:", 0) == 0);
  }
}

TEST_CASE("DtlsCertificate: a self-signed ECDSA P-256 certificate with its SHA-256 fingerprint") {
  const auto& cert = tern::test::TestCertificate(0);
  CHECK(cert->fingerprint().algorithm == "sha-256");
  CHECK(cert->fingerprint() == CertificateFingerprint::of_der(cert->der(), "sha-256").value());
  CHECK(cert->fingerprint().to_string().size() == 8 + 32 * 3 - 1);
  CHECK(cert->pem().rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
  X509* x = cert->x509();
  EVP_PKEY* key = X509_get0_pubkey(x);
  REQUIRE(key != nullptr);
  CHECK(EVP_PKEY_is_a(key, "EC"));
  char group[32] = {};
  size_t len = 0;
  CHECK(EVP_PKEY_get_group_name(key, group, sizeof(group), &len) == 1);
  CHECK(std::string(group) == "prime256v1");
  CHECK(X509_verify(x, key) == 1);  // self-signed
  CHECK(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0);
  // Two certificates never share a key or a fingerprint.
  CHECK(tern::test::TestCertificate(1)->fingerprint() != cert->fingerprint());
  CHECK_FALSE(DtlsCertificate::Generate("").ok());
  CHECK_FALSE(DtlsCertificate::Generate("x", TimeDelta::Zero()).ok());
}
