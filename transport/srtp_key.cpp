#include "tern/transport/srtp_key.h"

#include <array>
#include <string>

#include "tern/core/reason_text.h"

namespace tern::transport {
namespace {

constexpr std::string_view kBase64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr size_t kMaxBase64Input = 1024;

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

std::string_view to_string(SrtpProfile profile) {
  switch (profile) {
    case SrtpProfile::kAesCm128HmacSha1_80: return "AES_CM_128_HMAC_SHA1_80";
    case SrtpProfile::kAesCm128HmacSha1_32: return "AES_CM_128_HMAC_SHA1_32";
    case SrtpProfile::kAeadAes128Gcm: return "AEAD_AES_128_GCM";
    case SrtpProfile::kAeadAes256Gcm: return "AEAD_AES_256_GCM";
  }
  return "";
}

std::optional<SrtpProfile> srtp_profile_from_name(std::string_view name) {
  for (SrtpProfile p : {SrtpProfile::kAesCm128HmacSha1_80, SrtpProfile::kAesCm128HmacSha1_32,
                        SrtpProfile::kAeadAes128Gcm, SrtpProfile::kAeadAes256Gcm})
    if (to_string(p) == name) return p;
  return std::nullopt;
}

size_t srtp_key_material_size(SrtpProfile profile) {
  switch (profile) {
    case SrtpProfile::kAesCm128HmacSha1_80:
    case SrtpProfile::kAesCm128HmacSha1_32: return 30;
    case SrtpProfile::kAeadAes128Gcm: return 28;
    case SrtpProfile::kAeadAes256Gcm: return 44;
  }
  return 0;
}

uint16_t dtls_srtp_profile_id(SrtpProfile profile) {
  switch (profile) {
    case SrtpProfile::kAesCm128HmacSha1_80: return 0x0001;
    case SrtpProfile::kAesCm128HmacSha1_32: return 0x0002;
    case SrtpProfile::kAeadAes128Gcm: return 0x0007;
    case SrtpProfile::kAeadAes256Gcm: return 0x0008;
  }
  return 0;
}

std::optional<SrtpProfile> srtp_profile_from_dtls_id(uint16_t id) {
  for (SrtpProfile p : {SrtpProfile::kAesCm128HmacSha1_80, SrtpProfile::kAesCm128HmacSha1_32,
                        SrtpProfile::kAeadAes128Gcm, SrtpProfile::kAeadAes256Gcm})
    if (dtls_srtp_profile_id(p) == id) return p;
  return std::nullopt;
}

Result<std::vector<uint8_t>> base64_decode(std::string_view text) {
  if (text.size() > kMaxBase64Input) return Error{"base64: input too long"};
  if (text.size() % 4 != 0) return Error{"base64: length not a multiple of 4"};
  std::vector<uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    std::array<int, 4> v{};
    size_t pad = 0;
    for (size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=') {
        // Padding only in the last group's last one or two positions.
        if (i + 4 != text.size() || k < 2) return Error{"base64: misplaced padding"};
        ++pad;
        v[k] = 0;
      } else {
        if (pad > 0) return Error{"base64: data after padding"};
        v[k] = base64_value(c);
        if (v[k] < 0) return Error{"base64: invalid character"};
      }
    }
    const uint32_t bits = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    out.push_back(static_cast<uint8_t>(bits >> 16));
    if (pad < 2) out.push_back(static_cast<uint8_t>(bits >> 8));
    if (pad < 1) out.push_back(static_cast<uint8_t>(bits));
  }
  return out;
}

std::string base64_encode(std::span<const uint8_t> data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  for (size_t i = 0; i < data.size(); i += 3) {
    const size_t n = std::min<size_t>(3, data.size() - i);
    uint32_t bits = uint32_t(data[i]) << 16;
    if (n > 1) bits |= uint32_t(data[i + 1]) << 8;
    if (n > 2) bits |= data[i + 2];
    out += kBase64Alphabet[(bits >> 18) & 63];
    out += kBase64Alphabet[(bits >> 12) & 63];
    out += n > 1 ? kBase64Alphabet[(bits >> 6) & 63] : '=';
    out += n > 2 ? kBase64Alphabet[bits & 63] : '=';
  }
  return out;
}

