#include "tern/sdp/jsep_negotiator.h"

#include <algorithm>
#include <map>
#include <set>

#include "tern/core/ascii.h"
#include "tern/rtp/header_extensions.h"

namespace tern::sdp {
namespace {

constexpr std::string_view kRtpProto = "UDP/TLS/RTP/SAVPF";
constexpr std::string_view kSctpProto = "UDP/DTLS/SCTP";
constexpr std::string_view kLegacySctpProto = "DTLS/SCTP";  // RFC 8841 draft-era, aiortc 1.4
constexpr std::string_view kDataChannelFormat = "webrtc-datachannel";

bool is_rtp_proto(std::string_view proto) { return proto == kRtpProto || proto == "RTP/SAVPF" || proto == "TCP/DTLS/RTP/SAVPF"; }
bool is_sctp_proto(std::string_view proto) { return proto == kSctpProto || proto == kLegacySctpProto || proto == "TCP/DTLS/SCTP"; }

// A decimal 0..2^32-1.
std::optional<uint64_t> parse_u32(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > 0xFFFFFFFFu) return std::nullopt;
  return v;
}

std::optional<uint8_t> parse_pt(std::string_view s) {
  const auto v = s.size() <= 3 ? parse_u32(s) : std::nullopt;
  if (!v || *v > 127) return std::nullopt;
  return static_cast<uint8_t>(*v);
}

// The typed payload-type attributes of one section.
struct SectionFormats {
  std::map<uint8_t, RtpMap> rtpmaps;
  std::map<uint8_t, Fmtp> fmtps;
  std::vector<RtcpFb> feedback;

