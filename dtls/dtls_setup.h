// DTLS roles from SDP `a=setup` (RFC 4145 4, RFC 8842 5): which side sends the ClientHello.
// `active` is the DTLS client, `passive` the server; an offer says `actpass` (RFC 8842 5.2) and the
// answer picks (JSEP, RFC 9429 5.3.1: `active`), which fixes both roles. Pure helpers, no OpenSSL.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "tern/core/result.h"

namespace tern::dtls {

enum class DtlsRole : uint8_t {
  kClient,  // sends the ClientHello (setup:active)
  kServer,  // answers it (setup:passive)
};

enum class DtlsSetup : uint8_t { kActpass, kActive, kPassive, kHoldconn };

// The `a=setup` value ("actpass", "active", "passive", "holdconn"; case-insensitive per RFC 4145).
std::optional<DtlsSetup> parse_dtls_setup(std::string_view value);
std::string_view to_string(DtlsSetup setup);
std::string_view to_string(DtlsRole role);

// What an answer carries for an offer's setup (RFC 8842 5.3): actpass -> active (as JSEP and
// browsers do), active -> passive, passive -> active; holdconn is refused (no DTLS association).
Result<DtlsSetup> answer_setup(DtlsSetup offered);

// The local DTLS role once both values are known (local and remote are this side's and the peer's
// `a=setup`): active -> client, passive -> server; an actpass offerer takes the role the answer
// left it. Refused: both active, both passive, actpass on both sides, holdconn.
Result<DtlsRole> dtls_role(DtlsSetup local, DtlsSetup remote);

}  // namespace tern::dtls