Result<std::vector<uint8_t>> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0) return Error{"hex: odd length"};
  if (text.size() > 2 * kMaxBase64Input) return Error{"hex: input too long"};
  std::vector<uint8_t> out(text.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_value(text[2 * i]);
    const int lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return Error{"hex: invalid character"};
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string hex_encode(std::span<const uint8_t> data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (uint8_t b : data) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

Result<std::vector<uint8_t>> parse_sdes_key_params(std::string_view key_params, SrtpProfile profile) {
  constexpr std::string_view kInline = "inline:";
  if (key_params.substr(0, kInline.size()) != kInline) return Error{"sdes key: missing 'inline:' method"};
  std::string_view rest = key_params.substr(kInline.size());
  const size_t bar = rest.find('|');
  const std::string_view key_b64 = rest.substr(0, bar);
  if (bar != std::string_view::npos) {
    std::string_view extras = rest.substr(bar + 1);
    if (extras.empty()) return Error{"sdes key: trailing '|'"};
    // Up to two fields: lifetime ("2^31" or a decimal count) and MKI ("value:length").
    for (int field = 0; field < 2 && !extras.empty(); ++field) {
      const size_t next = extras.find('|');
      const std::string_view f = extras.substr(0, next);
      if (f.find(':') != std::string_view::npos) return Error{"sdes key: MKI is not supported"};
      const bool lifetime_ok = all_digits(f) || (f.substr(0, 2) == "2^" && all_digits(f.substr(2)));
      if (!lifetime_ok) return Error{"sdes key: malformed lifetime"};
      extras = next == std::string_view::npos ? std::string_view() : extras.substr(next + 1);
      if (next != std::string_view::npos && extras.empty()) return Error{"sdes key: trailing '|'"};
    }
    if (!extras.empty()) return Error{"sdes key: too many fields"};
  }
  auto key = base64_decode(key_b64);
  if (!key) return Error{key.error()};
  if (key->size() != srtp_key_material_size(profile)) return Error{"sdes key: wrong key length for the suite"};
  return key;
}

std::string make_sdes_key_params(std::span<const uint8_t> key_material) {
  return "inline:" + base64_encode(key_material);
}

Result<std::vector<uint8_t>> parse_hex_key(std::string_view hex, SrtpProfile profile) {
  auto key = hex_decode(hex);
  if (!key) return Error{key.error()};
  if (key->size() != srtp_key_material_size(profile)) return Error{"hex key: wrong key length for the suite"};
  return key;
}

Result<std::vector<uint8_t>> parse_key_text(std::string_view text, SrtpProfile profile) {
  if (text.empty()) return Error{"key: empty"};
  if (text.substr(0, 7) == "inline:") return parse_sdes_key_params(text, profile);
  const size_t want = srtp_key_material_size(profile);
  bool all_hex = true;
  for (char c : text) all_hex = all_hex && hex_value(c) >= 0;
  if (all_hex && text.size() == 2 * want) return parse_hex_key(text, profile);
  auto b64 = base64_decode(text);
  if (b64 && b64->size() == want) return b64;
  const std::string suite(to_string(profile));
  const std::string needs = suite + " needs " + std::to_string(2 * want) + " hex digits (" + std::to_string(want) +
                            " bytes)";
  std::string reason;
  if (all_hex) {
    reason = "key: " + std::to_string(text.size()) + " hex digits" +
             (text.size() % 2 == 0 ? " (" + std::to_string(text.size() / 2) + " bytes)" : std::string()) + "; " + needs;
  } else if (b64) {
    reason = "key: base64 of " + std::to_string(b64->size()) + " bytes; " + suite + " needs " + std::to_string(want) +
             " bytes (" + std::to_string(2 * want) + " hex digits or " + std::to_string((want + 2) / 3 * 4) +
             " base64 characters)";
  } else {
    reason = "key: neither " + std::to_string(2 * want) + " hex digits nor base64 (" + b64.error() + ")";
  }
  return Error{lasting_reason(reason, "key: not a key of the suite's length in hex or base64")};
}

}  // namespace tern::transport
