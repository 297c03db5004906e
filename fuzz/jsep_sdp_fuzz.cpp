// Fuzzes the JSEP SDP module (sdp/): any input is refused with a reason, or parses into a
// description whose written form parses back equal and writes the same text again; every typed
// attribute reading is exercised; tern's answer to it (when it has one) reads back, is accepted by
// the offerer's side (apply_answer), and maps onto an endpoint configuration or a reason.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tern/sdp/endpoint_mapping.h"
#include "tern/sdp/jsep_negotiator.h"
#include "tern/sdp/sdp_description.h"
#include "tern/sdp/webrtc_attributes.h"

using namespace tern::sdp;

namespace {

template <typename T>
void typed(const AttributeList& list, std::string_view name) {
  for (std::string_view v : list.values(name)) {
    auto t = T::parse(v);
    if (!t) {
      if (t.error()[0] == '\0') std::abort();
      continue;
    }
    // What was read writes back to a value that reads again.
    if (!T::parse(t->to_value()).ok()) std::abort();
  }
}

void all_typed(const AttributeList& list) {
  typed<RtpMap>(list, "rtpmap");
  typed<Fmtp>(list, "fmtp");
  typed<RtcpFb>(list, "rtcp-fb");
  typed<ExtMap>(list, "extmap");
  typed<SsrcAttribute>(list, "ssrc");
  typed<SsrcGroup>(list, "ssrc-group");
  typed<Msid>(list, "msid");
  typed<Group>(list, "group");
  typed<Rid>(list, "rid");
  typed<Simulcast>(list, "simulcast");
  typed<SdpCandidate>(list, "candidate");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto sd = SessionDescription::parse(text);
  if (!sd) {
    if (sd.error()[0] == '\0') std::abort();
    return 0;
  }
  const std::string written = sd->to_string();
  auto again = SessionDescription::parse(written);
  if (!again || !(*again == *sd) || again->to_string() != written) std::abort();
  all_typed(*sd);
  for (const MediaSection& m : sd->media) all_typed(m);

  LocalCapabilities local;
  local.ice_ufrag = "fuzz";
  local.ice_pwd = "0123456789abcdefghijkl";
  local.fingerprint.algorithm = "sha-256";
  local.fingerprint.digest.assign(32, 0x5A);
  local.video_fec = (size & 1) != 0;
  local.audio_red = (size & 2) != 0;
  auto answer = create_answer(*sd, local);
  if (!answer) {
    if (answer.error()[0] == '\0') std::abort();
    return 0;
  }
  auto answer_again = SessionDescription::parse(answer->description.to_string());
  if (!answer_again) std::abort();
  // tern's answer always fits the offer it answers.
  if (!apply_answer(*sd, *answer_again).ok()) std::abort();
  auto config = to_endpoint_config(answer->negotiated, local);
  if (!config && config.error()[0] == '\0') std::abort();
  return 0;
}
