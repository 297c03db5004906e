// Fuzzes the SDP parser: any input is rejected with a reason or parses into a description whose
// written form parses back to an equal description (write/parse is a fixed point). With the tools
// built, also what tern-recv makes of it (tools/net plan_from_sdp): a reason, or a plan whose own
// SDP (build_sdp) reads back to the same ports, codecs and keys.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tern/transport/session_description.h"
#include "tern/transport/srtp_key.h"
#if TERN_FUZZ_SESSION_PLAN
#include "tern/tools/net/session_plan.h"
#endif

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
#if TERN_FUZZ_SESSION_PLAN
  namespace net = tern::tools::net;
  auto plan = net::plan_from_sdp(*sd);
  if (!plan) {
    if (plan.error()[0] == '\0') std::abort();
    return 0;
  }
  auto rebuilt = SessionDescription::parse(net::build_sdp(*plan).to_string());
  if (!rebuilt) std::abort();
  auto back = net::plan_from_sdp(*rebuilt);
  if (!back) std::abort();
  if (back->port != plan->port || back->audio_port != plan->audio_port || back->video != plan->video ||
      back->audio != plan->audio || back->srtp_key != plan->srtp_key || back->audio_srtp.has_value() != plan->audio_srtp.has_value()) {
    std::abort();
  }
#endif
  return 0;
}
