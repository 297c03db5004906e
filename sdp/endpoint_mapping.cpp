#include "tern/sdp/endpoint_mapping.h"

#include <array>

#include "tern/rtp/header_extensions.h"

namespace tern::sdp {
namespace {

const NegotiatedCodec* implemented_codec(const NegotiatedMedia& m) {
  for (const NegotiatedCodec& c : m.codecs)
    if (c.codec) return &c;
  return nullptr;
}

}  // namespace

Result<pipeline::EndpointConfig> to_endpoint_config(const NegotiatedSession& negotiated, const LocalCapabilities& local,
                                                    pipeline::EndpointConfig base) {
  pipeline::EndpointConfig c = std::move(base);
  c.cname = local.cname;
  c.local.audio = local.audio_ssrc;
  c.local.video = local.video_ssrc;
  c.local.video_rtx = local.video_rtx_ssrc;
  c.send.audio = c.receive.audio = std::nullopt;
  c.send.video = c.receive.video = std::nullopt;
  bool transport_cc = false;
  bool remb = false;

  const NegotiatedMedia* audio = negotiated.find(MediaKind::kAudio);
  const NegotiatedCodec* opus = audio ? implemented_codec(*audio) : nullptr;
  if (opus) {
    c.payload_types.opus = opus->payload_type;
    if (audio->red_payload_type) c.payload_types.audio_red = *audio->red_payload_type;
    c.local.audio_mid = c.remote.audio_mid = audio->mid;
    if (sends(audio->direction)) c.send.audio = opus->codec;
    if (receives(audio->direction)) {
      if (!audio->remote_ssrc) return Error{"the peer sends audio without signalling its SSRC (not supported yet)"};
      c.receive.audio = opus->codec;
      c.remote.audio = *audio->remote_ssrc;
    }
    c.send.protection.red = c.receive.protection.red = audio->red_payload_type.has_value();
    transport_cc = opus->feedback.transport_cc;
  }
  const NegotiatedMedia* video = negotiated.find(MediaKind::kVideo);
  const NegotiatedCodec* vc = video ? implemented_codec(*video) : nullptr;
  if (vc) {
    c.payload_types.of(*vc->codec) = vc->payload_type;
    if (vc->rtx_payload_type) c.payload_types.video_rtx = *vc->rtx_payload_type;
    if (video->red_payload_type) c.payload_types.red = *video->red_payload_type;
    if (video->ulpfec_payload_type) c.payload_types.ulpfec = *video->ulpfec_payload_type;
    if (video->red_rtx_payload_type) c.payload_types.red_rtx = *video->red_rtx_payload_type;
    c.local.video_mid = c.remote.video_mid = video->mid;
    const bool nack = vc->feedback.nack && vc->rtx_payload_type.has_value();
    const bool fec = video->red_payload_type && video->ulpfec_payload_type;
    for (pipeline::MediaConfig* m : {&c.send, &c.receive}) {
      m->protection.nack = nack;
      m->protection.fec = fec;
    }
    c.use_fir = vc->feedback.fir && !vc->feedback.pli;
    if (sends(video->direction)) c.send.video = vc->codec;
    if (receives(video->direction)) {
      if (!video->remote_ssrc) return Error{"the peer sends video without signalling its SSRC (not supported yet)"};
      c.receive.video = vc->codec;
      c.remote.video = *video->remote_ssrc;
      // Without a signalled RTX stream keep a distinct placeholder (validate() wants six SSRCs).
      if (video->remote_rtx_ssrc) c.remote.video_rtx = *video->remote_rtx_ssrc;
    }
    transport_cc = transport_cc || vc->feedback.transport_cc;
    remb = vc->feedback.remb;
  }

  // Extension ids: what the bundle negotiated, then free ids for the ones it did not.
  std::array<uint8_t, 3> ids{0, 0, 0};  // abs-send-time, transport-wide seq, mid
  std::array<bool, 15> used{};
  for (const NegotiatedMedia* m : {audio, video}) {
    if (!m) continue;
    for (const ExtMap& e : m->extensions) {
      const rtp::ExtensionType t = rtp::extension_type_from_uri(e.uri);
      const int slot = t == rtp::ExtensionType::kAbsSendTime ? 0 : t == rtp::ExtensionType::kTransportSequenceNumber ? 1
                       : t == rtp::ExtensionType::kMid                                                            ? 2
                                                                                                                  : -1;
      if (slot < 0 || e.id > 14 || ids[slot] != 0) continue;
      ids[slot] = static_cast<uint8_t>(e.id);
      used[e.id] = true;
    }
  }
  const bool have_tcc_ext = ids[1] != 0;
  const bool have_abs_ext = ids[0] != 0;
  for (uint8_t& id : ids) {
    for (uint8_t candidate = 1; id == 0 && candidate <= 14; ++candidate)
      if (!used[candidate]) {
        id = candidate;
        used[candidate] = true;
      }
  }
  c.extension_ids.abs_send_time = ids[0];
  c.extension_ids.transport_sequence_number = ids[1];
  c.extension_ids.mid = ids[2];

  if (transport_cc && have_tcc_ext) {
    c.congestion = pipeline::CongestionControlMode::kTransportCc;
  } else if (remb && have_abs_ext) {
    c.congestion = pipeline::CongestionControlMode::kRemb;
  } else {
    c.congestion = pipeline::CongestionControlMode::kFixed;
  }
  if (Status s = c.validate(); !s.ok()) return Error{s.error()};
  return c;
}

}  // namespace tern::sdp
