#include "tern/tools/net/session_plan.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>
#include <utility>

#include "tern/rtp/header_extensions.h"

namespace tern::tools::net {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

transport::SdpPayloadType make_pt(uint8_t pt, std::string name, uint32_t rate, uint16_t channels = 0) {
  transport::SdpPayloadType p;
  p.payload_type = pt;
  p.encoding_name = std::move(name);
  p.clock_rate = rate;
  p.channels = channels;
  return p;
}

std::string proto(const SessionPlan& plan) {
  const bool avpf = plan.nack || plan.transport_cc || plan.remb;
  return std::string(plan.srtp_profile ? "RTP/SAVP" : "RTP/AVP") + (avpf ? "F" : "");
}

void add_crypto(transport::SrtpProfile profile, const std::vector<uint8_t>& key, transport::SdpMedia& m) {
  transport::SdpCrypto c;
  c.suite = std::string(transport::to_string(profile));
  c.key_params = transport::make_sdes_key_params(key);
  m.cryptos.push_back(c);
}

void add_common(const SessionPlan& plan, transport::SdpMedia& m, bool audio) {
  m.port = audio && plan.audio_port ? *plan.audio_port : plan.port;
  m.proto = proto(plan);
  m.rtcp_mux = plan.rtcp_mux;
  if (audio && plan.audio_port && plan.audio_srtp) {
    add_crypto(plan.audio_srtp->profile, plan.audio_srtp->key, m);
  } else if (plan.srtp_profile) {
    add_crypto(*plan.srtp_profile, plan.srtp_key, m);
  }
  if (plan.transport_cc) {
    m.extmaps.push_back({plan.extension_ids.transport_sequence_number, "",
                         std::string(rtp::TransportSequenceNumber::kUri), ""});
  }
  if (plan.remb || plan.transport_cc) {
    m.extmaps.push_back({plan.extension_ids.abs_send_time, "", std::string(rtp::AbsSendTime::kUri), ""});
  }
}

void add_feedback(const SessionPlan& plan, transport::SdpPayloadType& p) {
  if (plan.nack) p.rtcp_fb.push_back("nack");
  if (plan.nack || plan.transport_cc || plan.remb) p.rtcp_fb.push_back("nack pli");
  p.rtcp_fb.push_back("ccm fir");
  if (plan.remb) p.rtcp_fb.push_back("goog-remb");
  if (plan.transport_cc) p.rtcp_fb.push_back("transport-cc");
}

std::optional<uint8_t> apt_of(const std::string& fmtp) {
  const size_t at = fmtp.find("apt=");
  if (at == std::string::npos) return std::nullopt;
  unsigned v = 0;
  const char* b = fmtp.data() + at + 4;
  const auto [end, ec] = std::from_chars(b, fmtp.data() + fmtp.size(), v);
  if (ec != std::errc() || end == b || v > 127) return std::nullopt;
  return static_cast<uint8_t>(v);
}

// The (media, repair) pair of the last "a=ssrc-group:<semantics> <media> <repair>" (RFC 5576 4.2;
// FID of RFC 4588 8.1, FEC-FR as FlexFEC uses it); nullopt without a usable one.
std::optional<std::pair<uint32_t, uint32_t>> ssrc_pair(const transport::SdpMedia& m, std::string_view semantics) {
  const transport::SdpSsrcGroup* g = m.find_ssrc_group(semantics);
  if (g == nullptr || g->ssrcs.size() != 2) return std::nullopt;
  const uint32_t media = g->ssrcs[0], repair = g->ssrcs[1];
  if (media == 0 || repair == 0 || media == repair) return std::nullopt;
  return std::make_pair(media, repair);
}

}  // namespace

