// The digests STUN needs (RFC 8489 14.5-14.7, 9.2.2), over OpenSSL's EVP interfaces (libcrypto),
// plus the CRC-32 of FINGERPRINT. Each takes the message as a list of pieces so that callers can
// substitute a patched header without copying the whole message.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>

namespace tern::ice {

using ByteSpan = std::span<const uint8_t>;

std::array<uint8_t, 20> hmac_sha1(ByteSpan key, std::initializer_list<ByteSpan> pieces);
std::array<uint8_t, 32> hmac_sha256(ByteSpan key, std::initializer_list<ByteSpan> pieces);
std::array<uint8_t, 16> md5(std::initializer_list<ByteSpan> pieces);
// CRC-32 (ISO-HDLC, the one zlib and Ethernet use), continued from `crc` (0 to start).
uint32_t crc32(ByteSpan data, uint32_t crc = 0);

}  // namespace tern::ice
