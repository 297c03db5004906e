// Fuzzes the SDP parser: any input is rejected with a reason or parses into a description whose
// written form parses back to an equal description (write/parse is a fixed point).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tern/transport/session_description.h"
#include "tern/transport/srtp_key.h"

using namespace tern::transport;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t line = 0;
  auto sd = SessionDescription::parse(text, &line);
  if (!sd) {
    if (sd.error()[0] == '\0') std::abort();
    return 0;
  }
  for (const SdpMedia& m : sd->media)
    for (const SdpCrypto& c : m.cryptos)
      if (auto p = srtp_profile_from_name(c.suite)) (void)parse_sdes_key_params(c.key_params, *p);
  const std::string written = sd->to_string();
  auto again = SessionDescription::parse(written);
  if (!again) std::abort();
  // Unknown lines are kept verbatim, so a second round must reproduce the same text exactly.
  if (again->to_string() != written) std::abort();
  return 0;
}