transport::SessionDescription build_sdp(const SessionPlan& plan) {
  transport::SessionDescription sdp;
  sdp.session_name = "tern-send";
  sdp.connection = transport::SdpConnection{plan.address.find(':') != std::string::npos ? "IP6" : "IP4",
                                            plan.address};
  sdp.origin.address_type = sdp.connection->address_type;
  sdp.origin.address = plan.address;
  const pipeline::PayloadTypes& pts = plan.payload_types;
  if (plan.video) {
    transport::SdpMedia m;
    m.media = "video";
    add_common(plan, m, false);
    const uint8_t media_pt = pts.of(*plan.video);
    auto media = make_pt(media_pt, codecs::encoding_name(*plan.video), 90000);
    add_feedback(plan, media);
    m.payload_types.push_back(media);
    if (plan.nack) {
      auto rtx = make_pt(pts.video_rtx, "rtx", 90000);
      rtx.fmtp = "apt=" + std::to_string(media_pt);
      m.payload_types.push_back(rtx);
    }
    if (plan.fec) {
      m.payload_types.push_back(make_pt(pts.red, "red", 90000));
      m.payload_types.push_back(make_pt(pts.ulpfec, "ulpfec", 90000));
    }
    if (plan.video_ssrc) m.ssrcs.push_back({*plan.video_ssrc, plan.cname});
    if (plan.flexfec) {
      auto flexfec = make_pt(pts.flexfec, "flexfec-03", 90000);
      flexfec.fmtp = "repair-window=10000000";  // 10 s in microseconds, as libwebrtc offers
      m.payload_types.push_back(flexfec);
    }
    if (plan.nack && plan.video_rtx_ssrc && plan.video_ssrc) {
      m.ssrcs.push_back({*plan.video_rtx_ssrc, plan.cname});
      m.ssrc_groups.push_back({"FID", {*plan.video_ssrc, *plan.video_rtx_ssrc}});
    }
    if (plan.flexfec && plan.video_fec_ssrc && plan.video_ssrc) {
      m.ssrcs.push_back({*plan.video_fec_ssrc, plan.cname});
      m.ssrc_groups.push_back({"FEC-FR", {*plan.video_ssrc, *plan.video_fec_ssrc}});
    }
    sdp.media.push_back(std::move(m));
  }
  if (plan.audio) {
    transport::SdpMedia m;
    m.media = "audio";
    add_common(plan, m, true);
    auto opus = make_pt(pts.opus, codecs::encoding_name(codecs::CodecType::kOpus), 48000, 2);
    opus.fmtp = "minptime=10;useinbandfec=1";
    if (plan.transport_cc) opus.rtcp_fb.push_back("transport-cc");
    m.payload_types.push_back(opus);
    if (plan.audio_red) {
      auto red = make_pt(pts.audio_red, "red", 48000, 2);
      red.fmtp = std::to_string(pts.opus) + "/" + std::to_string(pts.opus);
      m.payload_types.push_back(red);
    }
    if (plan.audio_ssrc) m.ssrcs.push_back({*plan.audio_ssrc, plan.cname});
    sdp.media.push_back(std::move(m));
  }
  return sdp;
}

namespace {

// What one m= line brings to the plan besides codecs: where it listens and its SRTP.
struct LineTransport {
  uint16_t port = 0;
  std::string address;
  bool rtcp_mux = false;
  std::optional<SessionPlan::Srtp> srtp;
};

Result<LineTransport> line_transport(const transport::SdpMedia& m, const std::string& session_address) {
  LineTransport t;
  if (m.port == 0) return Error{"sdp: media port 0 (disabled stream)"};
  t.port = m.port;
  t.address = m.connection ? m.connection->address : session_address;
  t.rtcp_mux = m.rtcp_mux;
  if (!m.cryptos.empty()) {
    const transport::SdpCrypto& c = m.cryptos.front();
    auto profile = transport::srtp_profile_from_name(c.suite);
    if (!profile) return Error{"sdp: unsupported crypto suite"};
    auto key = transport::parse_sdes_key_params(c.key_params, *profile);
    if (!key) return Error{key.error()};
    t.srtp = SessionPlan::Srtp{*profile, std::move(key.value())};
  } else if (m.is_secure()) {
    return Error{"sdp: RTP/SAVP media without a=crypto"};
  }
  return t;
}

bool same_srtp(const std::optional<SessionPlan::Srtp>& a, const std::optional<SessionPlan::Srtp>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->profile == b->profile && a->key == b->key);
}

}  // namespace

