// SRTP crypto suites and master key material as signalled in SDP: RFC 4568 (SDES, `a=crypto` with
// `inline:<base64 key||salt>[|lifetime][|MKI:length]`) and RFC 7714 (AES-GCM suites). Also accepts
// the hex form GStreamer's srtpenc/srtpdec `key` property uses. Pure parsing, no libsrtp here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/result.h"

namespace tern::transport {

enum class SrtpProfile : uint8_t {
  kAesCm128HmacSha1_80,  // RFC 4568 AES_CM_128_HMAC_SHA1_80: 16-byte key, 14-byte salt, 10-byte tag
  kAesCm128HmacSha1_32,  // same with a 4-byte SRTP tag (SRTCP keeps 10 bytes, RFC 4568 6.2.2)
  kAeadAes128Gcm,        // RFC 7714: 16-byte key, 12-byte salt, 16-byte AEAD tag
  kAeadAes256Gcm,        // RFC 7714: 32-byte key, 12-byte salt, 16-byte AEAD tag
};

// The SDES suite name ("AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM", ...).
std::string_view to_string(SrtpProfile profile);
std::optional<SrtpProfile> srtp_profile_from_name(std::string_view name);
// Master key + master salt length in bytes: 30, 30, 28, 44.
size_t srtp_key_material_size(SrtpProfile profile);
// The DTLS-SRTP protection profile id (RFC 5764 4.1.2, RFC 7714 14.2: 0x0001, 0x0002, 0x0007,
// 0x0008) and back; nullopt for an id with no SrtpProfile.
uint16_t dtls_srtp_profile_id(SrtpProfile profile);
std::optional<SrtpProfile> srtp_profile_from_dtls_id(uint16_t id);

// Decodes standard base64 (RFC 4648 4, with '=' padding; no whitespace). Bounded to 1 KiB input.
Result<std::vector<uint8_t>> base64_decode(std::string_view text);
std::string base64_encode(std::span<const uint8_t> data);
// Decodes an even-length hex string (either case); Error on any other character.
Result<std::vector<uint8_t>> hex_decode(std::string_view text);
std::string hex_encode(std::span<const uint8_t> data);

// Parses an RFC 4568 key-params value "inline:<base64>[|<lifetime>][|<MKI>:<length>]". The
// lifetime is checked for syntax and ignored (libsrtp rekeys never happen in a fixed session); an
// MKI is rejected (Error) because our sessions do not carry MKI fields. The decoded length must be
// srtp_key_material_size(profile).
Result<std::vector<uint8_t>> parse_sdes_key_params(std::string_view key_params, SrtpProfile profile);
// "inline:" + base64(key material): what an `a=crypto` line carries.
std::string make_sdes_key_params(std::span<const uint8_t> key_material);
// Parses hex key material, checking its length against the profile.
Result<std::vector<uint8_t>> parse_hex_key(std::string_view hex, SrtpProfile profile);
// Key material as a user gives it: "inline:<key-params>", hex (2 x the suite's length) or base64.
// A key of the wrong length is reported in the form it was read as, with what the suite needs.
Result<std::vector<uint8_t>> parse_key_text(std::string_view text, SrtpProfile profile);

}  // namespace tern::transport