  explicit SectionFormats(const MediaSection& m) {
    // Malformed typed attributes are skipped: they stay in the model, and a payload type without a
    // usable rtpmap is simply not negotiated.
    for (std::string_view v : m.values("rtpmap"))
      if (auto r = RtpMap::parse(v)) rtpmaps.emplace(r->payload_type, std::move(*r));
    for (std::string_view v : m.values("fmtp"))
      if (auto f = Fmtp::parse(v)) fmtps.emplace(f->payload_type, std::move(*f));
    for (std::string_view v : m.values("rtcp-fb"))
      if (auto f = RtcpFb::parse(v)) feedback.push_back(std::move(*f));
  }
  const RtpMap* rtpmap(uint8_t pt) const {
    auto it = rtpmaps.find(pt);
    return it == rtpmaps.end() ? nullptr : &it->second;
  }
  const Fmtp* fmtp(uint8_t pt) const {
    auto it = fmtps.find(pt);
    return it == fmtps.end() ? nullptr : &it->second;
  }
  std::optional<uint8_t> apt(uint8_t pt) const {
    const Fmtp* f = fmtp(pt);
    if (!f) return std::nullopt;
    auto a = f->parameter("apt");
    return a ? parse_pt(*a) : std::nullopt;
  }
};

// A section attribute, else the session's (ICE and DTLS attributes may sit at either level).
std::optional<std::string_view> transport_value(const SessionDescription& sd, const MediaSection& m, std::string_view name) {
  if (auto v = m.value(name)) return v;
  return sd.value(name);
}

enum class Fb : uint8_t { kNone, kNack, kPli, kFir, kRemb, kTransportCc };
Fb feedback_kind(const RtcpFb& fb) {
  if (fb.type == "nack") return fb.parameter.empty() ? Fb::kNack : fb.parameter == "pli" ? Fb::kPli : Fb::kNone;
  if (fb.type == "ccm") return fb.parameter == "fir" ? Fb::kFir : Fb::kNone;
  if (fb.type == "goog-remb" && fb.parameter.empty()) return Fb::kRemb;
  if (fb.type == "transport-cc" && fb.parameter.empty()) return Fb::kTransportCc;
  return Fb::kNone;
}

bool supported_feedback(const LocalCapabilities& local, Fb kind) {
  switch (kind) {
    case Fb::kNack: return local.nack;
    case Fb::kPli: return local.pli;
    case Fb::kFir: return local.fir;
    case Fb::kRemb: return local.remb;
    case Fb::kTransportCc: return local.transport_cc;
    case Fb::kNone: return false;
  }
  return false;
}

bool supported_extension(const LocalCapabilities& local, std::string_view uri) {
  if (uri == rtp::Mid::kUri) return true;
  if (uri == rtp::AbsSendTime::kUri) return local.remb || local.transport_cc;
  if (uri == rtp::TransportSequenceNumber::kUri) return local.transport_cc;
  if (uri == rtp::RtpStreamId::kUri || uri == rtp::RepairedRtpStreamId::kUri) return local.simulcast_receive;
  return false;
}

// Is `r` (with fmtp `f`) a media codec tern implements and `local` enables?
std::optional<codecs::CodecType> supported_codec(const LocalCapabilities& local, MediaKind kind, const RtpMap& r, const Fmtp* f) {
  const auto codec = codecs::codec_from_name(r.encoding);
  if (!codec) return std::nullopt;
  if (kind == MediaKind::kAudio) {
    if (*codec != codecs::CodecType::kOpus || r.clock_rate != 48000 || r.channels != 2) return std::nullopt;
    return codec;
  }
  if (kind != MediaKind::kVideo || r.clock_rate != 90000) return std::nullopt;
  if (*codec == codecs::CodecType::kVp8 && local.vp8) return codec;
  if (*codec == codecs::CodecType::kVp9 && local.vp9) {
    // RFC 9628 6: profile-id absent means 0; tern encodes and decodes 8-bit 4:2:0 only.
    const auto profile = f ? f->parameter("profile-id") : std::nullopt;
    if (!profile || *profile == "0") return codec;
  }
  return std::nullopt;
}

void add_rtpmap(MediaSection& m, const RtpMap& r) { m.add("rtpmap", r.to_value()); }

void add_transport(MediaSection& m, const LocalCapabilities& local, dtls::DtlsSetup setup, bool with_candidates) {
  if (with_candidates) {
    for (const ice::Candidate& c : local.candidates) m.add("candidate", SdpCandidate{c, "udp", {}}.to_value());
    if (local.end_of_candidates) m.add("end-of-candidates");
  }
  m.add("ice-ufrag", local.ice_ufrag);
  m.add("ice-pwd", local.ice_pwd);
  if (local.ice_trickle) m.add("ice-options", "trickle");
  m.add("fingerprint", local.fingerprint.to_string());
  m.add("setup", std::string(dtls::to_string(setup)));
}

// m= port and c= for a section: the first candidate's (the default candidate, RFC 8839 4.2.1.2),
// else the "9 / 0.0.0.0" JSEP writes before gathering (RFC 9429 5.2.1).
void set_address(MediaSection& m, const LocalCapabilities& local) {
  if (local.candidates.empty() || !local.candidates.front().hostname.empty()) {
    m.port = 9;
    m.lines.push_back({'c', "IN IP4 0.0.0.0"});
    return;
  }
  const ice::TransportAddress& a = local.candidates.front().address;
  m.port = a.port;
  m.lines.push_back({'c', std::string(a.is_v6() ? "IN IP6 " : "IN IP4 ") + ip_string(a)});
}

void add_send_identity(MediaSection& m, const LocalCapabilities& local, MediaKind kind, bool rtx) {
  const std::string& track = kind == MediaKind::kAudio ? local.audio_track_id : local.video_track_id;
  const Msid msid{local.stream_id, track};
  m.add("msid", msid.to_value());
  const uint32_t ssrc = kind == MediaKind::kAudio ? local.audio_ssrc : local.video_ssrc;
  std::vector<uint32_t> ssrcs{ssrc};
  if (rtx) {
    ssrcs.push_back(local.video_rtx_ssrc);
    m.add("ssrc-group", SsrcGroup{"FID", ssrcs}.to_value());
  }
  for (uint32_t s : ssrcs) {
    m.add("ssrc", SsrcAttribute{s, "cname", local.cname}.to_value());
    m.add("ssrc", SsrcAttribute{s, "msid", msid.to_value()}.to_value());
  }
}

void add_feedback(MediaSection& m, const LocalCapabilities& local, uint8_t pt, bool video) {
  auto add = [&](bool on, const char* type, const char* param) {
    if (on) m.add("rtcp-fb", RtcpFb{pt, type, param}.to_value());
  };
  add(video && local.remb, "goog-remb", "");
  add(local.transport_cc, "transport-cc", "");
  add(video && local.fir, "ccm", "fir");
  add(video && local.nack, "nack", "");
  add(video && local.pli, "nack", "pli");
}

// Accepts offered section `o`'s send simulcast in answer section `a`: each stream's first
// alternative (paused or not) that has an `a=rid:<id> send` line; nothing when there is none, or
// the offer's simulcast line does not parse (RFC 8853 bounds, kMaxRids).
void answer_simulcast(const MediaSection& o, MediaSection& a) {
  const auto line = o.value("simulcast");
  if (!line) return;
  auto sc = Simulcast::parse(*line);
  if (!sc || sc->send.empty()) return;
  std::set<std::string> announced;
  for (std::string_view v : o.values("rid"))
    if (auto r = Rid::parse(v); r && r->send) announced.insert(r->id);
  Simulcast answer;
  for (const std::vector<Simulcast::Id>& stream : sc->send) {
    const Simulcast::Id& first = stream.front();
    bool dup = false;
    for (const auto& s : answer.recv) dup = dup || s.front().rid == first.rid;
    if (!announced.count(first.rid) || dup) continue;
    answer.recv.push_back({Simulcast::Id{first.rid, false}});
  }
  if (answer.recv.empty()) return;
  for (const auto& s : answer.recv) a.add("rid", Rid{s.front().rid, false, ""}.to_value());
  a.add("simulcast", answer.to_value());
}

// The section body of an answer to offered section `o` (everything after the transport
// attributes), or nullopt to reject it. `ext_ids` holds the bundle's id <-> URI choices so far.
std::optional<MediaSection> answer_body(const MediaSection& o, const LocalCapabilities& local, std::map<uint16_t, std::string>& ext_ids) {
  const MediaKind kind = media_kind(o.media);
  MediaSection a;
  a.media = o.media;
  a.proto = o.proto;
  if (kind == MediaKind::kApplication) {
    if (!local.data || !is_sctp_proto(o.proto) || o.formats.empty()) return std::nullopt;
    a.add("mid", std::string(*o.value("mid")));
    if (o.proto == kLegacySctpProto) {
      // draft-05 form: the SCTP port is the format, sctpmap carries the protocol.
      a.formats = {std::to_string(local.sctp_port)};
      a.add("sctpmap", std::to_string(local.sctp_port) + " webrtc-datachannel 65535");
    } else {
      if (o.formats.front() != kDataChannelFormat) return std::nullopt;
      a.formats = {std::string(kDataChannelFormat)};
      a.add("sctp-port", std::to_string(local.sctp_port));
    }
    a.add("max-message-size", std::to_string(local.max_message_size));
    return a;
  }
  if ((kind != MediaKind::kAudio && kind != MediaKind::kVideo) || !is_rtp_proto(o.proto)) return std::nullopt;
  if (kind == MediaKind::kAudio ? !local.audio : !local.video) return std::nullopt;
  if (!o.has("rtcp-mux")) return std::nullopt;  // RFC 9429 5.1.3 / 8843: tern muxes RTCP, always

  const SectionFormats f(o);
  // Media codecs first (their pts decide which RTX/RED/FEC survive), in the offered order.
  std::set<uint8_t> kept;
  std::set<codecs::CodecType> kept_codecs;
  for (const std::string& fmt : o.formats) {
    const auto pt = parse_pt(fmt);
    const RtpMap* r = pt ? f.rtpmap(*pt) : nullptr;
    if (!r) continue;
    const auto codec = supported_codec(local, kind, *r, f.fmtp(*pt));
    if (codec && kept_codecs.insert(*codec).second) kept.insert(*pt);
  }
  if (kept.empty()) return std::nullopt;
  const std::set<uint8_t> media_pts = kept;
  std::optional<uint8_t> red_pt;
  for (const std::string& fmt : o.formats) {
    const auto pt = parse_pt(fmt);
    const RtpMap* r = pt ? f.rtpmap(*pt) : nullptr;
    if (!r) continue;
    if (kind == MediaKind::kVideo && local.video_fec && r->clock_rate == 90000 &&
        (ascii_iequals(r->encoding, "red") || ascii_iequals(r->encoding, "ulpfec"))) {
      if (ascii_iequals(r->encoding, "red")) {
        if (red_pt) continue;  // one RED format is enough
        red_pt = pt;
      }
      kept.insert(*pt);
    } else if (kind == MediaKind::kAudio && local.audio_red && ascii_iequals(r->encoding, "red") && r->clock_rate == 48000 && !red_pt) {
      // RFC 2198 fmtp "111/111": every block must be a kept codec.
      const Fmtp* fm = f.fmtp(*pt);
      bool ok = fm != nullptr && !fm->parameters.empty();
      for (std::string_view rest = fm ? std::string_view(fm->parameters) : std::string_view(); ok && !rest.empty();) {
        const size_t slash = rest.find('/');
        const auto block = parse_pt(rest.substr(0, slash));
        ok = block && media_pts.count(*block);
        rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
      }
      if (ok) {
        red_pt = pt;
        kept.insert(*pt);
      }
    }
  }
  for (const std::string& fmt : o.formats) {
    const auto pt = parse_pt(fmt);
    const RtpMap* r = pt ? f.rtpmap(*pt) : nullptr;
    if (r && kind == MediaKind::kVideo && local.rtx && ascii_iequals(r->encoding, "rtx")) {
      const auto apt = f.apt(*pt);
      // Also the RTX of the kept RED (libwebrtc retransmits its RED-wrapped packets under it).
      if (apt && (media_pts.count(*apt) || (red_pt && *apt == *red_pt))) kept.insert(*pt);
    }
  }
  for (const std::string& fmt : o.formats)
    if (const auto pt = parse_pt(fmt); pt && kept.count(*pt)) a.formats.push_back(fmt);

  a.add("mid", std::string(*o.value("mid")));
  for (std::string_view v : o.values("extmap")) {
    auto e = ExtMap::parse(v);
    if (!e || e->id > 255 || !supported_extension(local, e->uri)) continue;
    bool clash = false;
    for (const auto& [id, uri] : ext_ids) clash = clash || (id == e->id) != (uri == e->uri);
    if (clash) continue;  // one id per URI across the bundle (RFC 8843 9.2)
    ext_ids.emplace(e->id, e->uri);
    if (e->direction == Direction::kSendOnly) {
      e->direction = Direction::kRecvOnly;
    } else if (e->direction == Direction::kRecvOnly) {
      e->direction = Direction::kSendOnly;
    }
    e->attributes.clear();
    a.add("extmap", e->to_value());
  }
  const Direction offered = direction_of(o);
  const bool we_send = receives(offered) && (kind == MediaKind::kAudio ? local.send_audio : local.send_video);
  a.add(std::string(to_string(make_direction(we_send, sends(offered)))));
  MediaSection identity;  // msid goes before the codecs, the ssrc lines after (browsers' order)
  if (we_send) {
    bool rtx = false;
    for (uint8_t pt : kept) rtx = rtx || ascii_iequals(f.rtpmap(pt)->encoding, "rtx");
    add_send_identity(identity, local, kind, rtx);
    a.attributes.push_back(identity.attributes.front());
  }
  a.add("rtcp-mux");
  if (o.has("rtcp-rsize")) a.add("rtcp-rsize");
  std::vector<RtcpFb> written;  // pion repeats lines: each is answered once
  auto answer_feedback = [&](std::optional<uint8_t> pt) {
    for (const RtcpFb& fb : f.feedback) {
      if (fb.payload_type != pt || !supported_feedback(local, feedback_kind(fb))) continue;
      if (std::find(written.begin(), written.end(), fb) != written.end()) continue;
      written.push_back(fb);
      a.add("rtcp-fb", fb.to_value());
    }
  };
  answer_feedback(std::nullopt);  // a=rtcp-fb:* lines (RFC 4585 4.2), for every kept format
  for (const std::string& fmt : a.formats) {
    const uint8_t pt = *parse_pt(fmt);
    add_rtpmap(a, *f.rtpmap(pt));
    if (media_pts.count(pt)) answer_feedback(pt);
    if (const Fmtp* fm = f.fmtp(pt)) a.add("fmtp", fm->to_value());
  }
  if (we_send) a.attributes.insert(a.attributes.end(), identity.attributes.begin() + 1, identity.attributes.end());
  if (kind == MediaKind::kVideo && local.simulcast_receive && sends(offered)) answer_simulcast(o, a);
  return a;
}

}  // namespace

