// SRTP key material: base64 (RFC 4648 test vectors), hex, SDES inline key-params with lifetime and
// MKI handling, suite names and the INTEROP.md key given both ways.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tern/core/random.h"
#include "tern/transport/srtp_key.h"

using namespace tern;
using namespace tern::transport;

namespace {
std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }
}  // namespace

TEST_CASE("base64 RFC 4648 test vectors") {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& v : vectors) {
    const char* plain = v.first;
    const char* encoded = v.second;
    CAPTURE(plain);
    CHECK(base64_encode(Bytes(plain)) == encoded);
    auto d = base64_decode(encoded);
    REQUIRE(d.ok());
    CHECK(*d == Bytes(plain));
  }
  CHECK_FALSE(base64_decode("Zm9").ok());      // not a multiple of 4
  CHECK_FALSE(base64_decode("Zm=v").ok());     // data after padding
  CHECK_FALSE(base64_decode("Z===").ok());     // too much padding
  CHECK_FALSE(base64_decode("Zm9v====").ok()); // padding group
  CHECK_FALSE(base64_decode("Zm9*").ok());
  CHECK_FALSE(base64_decode(std::string(2000, 'A')).ok());
}

TEST_CASE("base64 and hex random round trip") {
  Random rng(3);
  for (int i = 0; i < 300; ++i) {
    std::vector<uint8_t> data(static_cast<size_t>(rng.uniform_int(0, 64)));
    for (auto& b : data) b = static_cast<uint8_t>(rng.uniform_int(0, 255));
    auto b64 = base64_decode(base64_encode(data));
    REQUIRE(b64.ok());
    CHECK(*b64 == data);
    auto hex = hex_decode(hex_encode(data));
    REQUIRE(hex.ok());
    CHECK(*hex == data);
  }
  CHECK(hex_decode("0aFf").ok());
  CHECK_FALSE(hex_decode("0").ok());
  CHECK_FALSE(hex_decode("0g").ok());
}

TEST_CASE("srtp key from INTEROP key given as hex and as base64") {
  const std::string hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d";
  const std::string b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd";
  auto from_hex = parse_hex_key(hex, SrtpProfile::kAesCm128HmacSha1_80);
  auto from_b64 = parse_sdes_key_params("inline:" + b64, SrtpProfile::kAesCm128HmacSha1_80);
  REQUIRE(from_hex.ok());
  REQUIRE(from_b64.ok());
  CHECK(*from_hex == *from_b64);
  REQUIRE(from_hex->size() == 30);
  for (size_t i = 0; i < 30; ++i) CHECK((*from_hex)[i] == i);
  CHECK(make_sdes_key_params(*from_hex) == "inline:" + b64);
  CHECK(hex_encode(*from_b64) == hex);
  // The same 30 bytes are the wrong length for the GCM suites.
  CHECK_FALSE(parse_hex_key(hex, SrtpProfile::kAeadAes128Gcm).ok());
  CHECK_FALSE(parse_sdes_key_params("inline:" + b64, SrtpProfile::kAeadAes256Gcm).ok());
}

TEST_CASE("sdes key params lifetime accepted and MKI rejected") {
  const std::string k = "inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd";
  const auto p = SrtpProfile::kAesCm128HmacSha1_32;
  CHECK(parse_sdes_key_params(k, p).ok());
  CHECK(parse_sdes_key_params(k + "|2^31", p).ok());
  CHECK(parse_sdes_key_params(k + "|1048576", p).ok());
  CHECK_FALSE(parse_sdes_key_params(k + "|2^20|1:4", p).ok());  // MKI
  CHECK_FALSE(parse_sdes_key_params(k + "|1:4", p).ok());
  CHECK_FALSE(parse_sdes_key_params(k + "|2^x", p).ok());
  CHECK_FALSE(parse_sdes_key_params(k + "|", p).ok());
  CHECK_FALSE(parse_sdes_key_params(k + "|2^31|", p).ok());
  CHECK_FALSE(parse_sdes_key_params(k + "|1|2|3", p).ok());
  CHECK_FALSE(parse_sdes_key_params("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd", p).ok());  // no method
  CHECK_FALSE(parse_sdes_key_params("inline:", p).ok());
}

TEST_CASE("srtp suite names") {
  for (SrtpProfile p : {SrtpProfile::kAesCm128HmacSha1_80, SrtpProfile::kAesCm128HmacSha1_32,
                        SrtpProfile::kAeadAes128Gcm, SrtpProfile::kAeadAes256Gcm}) {
    auto back = srtp_profile_from_name(to_string(p));
    REQUIRE(back.has_value());
    CHECK(*back == p);
  }
  CHECK(srtp_key_material_size(SrtpProfile::kAeadAes128Gcm) == 28);
  CHECK(srtp_key_material_size(SrtpProfile::kAeadAes256Gcm) == 44);
  CHECK_FALSE(srtp_profile_from_name("F8_128_HMAC_SHA1_80").has_value());
}

TEST_CASE("SRTP keys in hex base64 and inline form are the same material") {
  const auto p = SrtpProfile::kAesCm128HmacSha1_80;
  auto hex = parse_key_text("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d", p);
  auto b64 = parse_key_text("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd", p);
  auto inl = parse_key_text("inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd|2^31", p);
  REQUIRE(hex.ok());
  REQUIRE(b64.ok());
  REQUIRE(inl.ok());
  CHECK(hex.value() == b64.value());
  CHECK(inl.value() == b64.value());
  for (const char* bad : {"", "zz", "0001", "AAECAwQF", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d00"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_key_text(bad, p).ok());
  }
}

TEST_CASE("a key of the wrong length says which form it was read as and what the suite needs") {
  const auto p = SrtpProfile::kAesCm128HmacSha1_80;
  const std::string hex60 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d";
  REQUIRE(parse_key_text(hex60, p).ok());
  REQUIRE(parse_key_text("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd", p).ok());
  REQUIRE(parse_key_text("inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd|2^31", p).ok());
  CHECK(parse_key_text(hex60, p).value() == parse_key_text("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd", p).value());
  // 58 and 62 hex digits: a hex key one byte short / long, not "bad base64".
  CHECK(std::string(parse_key_text(hex60.substr(0, 58), p).error()) ==
        "key: 58 hex digits (29 bytes); AES_CM_128_HMAC_SHA1_80 needs 60 hex digits (30 bytes)");
  CHECK(std::string(parse_key_text(hex60 + "1e", p).error()) ==
        "key: 62 hex digits (31 bytes); AES_CM_128_HMAC_SHA1_80 needs 60 hex digits (30 bytes)");
  // A base64 key that decodes to the wrong length.
  CHECK(std::string(parse_key_text("AAECAwQFBgcICQoLDA0ODxAREhMU", p).error()) ==
        "key: base64 of 21 bytes; AES_CM_128_HMAC_SHA1_80 needs 30 bytes (60 hex digits or 40 base64 characters)");
  CHECK(std::string(parse_key_text("zz!", p).error()) ==
        "key: neither 60 hex digits nor base64 (base64: length not a multiple of 4)");
  CHECK(std::string(parse_key_text("", p).error()) == "key: empty");
}
