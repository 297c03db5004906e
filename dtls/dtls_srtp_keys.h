// DTLS-SRTP keying (RFC 5764 4.1.2, 4.2; RFC 7714 14.2): the protection profile the handshake
// negotiated through `use_srtp` and the SRTP master keys exported from it, one key||salt per
// direction. Kept free of transport/ (no libsrtp here): transport::srtp_configs_from_dtls() turns
// this into the SrtpSession configs of both directions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "tern/core/result.h"
#include "tern/dtls/dtls_setup.h"

namespace tern::dtls {

// SRTPProtectionProfile values (RFC 5764 4.1.2, RFC 7714 14.2).
inline constexpr uint16_t kSrtpAes128CmSha1_80 = 0x0001;
inline constexpr uint16_t kSrtpAes128CmSha1_32 = 0x0002;
inline constexpr uint16_t kSrtpAeadAes128Gcm = 0x0007;
inline constexpr uint16_t kSrtpAeadAes256Gcm = 0x0008;

struct SrtpKeyLengths {
  size_t key = 0;   // master key, bytes
  size_t salt = 0;  // master salt, bytes
};
// Lengths for a profile this module offers (above); nullopt for any other.
std::optional<SrtpKeyLengths> srtp_key_lengths(uint16_t profile);
// OpenSSL's name of a profile ("SRTP_AEAD_AES_128_GCM", ...), "" for an unknown one.
std::string_view srtp_profile_openssl_name(uint16_t profile);

struct DtlsSrtpKeys {
  uint16_t profile = 0;         // one of the constants above
  std::vector<uint8_t> local;   // master key || master salt this side protects with
  std::vector<uint8_t> remote;  // master key || master salt the peer protects with
};

// Splits the 2 * (key + salt) bytes exported with the label "EXTRACTOR-dtls_srtp" (RFC 5764 4.2:
// client_write_key | server_write_key | client_write_salt | server_write_salt) into this side's
// and the peer's key||salt by DTLS role. Fails on an unknown profile or a wrong length.
Result<DtlsSrtpKeys> split_srtp_keying_material(uint16_t profile, std::span<const uint8_t> exported, DtlsRole role);

}  // namespace tern::dtls