MediaKind media_kind(std::string_view media) {
  if (media == "audio") return MediaKind::kAudio;
  if (media == "video") return MediaKind::kVideo;
  if (media == "application") return MediaKind::kApplication;
  return MediaKind::kOther;
}

const NegotiatedMedia* NegotiatedSession::find(MediaKind kind) const {
  for (const NegotiatedMedia& m : media)
    if (m.kind == kind && m.accepted) return &m;
  return nullptr;
}

namespace {

// The negotiated view of one exchange; `local` and `remote` are this side's and the peer's
// descriptions, `answer` whichever of them is the answer.
Result<NegotiatedSession> negotiate(const SessionDescription& offer, const SessionDescription& answer, bool we_offered) {
  const SessionDescription& local = we_offered ? offer : answer;
  const SessionDescription& remote = we_offered ? answer : offer;
  if (offer.media.size() != answer.media.size()) return Error{"answer has a different number of m= sections than the offer"};
  NegotiatedSession n;
  n.ice_controlling = we_offered;
  n.extmap_allow_mixed = offer.has("extmap-allow-mixed") && answer.has("extmap-allow-mixed");
  for (std::string_view g : answer.values("group"))
    if (auto grp = Group::parse(g); grp && grp->semantics == "BUNDLE" && n.bundle.empty()) n.bundle = grp->mids;
  std::set<std::string_view> mids;
  for (size_t i = 0; i < offer.media.size(); ++i) {
    const MediaSection& om = offer.media[i];
    const MediaSection& am = answer.media[i];
    const auto mid = om.value("mid");
    if (!mid || mid->empty()) return Error{"m= section without a=mid (RFC 9429 5.2.1 needs one in every section)"};
    if (!mids.insert(*mid).second) return Error{"two m= sections with the same mid"};
    if (am.value("mid") != mid) return Error{"answer section's mid differs from the offer's"};
    if (am.media != om.media) return Error{"answer section's media differs from the offer's"};
    NegotiatedMedia nm;
    nm.mid = std::string(*mid);
    nm.kind = media_kind(om.media);
    nm.accepted = am.port != 0 && !am.formats.empty();
    if (!nm.accepted) {
      n.media.push_back(std::move(nm));
      continue;
    }
    const MediaSection& rm = we_offered ? am : om;
    // This side's view. The answer already intersects the directions (its own view, RFC 9429
    // 5.3.1); the offerer's is its offer narrowed by the answer: a recvonly answer (pion, aiortc
    // with no track of that kind) means the offerer only sends.
    const Direction answered = direction_of(am);
    nm.direction = we_offered ? make_direction(sends(direction_of(om)) && receives(answered),
                                               receives(direction_of(om)) && sends(answered))
                              : answered;
    nm.rtcp_mux = am.has("rtcp-mux");
    nm.rtcp_rsize = am.has("rtcp-rsize");
    if (nm.kind == MediaKind::kApplication) {
      // sctp-port (RFC 8841 5); the draft-era DTLS/SCTP form has the port as the format.
      std::optional<uint64_t> port = 5000;
      if (const auto p = rm.value("sctp-port")) {
        port = parse_u32(*p);
      } else if (rm.proto == kLegacySctpProto && !rm.formats.empty()) {
        port = parse_u32(rm.formats.front());
      }
      if (!port || *port == 0 || *port > 65535) return Error{"sctp-port is not 1..65535"};
      nm.remote_sctp_port = static_cast<uint16_t>(*port);
      nm.remote_max_message_size = 65536;  // RFC 8841 6.1: absent means 64 KiB
      if (const auto mms = rm.value("max-message-size")) {
        const auto m = parse_u32(*mms);
        if (!m) return Error{"max-message-size is not a 32-bit number"};
        nm.remote_max_message_size = static_cast<uint32_t>(*m);  // 0: no limit (RFC 8841 6.1)
      }
      n.media.push_back(std::move(nm));
      continue;
    }
    if (nm.kind == MediaKind::kOther) {
      n.media.push_back(std::move(nm));
      continue;
    }
    const SectionFormats of(om), af(am);
    for (const std::string& fmt : am.formats) {
      const auto pt = parse_pt(fmt);
      if (!pt) return Error{"answer format is not a payload type"};
      const RtpMap* ar = af.rtpmap(*pt);
      const RtpMap* orr = of.rtpmap(*pt);
      if (std::find(om.formats.begin(), om.formats.end(), fmt) == om.formats.end() || !orr)
        return Error{"answer has a payload type the offer did not have"};
      if (ar && (!ascii_iequals(ar->encoding, orr->encoding) || ar->clock_rate != orr->clock_rate))
        return Error{"answer maps a payload type to another codec than the offer"};
      const RtpMap& r = ar ? *ar : *orr;
      const Fmtp* fm = af.fmtp(*pt) ? af.fmtp(*pt) : of.fmtp(*pt);
      if (ascii_iequals(r.encoding, "rtx")) continue;  // matched to its apt below
      if (ascii_iequals(r.encoding, "red")) {
        nm.red_payload_type = pt;
        continue;
      }
      if (ascii_iequals(r.encoding, "ulpfec")) {
        nm.ulpfec_payload_type = pt;
        continue;
      }
      NegotiatedCodec c;
      c.payload_type = *pt;
      c.codec = codecs::codec_from_name(r.encoding);
      c.rtpmap = r;
      if (fm) c.fmtp = fm->parameters;
      for (const RtcpFb& fb : af.feedback) {
        if (fb.payload_type && *fb.payload_type != *pt) continue;
        switch (feedback_kind(fb)) {
          case Fb::kNack: c.feedback.nack = true; break;
          case Fb::kPli: c.feedback.pli = true; break;
          case Fb::kFir: c.feedback.fir = true; break;
          case Fb::kRemb: c.feedback.remb = true; break;
          case Fb::kTransportCc: c.feedback.transport_cc = true; break;
          case Fb::kNone: break;
        }
      }
      nm.codecs.push_back(std::move(c));
    }
    for (const std::string& fmt : am.formats) {
      const auto pt = parse_pt(fmt);
      const RtpMap* r = af.rtpmap(*pt) ? af.rtpmap(*pt) : of.rtpmap(*pt);
      if (!ascii_iequals(r->encoding, "rtx")) continue;
      const auto apt = af.apt(*pt) ? af.apt(*pt) : of.apt(*pt);
      for (NegotiatedCodec& c : nm.codecs)
        if (apt == c.payload_type) c.rtx_payload_type = pt;
      if (nm.red_payload_type && apt == nm.red_payload_type) nm.red_rtx_payload_type = pt;
    }
    std::map<uint16_t, std::string_view> offered_ext;
    for (std::string_view v : om.values("extmap"))
      if (auto e = ExtMap::parse(v)) offered_ext.emplace(e->id, v);
    for (std::string_view v : am.values("extmap")) {
      auto e = ExtMap::parse(v);
      if (!e) continue;  // malformed: not negotiated (the line stays in the model)
      auto it = offered_ext.find(e->id);
      if (it == offered_ext.end() || ExtMap::parse(it->second)->uri != e->uri)
        return Error{"answer maps an extension id the offer did not map to that URI"};
      nm.extensions.push_back(std::move(*e));
    }
    // What the peer sends: the FID group names media + RTX, FEC-FR media + FEC (RFC 5576, 5956).
    for (std::string_view v : rm.values("ssrc-group")) {
      auto g = SsrcGroup::parse(v);
      if (!g || g->ssrcs.size() != 2) continue;
      if (g->semantics == "FID") {
        nm.remote_ssrc = g->ssrcs[0];
        nm.remote_rtx_ssrc = g->ssrcs[1];
      } else if (g->semantics == "FEC-FR") {
        nm.remote_ssrc = g->ssrcs[0];
        nm.remote_fec_ssrc = g->ssrcs[1];
      }
    }
    for (std::string_view v : rm.values("ssrc")) {
      auto s = SsrcAttribute::parse(v);
      if (!s) continue;
      if (!nm.remote_ssrc) nm.remote_ssrc = s->ssrc;
      if (s->ssrc != *nm.remote_ssrc) continue;
      if (s->attribute == "cname") nm.remote_cname = s->value;
      if (s->attribute == "msid" && !nm.remote_msid)
        if (auto m = Msid::parse(s->value)) nm.remote_msid = std::move(*m);
    }
    if (const auto msid = rm.value("msid"))
      if (auto m = Msid::parse(*msid)) nm.remote_msid = std::move(*m);
    // The peer's simulcast streams: what the answer receives (we answered) or sends (we offered).
    if (const auto line = am.value("simulcast")) {
      if (auto sc = Simulcast::parse(*line)) {
        for (const auto& stream : we_offered ? sc->send : sc->recv) nm.remote_rids.push_back(stream.front().rid);
      }
    }
    n.media.push_back(std::move(nm));
  }

  // The transport: the tagged section of the answer's BUNDLE group, else the first accepted one.
  const MediaSection* lt = nullptr;
  const MediaSection* rt = nullptr;
  for (size_t i = 0; i < n.media.size() && !rt; ++i) {
    const bool tagged = n.bundle.empty() ? n.media[i].accepted : n.media[i].mid == n.bundle.front();
    if (tagged && n.media[i].accepted) {
      lt = &local.media[i];
      rt = &remote.media[i];
    }
  }
  if (!rt) return n;  // nothing accepted: no transport to set up
  const auto ufrag = transport_value(remote, *rt, "ice-ufrag");
  const auto pwd = transport_value(remote, *rt, "ice-pwd");
  if (!ufrag || ufrag->empty() || !pwd || pwd->empty()) return Error{"accepted section without ice-ufrag and ice-pwd"};
  n.remote_ice_ufrag = std::string(*ufrag);
  n.remote_ice_pwd = std::string(*pwd);
  if (const auto opts = transport_value(remote, *rt, "ice-options")) n.remote_ice_trickle = opts->find("trickle") != std::string_view::npos;
  n.remote_ice_lite = remote.has("ice-lite");
  if (n.remote_ice_lite) n.ice_controlling = true;  // RFC 8445 6.1.1: a full agent controls a lite one
  const auto fp = transport_value(remote, *rt, "fingerprint");
  if (!fp) return Error{"accepted section without a=fingerprint"};
  auto fingerprint = dtls::CertificateFingerprint::parse(*fp);
  if (!fingerprint) return Error{fingerprint.error()};
  n.remote_fingerprint = std::move(*fingerprint);
  const auto ls = transport_value(local, *lt, "setup");
  const auto rs = transport_value(remote, *rt, "setup");
  if (!ls || !rs) return Error{"accepted section without a=setup"};
  const auto local_setup = dtls::parse_dtls_setup(*ls);
  const auto remote_setup = dtls::parse_dtls_setup(*rs);
  if (!local_setup || !remote_setup) return Error{"a=setup is not actpass, active, passive or holdconn"};
  auto role = dtls::dtls_role(*local_setup, *remote_setup);
  if (!role) return Error{role.error()};
  n.dtls_role = *role;
  for (std::string_view v : rt->values("candidate")) {
    auto c = SdpCandidate::parse(v);
    if (!c || c->transport != "udp" || c->candidate.component != 1 || n.remote_candidates.size() >= kMaxRemoteCandidates) {
      ++n.remote_candidates_skipped;
      continue;
    }
    n.remote_candidates.push_back(std::move(c->candidate));
  }
  n.remote_end_of_candidates = rt->has("end-of-candidates");
  return n;
}

}  // namespace

