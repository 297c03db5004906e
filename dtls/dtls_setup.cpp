#include "tern/dtls/dtls_setup.h"

#include "tern/core/ascii.h"

namespace tern::dtls {

std::optional<DtlsSetup> parse_dtls_setup(std::string_view value) {
  for (DtlsSetup s : {DtlsSetup::kActpass, DtlsSetup::kActive, DtlsSetup::kPassive, DtlsSetup::kHoldconn})
    if (ascii_iequals(value, to_string(s))) return s;
  return std::nullopt;
}

std::string_view to_string(DtlsSetup setup) {
  switch (setup) {
    case DtlsSetup::kActpass: return "actpass";
    case DtlsSetup::kActive: return "active";
    case DtlsSetup::kPassive: return "passive";
    case DtlsSetup::kHoldconn: return "holdconn";
  }
  return "";
}

std::string_view to_string(DtlsRole role) { return role == DtlsRole::kClient ? "client" : "server"; }

Result<DtlsSetup> answer_setup(DtlsSetup offered) {
  switch (offered) {
    case DtlsSetup::kActpass: return DtlsSetup::kActive;
    case DtlsSetup::kActive: return DtlsSetup::kPassive;
    case DtlsSetup::kPassive: return DtlsSetup::kActive;
    case DtlsSetup::kHoldconn: break;
  }
  return Error{"setup:holdconn offers no DTLS association"};
}

Result<DtlsRole> dtls_role(DtlsSetup local, DtlsSetup remote) {
  if (local == DtlsSetup::kHoldconn || remote == DtlsSetup::kHoldconn) return Error{"setup:holdconn has no DTLS role"};
  if (local == DtlsSetup::kActpass && remote == DtlsSetup::kActpass) return Error{"both sides said setup:actpass"};
  if (local == remote) return Error{local == DtlsSetup::kActive ? "both sides said setup:active" : "both sides said setup:passive"};
  if (local == DtlsSetup::kActive) return DtlsRole::kClient;
  if (local == DtlsSetup::kPassive) return DtlsRole::kServer;
  // The actpass offerer: the answer chose.
  return remote == DtlsSetup::kActive ? DtlsRole::kServer : DtlsRole::kClient;
}

}  // namespace tern::dtls