Result<SessionPlan> plan_from_sdp(const transport::SessionDescription& sdp) {
  SessionPlan plan;
  const std::string session_address = sdp.connection ? sdp.connection->address : plan.address;
  std::optional<LineTransport> video_line, audio_line;
  for (const transport::SdpMedia& m : sdp.media) {
    const bool video = m.media == "video";
    if (!video && m.media != "audio") continue;
    if (video && video_line) continue;
    if (!video && audio_line) continue;
    bool found_codec = false;
    std::optional<uint8_t> red_pt, rtx_pt, ulpfec_pt, flexfec_pt;
    for (const transport::SdpPayloadType& p : m.payload_types) {
      const std::string name = lower(p.encoding_name);
      const std::optional<codecs::CodecType> codec = codecs::codec_from_name(name);
      if (video && !found_codec && codec && codecs::is_video(*codec)) {
        plan.video = codec;
        plan.payload_types.of(*codec) = p.payload_type;
        found_codec = true;
        bool pli = false, fir = false;
        for (const std::string& fb : p.rtcp_fb) {
          if (fb == "nack pli") pli = true;
          if (fb == "ccm fir") fir = true;
          if (fb == "nack") plan.nack = true;
          if (fb == "goog-remb") plan.remb = true;
          if (fb == "transport-cc") plan.transport_cc = true;
        }
        plan.use_fir = fir && !pli;  // the sender takes only FIR as a keyframe request
      } else if (!video && !found_codec && codec == codecs::CodecType::kOpus) {
        plan.audio = codec;
        plan.payload_types.opus = p.payload_type;
        found_codec = true;
        for (const std::string& fb : p.rtcp_fb) {
          if (fb == "transport-cc") plan.transport_cc = true;
        }
      } else if (name == "rtx") {
        rtx_pt = p.payload_type;
        if (!apt_of(p.fmtp)) return Error{"sdp: rtx payload type without apt="};
      } else if (name == "red") {
        red_pt = p.payload_type;
      } else if (name == "ulpfec") {
        ulpfec_pt = p.payload_type;
      } else if (name == "flexfec-03" || name == "flexfec") {
        flexfec_pt = p.payload_type;
      }
    }
    if (!found_codec) continue;
    auto line = line_transport(m, session_address);
    if (!line) return Error{line.error()};
    (video ? video_line : audio_line) = std::move(line.value());
    if (video) {
      if (rtx_pt) plan.payload_types.video_rtx = *rtx_pt;
      if (plan.nack && !rtx_pt) {
        plan.warnings.push_back("the SDP offers nack without an RTX payload type (rtx, apt=): NACK is off");
        plan.nack = false;
      }
      if (red_pt && ulpfec_pt) {
        plan.fec = true;
        plan.payload_types.red = *red_pt;
        plan.payload_types.ulpfec = *ulpfec_pt;
      } else if (red_pt || ulpfec_pt) {
        plan.warnings.push_back(std::string("the SDP's video line has ") + (red_pt ? "red without ulpfec" : "ulpfec without red") +
                                ": FEC is off");
      }
      if (!m.ssrcs.empty()) plan.video_ssrc = m.ssrcs.front().ssrc;
      // FlexFEC: "a=ssrc-group:FEC-FR <media> <flexfec>" names the repair stream; both sides must
      // have it (the payload type and the group), and one FEC scheme at a time.
      const std::optional<std::pair<uint32_t, uint32_t>> fec_fr = ssrc_pair(m, "FEC-FR");
      if (flexfec_pt && plan.fec) {
        plan.warnings.push_back("the SDP's video line has both ULPFEC and flexfec-03: FlexFEC is off");
      } else if (flexfec_pt && !fec_fr) {
        plan.warnings.push_back("the SDP offers flexfec-03 without a=ssrc-group:FEC-FR <media> <fec>: FlexFEC is off");
      } else if (flexfec_pt) {
        plan.flexfec = true;
        plan.payload_types.flexfec = *flexfec_pt;
        plan.video_ssrc = fec_fr->first;
        plan.video_fec_ssrc = fec_fr->second;
      }
      // RFC 5576 4.2 / RFC 4588 8.1: "a=ssrc-group:FID <media> <rtx>" pairs the two; without it, a
      // second a=ssrc on a line with an RTX payload type (not the FlexFEC one) is taken as the RTX
      // stream's.
      if (const std::optional<std::pair<uint32_t, uint32_t>> fid = ssrc_pair(m, "FID")) {
        plan.video_ssrc = fid->first;
        plan.video_rtx_ssrc = fid->second;
      } else if (rtx_pt) {
        for (const transport::SdpSsrc& s : m.ssrcs) {
          if (s.ssrc != m.ssrcs.front().ssrc && s.ssrc != plan.video_fec_ssrc) plan.video_rtx_ssrc = s.ssrc;
        }
      }
    } else {
      if (red_pt) {
        plan.audio_red = true;
        plan.payload_types.audio_red = *red_pt;
      }
      if (!m.ssrcs.empty()) plan.audio_ssrc = m.ssrcs.front().ssrc;
    }
    for (const transport::SdpExtmap& e : m.extmaps) {
      if (e.uri == rtp::TransportSequenceNumber::kUri) plan.extension_ids.transport_sequence_number = e.id;
      if (e.uri == rtp::AbsSendTime::kUri) plan.extension_ids.abs_send_time = e.id;
      if (e.uri == rtp::Mid::kUri) plan.extension_ids.mid = e.id;
    }
  }
  if (!video_line && !audio_line) return Error{"sdp: no VP8, VP9 or Opus media line"};
  const LineTransport& main = video_line ? *video_line : *audio_line;
  plan.port = main.port;
  plan.address = main.address;
  plan.rtcp_mux = main.rtcp_mux;
  if (main.srtp) {
    plan.srtp_profile = main.srtp->profile;
    plan.srtp_key = main.srtp->key;
  }
  if (video_line && audio_line) {
    const LineTransport& a = *audio_line;
    if (a.address != main.address) return Error{"sdp: audio and video on different addresses"};
    if (a.srtp.has_value() != main.srtp.has_value()) {
      return Error{"sdp: one media line under SRTP and the other in the clear"};
    }
    if (a.port != main.port) {
      if (!plan.rtcp_mux && (a.port == main.port + 1 || main.port == a.port + 1)) {
        return Error{"sdp: one line's RTP port is the other's RTCP port (port + 1)"};
      }
      plan.audio_port = a.port;
      if (!same_srtp(a.srtp, main.srtp)) plan.audio_srtp = a.srtp;
    } else if (!same_srtp(a.srtp, main.srtp)) {
      return Error{"sdp: audio and video share a port under different SRTP keys"};
    }
  }
  return plan;
}

}  // namespace tern::tools::net