Status LocalCapabilities::validate() const {
  auto ice_chars = [](const std::string& s, size_t min) {
    if (s.size() < min || s.size() > 256) return false;
    for (char c : s) {
      const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (!alnum && c != '+' && c != '/') return false;
    }
    return true;
  };
  if (!ice_chars(ice_ufrag, 4)) return Error{"ice-ufrag must be 4..256 ice-chars (RFC 8839 5.4)"};
  if (!ice_chars(ice_pwd, 22)) return Error{"ice-pwd must be 22..256 ice-chars (RFC 8839 5.4)"};
  if (!dtls::CertificateFingerprint::parse(fingerprint.to_string()).ok()) return Error{"the certificate fingerprint is not set"};
  const OfferPayloadTypes& p = payload_types;
  const std::set<uint8_t> pts{p.opus, p.audio_red, p.vp8, p.vp8_rtx, p.vp9, p.vp9_rtx, p.red, p.ulpfec, p.red_rtx};
  // 64..95 would collide with RTCP packet types under rtcp-mux (RFC 5761 4); browsers use 35..63 too.
  for (uint8_t pt : pts)
    if (pt < 35 || (pt > 63 && pt < 96) || pt > 127) return Error{"payload types must be distinct, 35..63 or 96..127"};
  if (pts.size() != 9) return Error{"payload types must be distinct, 35..63 or 96..127"};
  const std::set<uint32_t> ssrcs{audio_ssrc, video_ssrc, video_rtx_ssrc};
  if (ssrcs.size() != 3 || ssrcs.count(0)) return Error{"SSRCs must be distinct and non-zero"};
  if (sctp_port == 0) return Error{"sctp_port must be 1..65535"};
  if (session_id.empty() || session_id.size() > 20) return Error{"session id must be 1..20 digits"};
  for (char c : session_id)
    if (c < '0' || c > '9') return Error{"session id must be 1..20 digits"};
  return Status::Ok();
}

