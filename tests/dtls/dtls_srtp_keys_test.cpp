// RFC 5764 4.2 key layout, and the SrtpSession configs made from it.
#include <doctest/doctest.h>

#include <numeric>
#include <vector>

#include "tern/dtls/dtls_srtp_keys.h"
#include "tern/transport/srtp_session.h"

using namespace tern;
using namespace tern::dtls;

TEST_CASE("split_srtp_keying_material: client key | server key | client salt | server salt, by role") {
  std::vector<uint8_t> exported(60);
  std::iota(exported.begin(), exported.end(), 0);
  const auto client = split_srtp_keying_material(kSrtpAes128CmSha1_80, exported, DtlsRole::kClient).value();
  const auto server = split_srtp_keying_material(kSrtpAes128CmSha1_80, exported, DtlsRole::kServer).value();
  std::vector<uint8_t> client_material, server_material;
  for (uint8_t i = 0; i < 16; ++i) client_material.push_back(i);        // client_write_key
  for (uint8_t i = 32; i < 46; ++i) client_material.push_back(i);       // client_write_salt
  for (uint8_t i = 16; i < 32; ++i) server_material.push_back(i);       // server_write_key
  for (uint8_t i = 46; i < 60; ++i) server_material.push_back(i);       // server_write_salt
  CHECK(client.local == client_material);
  CHECK(client.remote == server_material);
  CHECK(server.local == server_material);
  CHECK(server.remote == client_material);
  CHECK_FALSE(split_srtp_keying_material(kSrtpAeadAes128Gcm, exported, DtlsRole::kClient).ok());  // needs 56
  CHECK_FALSE(split_srtp_keying_material(0x0005, exported, DtlsRole::kClient).ok());
  std::vector<uint8_t> gcm256(88);
  CHECK(split_srtp_keying_material(kSrtpAeadAes256Gcm, gcm256, DtlsRole::kServer)->local.size() == 44);
}

TEST_CASE("transport: DTLS-SRTP profile ids map to SRTP suites and to both sessions' configs") {
  CHECK(transport::srtp_profile_from_dtls_id(kSrtpAes128CmSha1_80) == transport::SrtpProfile::kAesCm128HmacSha1_80);
  CHECK(transport::srtp_profile_from_dtls_id(kSrtpAes128CmSha1_32) == transport::SrtpProfile::kAesCm128HmacSha1_32);
  CHECK(transport::srtp_profile_from_dtls_id(kSrtpAeadAes128Gcm) == transport::SrtpProfile::kAeadAes128Gcm);
  CHECK(transport::srtp_profile_from_dtls_id(kSrtpAeadAes256Gcm) == transport::SrtpProfile::kAeadAes256Gcm);
  CHECK_FALSE(transport::srtp_profile_from_dtls_id(0x0003).has_value());
  for (uint16_t id : {kSrtpAes128CmSha1_80, kSrtpAes128CmSha1_32, kSrtpAeadAes128Gcm, kSrtpAeadAes256Gcm}) {
    const auto profile = *transport::srtp_profile_from_dtls_id(id);
    CHECK(transport::dtls_srtp_profile_id(profile) == id);
    CHECK(transport::srtp_key_material_size(profile) == srtp_key_lengths(id)->key + srtp_key_lengths(id)->salt);
  }
  const std::vector<uint8_t> local(28, 1), remote(28, 2);
  const auto c = transport::srtp_configs_from_dtls(kSrtpAeadAes128Gcm, local, remote).value();
  CHECK(c.send.direction == transport::SrtpDirection::kSend);
  CHECK(c.send.key_material == local);
  CHECK(c.receive.direction == transport::SrtpDirection::kReceive);
  CHECK(c.receive.key_material == remote);
  CHECK_FALSE(transport::srtp_configs_from_dtls(kSrtpAes128CmSha1_80, local, remote).ok());  // 30 needed
  CHECK_FALSE(transport::srtp_configs_from_dtls(0x0009, local, remote).ok());
}