SessionDescription create_offer(const LocalCapabilities& local) {
  SessionDescription sd;
  sd.origin = Origin{"-", local.session_id, "2", "IN", "IP4", "127.0.0.1"};
  sd.lines.push_back({'t', "0 0"});
  const auto setup = dtls::DtlsSetup::kActpass;
  Group bundle{"BUNDLE", {}};
  auto section = [&](std::string media, std::string proto) -> MediaSection& {
    MediaSection& m = sd.media.emplace_back();
    m.media = std::move(media);
    m.proto = std::move(proto);
    set_address(m, local);
    add_transport(m, local, setup, sd.media.size() == 1);
    bundle.mids.push_back(std::to_string(sd.media.size() - 1));
    m.add("mid", bundle.mids.back());
    return m;
  };
  auto extmaps = [&](MediaSection& m) {
    const OfferExtensionIds& ids = local.extension_ids;
    if (local.remb || local.transport_cc) m.add("extmap", ExtMap{ids.abs_send_time, {}, std::string(rtp::AbsSendTime::kUri), ""}.to_value());
    if (local.transport_cc)
      m.add("extmap", ExtMap{ids.transport_cc, {}, std::string(rtp::TransportSequenceNumber::kUri), ""}.to_value());
    m.add("extmap", ExtMap{ids.mid, {}, std::string(rtp::Mid::kUri), ""}.to_value());
  };
  const OfferPayloadTypes& pt = local.payload_types;
  if (local.audio) {
    MediaSection& m = section("audio", std::string(kRtpProto));
    m.formats.push_back(std::to_string(pt.opus));
    if (local.audio_red) m.formats.push_back(std::to_string(pt.audio_red));
    extmaps(m);
    m.add(std::string(to_string(make_direction(local.send_audio, true))));
    MediaSection identity;
    if (local.send_audio) {
      add_send_identity(identity, local, MediaKind::kAudio, false);
      m.attributes.push_back(identity.attributes.front());
    }
    m.add("rtcp-mux");
    m.add("rtcp-rsize");
    add_rtpmap(m, RtpMap{pt.opus, "opus", 48000, 2});
    add_feedback(m, local, pt.opus, false);
    m.add("fmtp", Fmtp{pt.opus, "minptime=10;useinbandfec=1"}.to_value());
    if (local.audio_red) {
      add_rtpmap(m, RtpMap{pt.audio_red, "red", 48000, 2});
      m.add("fmtp", Fmtp{pt.audio_red, std::to_string(pt.opus) + '/' + std::to_string(pt.opus)}.to_value());
    }
    if (local.send_audio) m.attributes.insert(m.attributes.end(), identity.attributes.begin() + 1, identity.attributes.end());
  }
  if (local.video && (local.vp8 || local.vp9)) {
    MediaSection& m = section("video", std::string(kRtpProto));
    extmaps(m);
    m.add(std::string(to_string(make_direction(local.send_video, true))));
    MediaSection identity;
    if (local.send_video) {
      add_send_identity(identity, local, MediaKind::kVideo, local.rtx);
      m.attributes.push_back(identity.attributes.front());
    }
    m.add("rtcp-mux");
    m.add("rtcp-rsize");
    auto codec = [&](uint8_t media_pt, uint8_t rtx_pt, const char* name, const char* fmtp) {
      m.formats.push_back(std::to_string(media_pt));
      add_rtpmap(m, RtpMap{media_pt, name, 90000, 0});
      add_feedback(m, local, media_pt, true);
      if (fmtp) m.add("fmtp", Fmtp{media_pt, fmtp}.to_value());
      if (!local.rtx) return;
      m.formats.push_back(std::to_string(rtx_pt));
      add_rtpmap(m, RtpMap{rtx_pt, "rtx", 90000, 0});
      m.add("fmtp", Fmtp{rtx_pt, "apt=" + std::to_string(media_pt)}.to_value());
    };
    if (local.vp8) codec(pt.vp8, pt.vp8_rtx, "VP8", nullptr);
    if (local.vp9) codec(pt.vp9, pt.vp9_rtx, "VP9", "profile-id=0");
    if (local.video_fec) {
      m.formats.push_back(std::to_string(pt.red));
      add_rtpmap(m, RtpMap{pt.red, "red", 90000, 0});
      if (local.rtx) {  // Chromium retransmits its RED-wrapped packets only under an RTX for RED
        m.formats.push_back(std::to_string(pt.red_rtx));
        add_rtpmap(m, RtpMap{pt.red_rtx, "rtx", 90000, 0});
        m.add("fmtp", Fmtp{pt.red_rtx, "apt=" + std::to_string(pt.red)}.to_value());
      }
      m.formats.push_back(std::to_string(pt.ulpfec));
      add_rtpmap(m, RtpMap{pt.ulpfec, "ulpfec", 90000, 0});
    }
    if (local.send_video) m.attributes.insert(m.attributes.end(), identity.attributes.begin() + 1, identity.attributes.end());
  }
  if (local.data) {
    MediaSection& m = section("application", std::string(kSctpProto));
    m.formats.push_back(std::string(kDataChannelFormat));
    m.add("sctp-port", std::to_string(local.sctp_port));
    m.add("max-message-size", std::to_string(local.max_message_size));
  }
  sd.add("group", bundle.to_value());
  sd.add("extmap-allow-mixed");
  sd.add("msid-semantic", " WMS " + local.stream_id);
  return sd;
}

Result<Answer> create_answer(const SessionDescription& offer, const LocalCapabilities& local) {
  if (Status s = local.validate(); !s.ok()) return Error{s.error()};
  Answer out;
  SessionDescription& sd = out.description;
  sd.origin = Origin{"-", local.session_id, "2", "IN", "IP4", "127.0.0.1"};
  sd.lines.push_back({'t', "0 0"});
  std::optional<Group> offered_bundle;
  for (std::string_view g : offer.values("group"))
    if (auto grp = Group::parse(g); grp && grp->semantics == "BUNDLE" && !offered_bundle) offered_bundle = std::move(*grp);

  std::map<uint16_t, std::string> ext_ids;
  std::vector<bool> accepted;
  for (const MediaSection& o : offer.media) {
    const auto mid = o.value("mid");
    if (!mid || mid->empty()) return Error{"m= section without a=mid (RFC 9429 5.2.1 needs one in every section)"};
    std::optional<MediaSection> body;
    if (o.port != 0 || o.has("bundle-only")) body = answer_body(o, local, ext_ids);
    if (!body) {
      // Rejected (RFC 3264 6, RFC 8843 7.3.3): port 0, the offered proto and formats, the mid only.
      MediaSection& r = sd.media.emplace_back();
      r.media = o.media;
      r.port = 0;
      r.proto = o.proto;
      r.formats = o.formats;
      r.lines.push_back({'c', "IN IP4 0.0.0.0"});
      r.add("mid", std::string(*mid));
      accepted.push_back(false);
      continue;
    }
    sd.media.push_back(std::move(*body));
    accepted.push_back(true);
  }
  // The transport: the offer's setup (section or session level) decides ours.
  Group bundle{"BUNDLE", {}};
  if (offered_bundle)
    for (const std::string& mid : offered_bundle->mids)
      for (size_t i = 0; i < offer.media.size(); ++i)
        if (accepted[i] && offer.media[i].value("mid") == mid) bundle.mids.push_back(mid);
  for (size_t i = 0; i < sd.media.size(); ++i) {
    if (!accepted[i]) continue;
    const auto offered_setup = transport_value(offer, offer.media[i], "setup");
    const auto parsed = offered_setup ? dtls::parse_dtls_setup(*offered_setup) : std::nullopt;
    if (!parsed) return Error{"accepted offer section without a valid a=setup"};
    auto setup = dtls::answer_setup(*parsed);
    if (!setup) return Error{setup.error()};
    MediaSection& m = sd.media[i];
    const std::string mid(*m.value("mid"));
    const bool bundled = std::find(bundle.mids.begin(), bundle.mids.end(), mid) != bundle.mids.end();
    const bool with_candidates = bundled ? mid == bundle.mids.front() : true;
    MediaSection head;
    set_address(head, local);
    add_transport(head, local, *setup, with_candidates);
    m.port = head.port;
    m.lines = head.lines;
    m.attributes.insert(m.attributes.begin(), head.attributes.begin(), head.attributes.end());
  }
  if (!bundle.mids.empty()) sd.add("group", bundle.to_value());
  if (offer.has("extmap-allow-mixed")) sd.add("extmap-allow-mixed");
  sd.add("msid-semantic", " WMS " + local.stream_id);
  auto negotiated = negotiate(offer, sd, false);
  if (!negotiated) return Error{negotiated.error()};
  out.negotiated = std::move(*negotiated);
  return out;
}

Result<NegotiatedSession> apply_answer(const SessionDescription& offer, const SessionDescription& answer) {
  for (const MediaSection& a : answer.media) {
    const auto setup = a.port != 0 ? transport_value(answer, a, "setup") : std::nullopt;
    if (setup && *setup == "actpass") return Error{"answer says setup:actpass (RFC 8842 5.3: it must pick a role)"};
  }
  return negotiate(offer, answer, true);
}

}  // namespace tern::sdp
