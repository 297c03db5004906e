#include "tern/sfu/sfu_server.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <nlohmann/json.hpp>
#include <utility>

#include "tern/core/byte_io.h"
#include "tern/ice/candidate.h"
#include "tern/ice/core_address.h"
#include "tern/ice/stun_message.h"
#include "tern/rtp/header_extensions.h"
#include "tern/rtp/rtp_rtcp_split.h"
#include "tern/sdp/jsep_negotiator.h"
#include "tern/sdp/webrtc_attributes.h"

namespace tern::sfu {

const char* to_string(SessionRole role) { return role == SessionRole::kPublisher ? "publisher" : "subscriber"; }
const char* to_string(RoomMode mode) { return mode == RoomMode::kCall ? "call" : "broadcast"; }

namespace {

// ICE credentials are the session's only secret before DTLS: drawn from OpenSSL's CSPRNG, so one
// client cannot guess another's ufrag and password.
std::string random_ice_chars(size_t n) {
  static constexpr std::string_view kChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<uint8_t> bytes(n);
  if (RAND_bytes(bytes.data(), static_cast<int>(n)) != 1) return {};
  std::string s;
  for (uint8_t b : bytes) s.push_back(kChars[b % kChars.size()]);  // 64 symbols: no bias
  return s;
}

bool valid_room(std::string_view room, size_t max) {
  if (room.empty() || room.size() > max) return false;
  return std::all_of(room.begin(), room.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

// The STUN Binding request's USERNAME "<server ufrag>:<client ufrag>" (RFC 8445 7.2.2), its first part.
std::optional<std::string> binding_request_ufrag(std::span<const uint8_t> data) {
  if (!ice::looks_like_stun(data)) return std::nullopt;
  auto message = ice::StunMessage::parse(data);
  if (!message || message->method() != ice::StunMethod::kBinding || message->message_class() != ice::StunClass::kRequest)
    return std::nullopt;
  const auto username = message->username();
  if (!username) return std::nullopt;
  const size_t colon = username->find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  return std::string(username->substr(0, colon));
}

// The leg's header extensions as negotiated: id -> URI over its sections (the negotiator keeps one
// id per URI across the bundle; a clash left anyway is refused).
std::optional<pipeline::MediaRouter::ExtensionUris> leg_extensions(const sdp::NegotiatedSession& n) {
  pipeline::MediaRouter::ExtensionUris uris;
  for (const sdp::NegotiatedMedia& m : n.media) {
    for (const sdp::ExtMap& e : m.extensions) {
      if (e.id == 0 || e.id > 255) return std::nullopt;
      const auto id = static_cast<uint8_t>(e.id);
      for (const auto& [other_id, other_uri] : uris) {
        if ((other_id == id) != (other_uri == e.uri)) return std::nullopt;
      }
      uris.emplace(id, e.uri);
    }
  }
  return uris;
}


// The answer's candidates: the negotiator writes the UDP one; ICE-TCP's passive candidate (RFC 6544
// 4.5: port as the listening port, "tcptype passive") goes after it, priced RFC 6544 4.2-style
// (type preference 90 below host UDP's 126, local preference 2^13 * 4 (passive) + 8191), and the
// UDP line goes when `udp` is false (test only).
std::string with_tcp_candidate(std::string sdp, const ice::TransportAddress& udp_address,
                               const std::optional<ice::TransportAddress>& tcp_address, bool udp) {
  ice::Candidate udp_host;
  udp_host.foundation = "1";
  udp_host.priority = ice::candidate_priority(ice::CandidateType::kHost, 65535, 1);
  udp_host.address = udp_address;
  std::string udp_line("a=candidate:");
  udp_line.append(sdp::SdpCandidate{udp_host, "udp", {}}.to_value()).append("\r\n");
  const size_t at = sdp.find(udp_line);
  if (at == std::string::npos) return sdp;
  std::string tcp_line;
  if (tcp_address) {
    ice::Candidate tcp_host;
    tcp_host.foundation = "2";
    tcp_host.priority = (uint32_t{90} << 24) | (uint32_t{(1u << 13) * 4 + 8191} << 8) | (256 - 1);
    tcp_host.address = *tcp_address;
    tcp_line.append("a=candidate:")
        .append(sdp::SdpCandidate{tcp_host, "tcp", {{"tcptype", "passive"}}}.to_value())
        .append("\r\n");
  }
  sdp.replace(at, udp_line.size(), udp ? udp_line + tcp_line : tcp_line);
  return sdp;
}

}  // namespace

using Published = PublishedMedia;

// The SSRCs a simulcast publisher's video gets on the subscribers' side: base + 2 x session id
// (media), + 1 (RTX). A clash with a publisher's own SSRC is refused by the router (409).
constexpr uint32_t kSimulcastSsrcBase = 0x6C00'0000u;

struct SfuServer::Room {
  struct Publisher {
    SessionId id = 0;
    Published media;
  };
  std::vector<Publisher> publishers;  // one; two in a call room
  std::vector<SessionId> subscribers;

};

struct SfuServer::Session {
  SessionId id = 0;
  SessionRole role = SessionRole::kPublisher;
  std::string room;
  std::string ufrag;
  std::string remote_ufrag;  // the client's current ICE ufrag
  std::unique_ptr<SfuSession> transport;
  std::unique_ptr<RouterInput> input;
  pipeline::MediaRouter::LegId leg = 0;
  Timestamp created;
  std::optional<TransportAddress> routed_address;
  SessionId watching = 0;  // a subscriber's publisher
  // ICE restarts: the previous generation's ufrag while it is still routed, the count, and the
  // times of the last ones (at most max_restarts_per_minute entries: the rate limit's window).
  std::optional<std::string> old_ufrag;
  uint64_t restarts = 0;
  std::vector<Timestamp> restart_times;
  ice::Candidate host;  // the answer's one candidate
  std::string kind;     // the answer's first (BUNDLE-tagged) section
  std::string mid;
  // ICE-TCP connections bound to this session: the peer's address -> connection (a few at most:
  // each is one of the server's bounded streams).
  std::vector<std::pair<ice::TransportAddress, ConnectionId>> connections;
  bool pending = false;  // in SfuServer::pending_: it queued datagrams since take_outgoing() last took it
};

// A session's decrypted RTP/RTCP into its router leg (a publisher's RTP through its bitrate policer,
// then past the media tap).
class SfuServer::RouterInput final : public SfuSession::MediaPacketSink {
 public:
  RouterInput(pipeline::MediaRouter& router, pipeline::MediaRouter::LegId leg, MediaTap* tap, SessionId id,
              std::optional<DataRate> police_at)
      : router_(router), leg_(leg), tap_(tap), id_(id) {
    if (police_at) policer_.emplace(*police_at, TimeDelta::Seconds(1));
  }
  void on_media(std::span<const uint8_t> packet, Timestamp now) override {
    const bool rtcp = rtp::is_rtcp(packet);
    if (!rtcp && policer_) {
      const DataSize size = DataSize::Bytes(static_cast<int64_t>(packet.size()));
      if (!policer_->available(size, now)) {
        ++policed_packets;
        policed_bytes += packet.size();
        return;  // over the session's limit: the router never sees it (the publisher's NACKs may ask again)
      }
      policer_->take(size);
    }
    if (tap_ != nullptr) {
      if (rtcp) {
        tap_->on_publisher_rtcp(id_, packet, now);
      } else {
        tap_->on_publisher_rtp(id_, packet, now);
      }
    }
    router_.on_packet(leg_, packet, now);
    if (tap_ != nullptr && !rtcp) {
      // The tap's own keyframe requests, for this publisher's streams only (its leg).
      for (const MediaTap::KeyframeRequest& r : tap_->take_keyframe_requests()) {
        if (r.publisher == id_) (void)router_.request_keyframe(leg_, r.ssrc, now);
      }
    }
  }

  // RTP dropped by the policer (publishers with a bitrate limit).
  uint64_t policed_packets = 0, policed_bytes = 0;
  bool policed() const { return policer_.has_value(); }

 private:
  pipeline::MediaRouter& router_;
  pipeline::MediaRouter::LegId leg_;
  MediaTap* tap_;  // publishers only
  SessionId id_;
  std::optional<pipeline::PaddingBudget> policer_;  // a token bucket of the policed rate, one second deep
};

Result<std::unique_ptr<SfuServer>> SfuServer::Create(SfuConfig config) {
  if (config.address.port == 0) return Error{"sfu: the UDP socket's address needs a port"};
  if (config.max_sessions == 0 || config.max_subscribers_per_room == 0 || config.max_outgoing == 0)
    return Error{"sfu: bounds must be positive"};
  if (!config.certificate) {
    auto cert = dtls::DtlsCertificate::Generate("tern-sfu");
    if (!cert) return Error{cert.error()};
    config.certificate = std::move(cert).value();
  }
  std::unique_ptr<SfuServer> s(new SfuServer(std::move(config)));
  pipeline::MediaRouter::Config rc;
  rc.extension_ids = s->config_.extension_ids;
  rc.ntp_clock = s->config_.ntp_clock;
  rc.seed = s->config_.seed;
  rc.keyframe_request_interval = s->config_.keyframe_request_interval;
  rc.max_legs = s->config_.max_sessions;
  rc.subscriber_probing = s->config_.subscriber_probing;
  rc.probe_budget_per_leg = s->config_.probe_budget_per_session;
  rc.probe_budget_total = s->config_.probe_budget_total;
  rc.subscriber_start_rate = s->config_.subscriber_start_rate;
  rc.buffers = &s->buffers_;
  auto router = pipeline::MediaRouter::Create(rc);
  if (!router) return Error{router.error()};
  s->router_ = std::move(router).value();
  return s;
}

SfuServer::SfuServer(SfuConfig config) : config_(std::move(config)) {}

SfuServer::~SfuServer() = default;

std::variant<SfuAnswer, SfuRefusal> SfuServer::publish(std::string_view room, std::string_view offer, Timestamp now) {
  return admit(SessionRole::kPublisher, room, std::nullopt, offer, now);
}

std::variant<SfuAnswer, SfuRefusal> SfuServer::subscribe(std::string_view room, std::string_view offer, Timestamp now) {
  return admit(SessionRole::kSubscriber, room, std::nullopt, offer, now);
}

std::variant<SfuAnswer, SfuRefusal> SfuServer::subscribe_peer(SessionId self, std::string_view offer, Timestamp now) {
  auto it = sessions_.find(self);
  if (config_.room_mode != RoomMode::kCall || it == sessions_.end() || it->second->role != SessionRole::kPublisher) {
    ++counters_.sessions_refused;
    return SfuRefusal{404, "not a publisher of a call room"};
  }
  const std::string room = it->second->room;  // admit() may add sessions: no reference into them
  return admit(SessionRole::kSubscriber, room, self, offer, now);
}

std::variant<SfuAnswer, SfuRefusal> SfuServer::admit(SessionRole role, std::string_view room_name, std::optional<SessionId> self,
                                                     std::string_view offer, Timestamp now) {
  auto refuse = [&](int status, std::string reason) -> std::variant<SfuAnswer, SfuRefusal> {
    ++counters_.sessions_refused;
    return SfuRefusal{status, std::move(reason)};
  };
  if (draining_) return refuse(503, "the server is draining");
  if (!valid_room(room_name, config_.max_room_name)) return refuse(400, "a room name is 1..64 of [A-Za-z0-9._-]");
  if (sessions_.size() >= config_.max_sessions) return refuse(503, "too many sessions on this server");
  const bool publisher = role == SessionRole::kPublisher;
  const bool call = config_.room_mode == RoomMode::kCall;
  auto room_it = rooms_.find(room_name);
  const size_t publishers = room_it == rooms_.end() ? 0 : room_it->second.publishers.size();
  if (publisher && publishers >= (call ? 2u : 1u))
    return refuse(409, call ? "the call room is full (two publishers)" : "the room already has a publisher");
  if (publisher && config_.max_publisher_bitrate > DataRate::Zero() && config_.max_total_publisher_bitrate > DataRate::Zero()) {
    size_t all_publishers = 0;
    for (const auto& [name, r] : rooms_) all_publishers += r.publishers.size();
    if (config_.max_publisher_bitrate * static_cast<double>(all_publishers + 1) > config_.max_total_publisher_bitrate) {
      ++counters_.publishers_refused_bitrate;
      return refuse(503, "the server's publishing bitrate is taken: " + std::to_string(all_publishers) + " publishers of " +
                             std::to_string(config_.max_publisher_bitrate.kbps()) + " kbps each (at most " +
                             std::to_string(config_.max_total_publisher_bitrate.kbps()) + " kbps together)");
    }
  }
  // The publisher a subscriber watches: the room's only one, or the other side of `self`'s call.
  const Room::Publisher* watched = nullptr;
  if (!publisher) {
    if (room_it != rooms_.end()) {
      for (const Room::Publisher& p : room_it->second.publishers) {
        if (self && p.id == *self) continue;
        if (watched != nullptr)
          return refuse(409, "the call room has two publishers: subscribe to the other side at /whep/<your WHIP resource id>");
        watched = &p;
      }
    }
    if (watched == nullptr) return refuse(404, self ? "the other side of the call has not published yet" : "no publisher in this room");
    if (room_it->second.subscribers.size() >= config_.max_subscribers_per_room)
      return refuse(503, "the room has its maximum of subscribers");
  }
  auto parsed = sdp::SessionDescription::parse(offer);
  if (!parsed) return refuse(400, std::string("the offer is not SDP: ") + parsed.error());

  const SessionId id = next_id_;
  sdp::LocalCapabilities local;
  local.data = false;
  local.video_fec = false;
  local.audio_red = false;
  local.remb = publisher;  // a publisher without transport-cc gets REMB (MediaRouter::set_send_remb)
  local.ice_ufrag = random_ice_chars(8);
  local.ice_pwd = random_ice_chars(24);
  if (local.ice_ufrag.size() != 8 || local.ice_pwd.size() != 24 || by_ufrag_.count(local.ice_ufrag) != 0)
    return refuse(503, "no fresh ICE credentials (random source)");
  local.ice_trickle = false;
  ice::Candidate host;
  host.foundation = "1";
  host.component = 1;
  host.type = ice::CandidateType::kHost;
  host.priority = ice::candidate_priority(ice::CandidateType::kHost, 65535, 1);
  host.address = config_.address;
  local.candidates = {host};
  local.end_of_candidates = true;
  // The answer's candidate lines as the negotiator writes them: only UDP; ICE-TCP is added below.
  if (!config_.udp_candidate && !config_.tcp_address) return refuse(422, "no candidate to offer");
  local.fingerprint = config_.certificate->fingerprint();
  local.session_id = std::to_string(id);
  local.cname = "tern-sfu";
  const Published* source = publisher ? nullptr : &watched->media;
  if (publisher) {
    local.send_audio = false;
    local.send_video = false;
    local.simulcast_receive = true;  // a=simulcast:recv, rids learned from the rid extension
  } else {
    local.send_audio = source->audio.has_value();
    local.send_video = source->video.has_value();
    local.vp8 = source->video_codec == codecs::CodecType::kVp8;
    local.vp9 = source->video_codec == codecs::CodecType::kVp9;
    local.rtx = source->video && source->video->rtx_ssrc.has_value();
    if (source->audio) local.audio_ssrc = source->audio->ssrc;
    if (source->video) local.video_ssrc = source->video->ssrc;
    if (source->video && source->video->rtx_ssrc) local.video_rtx_ssrc = *source->video->rtx_ssrc;
    // The SSRCs the publisher does not send keep LocalCapabilities' defaults, which may be ones it
    // does send (a video-only publisher whose video SSRC is the default audio one): move them clear,
    // or create_answer() refuses every subscriber of that room.
    std::set<uint32_t> used;
    if (source->audio) used.insert(local.audio_ssrc);
    if (source->video) used.insert(local.video_ssrc);
    if (source->video && source->video->rtx_ssrc) used.insert(local.video_rtx_ssrc);
    auto clear_of_used = [&](uint32_t& ssrc) {
      while (ssrc == 0 || used.count(ssrc) != 0) ++ssrc;
      used.insert(ssrc);
    };
    if (!source->audio) clear_of_used(local.audio_ssrc);
    if (!source->video) clear_of_used(local.video_ssrc);
    if (!(source->video && source->video->rtx_ssrc)) clear_of_used(local.video_rtx_ssrc);
    local.cname = source->cname.empty() ? "tern-sfu" : source->cname;
    local.stream_id = "tern-sfu-" + std::string(room_name);
  }
  auto answer = sdp::create_answer(*parsed, local);
  if (!answer) return refuse(400, std::string("the offer breaks JSEP: ") + answer.error());
  const sdp::NegotiatedSession& n = answer->negotiated;
  const sdp::NegotiatedMedia* audio = n.find(sdp::MediaKind::kAudio);
  const sdp::NegotiatedMedia* video = n.find(sdp::MediaKind::kVideo);
  // Its own ids: the router stamps, reads and rewrites forwarded packets with them (per leg).
  const std::optional<pipeline::MediaRouter::ExtensionUris> extensions = leg_extensions(n);
  if (!extensions) return refuse(422, "the offer maps one header extension id to two URIs (or one URI to two ids)");

  std::vector<pipeline::MediaRouter::ForwardedStream> inbound;
  std::vector<pipeline::MediaRouter::ForwardedStream> outbound;
  Published published;
  bool remb_only = false;  // the publisher's video negotiated goog-remb and not transport-cc
  if (publisher) {
    published.cname = n.media.empty() ? "" : n.media.front().remote_cname;
    if (audio != nullptr && audio->accepted && sdp::receives(audio->direction) && audio->remote_ssrc && !audio->codecs.empty()) {
      pipeline::MediaRouter::ForwardedStream f;
      f.ssrc = *audio->remote_ssrc;
      f.media_payload_type = audio->codecs.front().payload_type;
      f.clock_rate = 48000;
      f.nack = false;
      published.audio = f;
      published.cname = audio->remote_cname;
      inbound.push_back(f);
    }
    const bool simulcast = video != nullptr && !video->remote_rids.empty();
    if (video != nullptr && video->accepted && sdp::receives(video->direction) && (video->remote_ssrc || simulcast) &&
        !video->codecs.empty()) {
      const sdp::NegotiatedCodec& c = video->codecs.front();
      pipeline::MediaRouter::ForwardedStream f;
      f.ssrc = video->remote_ssrc.value_or(0);  // a rid-only simulcast offer has none: set below
      f.media_payload_type = c.payload_type;
      f.codec = c.codec;  // temporal layers selected per subscriber (VP8/VP9)
      remb_only = c.feedback.remb && !c.feedback.transport_cc;
      f.clock_rate = 90000;
      f.nack = c.feedback.nack && c.rtx_payload_type && video->remote_rtx_ssrc;
      if (f.nack) {
        f.rtx_ssrc = *video->remote_rtx_ssrc;
        f.rtx_payload_type = *c.rtx_payload_type;
      }
      if (simulcast) {
        // RFC 8853 simulcast: the encodings' SSRCs are learned from the rid extension; the SSRCs
        // subscribers get (one encoding each) are the server's.
        f.rids = video->remote_rids;
        for (const sdp::ExtMap& e : video->extensions) {
          if (e.uri == rtp::RtpStreamId::kUri) f.rid_extension_id = static_cast<uint8_t>(e.id);
          if (e.uri == rtp::RepairedRtpStreamId::kUri) f.repaired_rid_extension_id = static_cast<uint8_t>(e.id);
        }
        if (f.rid_extension_id == 0 || f.rid_extension_id > 14)
          return refuse(422, "the offer's simulcast has no rtp-stream-id extension (one-byte id)");
        f.ssrc = kSimulcastSsrcBase + static_cast<uint32_t>(id & 0x00FF'FFFF) * 2;
        f.nack = c.feedback.nack && c.rtx_payload_type && f.repaired_rid_extension_id != 0;
        f.rtx_ssrc.reset();
        if (f.nack) {
          f.rtx_ssrc = f.ssrc + 1;
          f.rtx_payload_type = *c.rtx_payload_type;
        }
      }
      published.video = f;
      published.video_codec = c.codec;
      if (published.cname.empty()) published.cname = video->remote_cname;
      inbound.push_back(f);
    }
    if (inbound.empty())
      return refuse(422, "the offer sends no Opus, VP8 or VP9 with a signalled SSRC (unsignalled streams are not supported)");
  } else {
    if (source->audio) {
      if (audio == nullptr || !audio->accepted || !sdp::sends(audio->direction) || audio->codecs.empty())
        return refuse(422, "the offer does not receive the room's audio");
      pipeline::MediaRouter::ForwardedStream f = *source->audio;
      f.media_payload_type = audio->codecs.front().payload_type;  // the router rewrites to it
      outbound.push_back(f);
    }
    if (source->video) {
      if (video == nullptr || !video->accepted || !sdp::sends(video->direction) || video->codecs.empty())
        return refuse(422, "the offer does not receive the room's video codec");
      const sdp::NegotiatedCodec& c = video->codecs.front();
      pipeline::MediaRouter::ForwardedStream f = *source->video;
      f.media_payload_type = c.payload_type;  // the subscriber's numbers: the router rewrites to them
      // No NACK/RTX toward a subscriber that did not negotiate them; RTX on its own RTX type.
      if (f.rtx_ssrc && c.feedback.nack && c.rtx_payload_type) {
        f.rtx_payload_type = *c.rtx_payload_type;
      } else {
        f.nack = false;
        f.rtx_ssrc.reset();
      }
      outbound.push_back(f);
    }
  }

  SfuSessionConfig sc;
  sc.local = {local.ice_ufrag, local.ice_pwd};
  sc.remote = {n.remote_ice_ufrag, n.remote_ice_pwd};
  sc.server_address = config_.address;
  sc.tcp_address = config_.tcp_address;
  sc.certificate = config_.certificate;
  sc.remote_fingerprint = n.remote_fingerprint;
  sc.role = n.dtls_role;
  sc.srtp_backend = config_.srtp_backend;
  sc.seed = config_.seed * 7919 + id;
  auto transport = SfuSession::Create(sc, now);
  if (!transport) return refuse(422, std::string("the session cannot be set up: ") + transport.error());
  const uint32_t rtcp_ssrc = 0x5F00'0000u + static_cast<uint32_t>(id & 0x00FF'FFFF);
  auto leg = router_->add_leg(rtcp_ssrc, (*transport)->media_out(), inbound, extensions);
  if (!leg) return refuse(publisher ? 409 : 422, leg.error());
  if (remb_only) (void)router_->set_send_remb(*leg, true);
  for (const auto& f : outbound) {
    if (Status st = router_->add_outbound(*leg, f); !st) {
      router_->remove_leg(*leg);
      return refuse(422, st.error());
    }
  }

  auto session = std::make_unique<Session>();
  session->id = id;
  session->role = role;
  session->room = std::string(room_name);
  session->ufrag = local.ice_ufrag;
  session->host = host;
  session->remote_ufrag = n.remote_ice_ufrag;
  if (!answer->description.media.empty()) {
    session->kind = answer->description.media.front().media;
    session->mid = std::string(answer->description.media.front().value("mid").value_or(""));
  }
  session->transport = std::move(transport).value();
  session->leg = *leg;
  std::optional<DataRate> police_at;
  if (publisher && config_.max_publisher_bitrate > DataRate::Zero())
    police_at = config_.max_publisher_bitrate * std::max(1.0, config_.publisher_policer_headroom);
  session->input = std::make_unique<RouterInput>(*router_, *leg, publisher ? config_.media_tap : nullptr, id, police_at);
  session->transport->set_media_sink(session->input.get());
  session->transport->set_outgoing_notify([this, s = session.get()] {
    if (s->pending) return;
    s->pending = true;
    pending_.push_back(s);
  });
  session->created = now;
  Room& room = rooms_[std::string(room_name)];
  if (publisher) {
    room.publishers.push_back({id, published});
  } else {
    session->watching = watched->id;
    room.subscribers.push_back(id);
  }
  by_ufrag_[session->ufrag] = id;
  collect(*session);
  wakes_.push_back(SessionWake{id, session.get()});  // ids only grow: the array stays in id order
  sessions_.emplace(id, std::move(session));
  ++next_id_;
  ++counters_.sessions_created;
  if (publisher && config_.media_tap != nullptr) config_.media_tap->on_publisher_started(id, room_name, published, now);

  sdp::SessionDescription description = answer->description;
  description.add("ice-lite");  // RFC 8839 5.3: session level
  if (publisher && config_.max_publisher_bitrate > DataRate::Zero()) {
    // RFC 3890 b=TIAS (bps, without IP/UDP) and RFC 8866 b=AS (kbps), after any c= line: the
    // publisher's send limit for its video (Chromium and Firefox cap their encoders at it).
    for (sdp::MediaSection& m : description.media) {
      if (m.media != "video" || m.port == 0) continue;
      std::erase_if(m.lines, [](const sdp::Line& l) { return l.type == 'b'; });
      m.lines.push_back({'b', "AS:" + std::to_string(config_.max_publisher_bitrate.kbps())});
      m.lines.push_back({'b', "TIAS:" + std::to_string(config_.max_publisher_bitrate.bps())});
    }
  }
  return SfuAnswer{id, with_tcp_candidate(description.to_string(), config_.address, config_.tcp_address,
                                          config_.udp_candidate)};
}

bool SfuServer::end_session(SessionId id, Timestamp now) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return false;
  it->second->transport->close(now);
  collect(*it->second);
  remove(id, now);
  ++counters_.sessions_ended;
  return true;
}

std::variant<SfuRestart, SfuRefusal> SfuServer::restart(SessionId id, const ice::IceCredentials& remote, Timestamp now) {
  auto refuse = [this](int status, std::string reason) {
    ++counters_.ice_restarts_refused;
    return SfuRefusal{status, std::move(reason)};
  };
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return refuse(404, "no such session");
  Session& s = *it->second;
  // RFC 8839 5.4's lengths (the agent would silently replace illegal local ones; remote ones it takes).
  if (remote.ufrag.size() < 4 || remote.ufrag.size() > 256 || remote.pwd.size() < 22 || remote.pwd.size() > 256)
    return refuse(400, "an ICE restart needs a ufrag of 4..256 and a pwd of 22..256 characters");
  if (remote.ufrag == s.remote_ufrag) return refuse(400, "the fragment's ufrag is the current one: not a restart");
  std::erase_if(s.restart_times, [&](Timestamp t) { return now - t >= TimeDelta::Seconds(60); });
  if (s.restart_times.size() >= config_.max_restarts_per_minute) return refuse(429, "too many ICE restarts; retry later");
  ice::IceCredentials local{random_ice_chars(8), random_ice_chars(24)};
  if (local.ufrag.size() != 8 || local.pwd.size() != 24 || by_ufrag_.count(local.ufrag) != 0)
    return refuse(503, "no fresh ICE credentials (random source)");
  // One generation back stays routed (the agent answers it too); an older one goes now.
  if (s.old_ufrag) by_ufrag_.erase(*s.old_ufrag);
  s.old_ufrag = s.ufrag;
  s.ufrag = local.ufrag;
  by_ufrag_[s.ufrag] = id;
  s.remote_ufrag = remote.ufrag;
  s.transport->restart_ice(local, remote, now);
  touch(id);
  collect(s);
  s.restart_times.push_back(now);
  ++s.restarts;
  ++counters_.ice_restarts;
  return SfuRestart{local, s.host, s.kind, s.mid};
}

uint64_t SfuServer::ice_restarts(SessionId id) const {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? 0 : it->second->restarts;
}

std::vector<SessionId> SfuServer::take_ended() { return std::exchange(ended_, {}); }

void SfuServer::drain(Timestamp now) {
  draining_ = true;
  std::vector<SessionId> ids;
  for (const auto& [id, s] : sessions_) ids.push_back(id);
  for (SessionId id : ids) {
    if (end_session(id, now)) ended_.push_back(id);
  }
}

void SfuServer::remove(SessionId id, Timestamp now) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  Session& s = *it->second;
  if (s.role == SessionRole::kPublisher && config_.media_tap != nullptr) config_.media_tap->on_publisher_ended(id, now);
  router_->remove_leg(s.leg);
  by_ufrag_.erase(s.ufrag);
  if (s.old_ufrag) by_ufrag_.erase(*s.old_ufrag);
  for (const auto& [peer, connection] : s.connections) {  // collect() already framed its close_notify
    streams_.erase(connection);
    closed_streams_.push_back(connection);
  }
  if (s.routed_address) {
    auto a = by_address_.find(*s.routed_address);
    if (a != by_address_.end() && a->second == id) by_address_.erase(a);
  }
  auto room = rooms_.find(s.room);
  if (room != rooms_.end()) {
    Room& r = room->second;
    // A publisher's subscribers stay; they get nothing more (a call side that publishes again is a
    // new publisher: its peer subscribes again).
    std::erase_if(r.publishers, [id](const Room::Publisher& p) { return p.id == id; });
    std::erase(r.subscribers, id);
    if (r.publishers.empty() && r.subscribers.empty()) rooms_.erase(room);
  }
  if (s.pending) std::erase(pending_, &s);
  std::erase_if(wakes_, [id](const SessionWake& w) { return w.id == id; });
  sessions_.erase(it);
}

void SfuServer::collect(Session& s) {
  for (ice::IceOutgoing& o : s.transport->take_outgoing()) {
    if (outgoing_.size() >= config_.max_outgoing) {
      ++counters_.outgoing_dropped;
      continue;
    }
    if (o.socket != SfuSession::kTcpSocket) {
      outgoing_.push_back({o.destination, std::move(o.data), 0});
      continue;
    }
    ConnectionId connection = 0;
    for (const auto& [peer, c] : s.connections)
      if (peer == o.destination) connection = c;
    if (connection == 0 || o.data.size() > 0xFFFF) {
      ++counters_.tcp_outgoing_unroutable;
      continue;
    }
    std::vector<uint8_t> framed;  // RFC 4571: a 16-bit big-endian length, then the packet
    framed.reserve(o.data.size() + 2);
    framed.push_back(static_cast<uint8_t>(o.data.size() >> 8));
    framed.push_back(static_cast<uint8_t>(o.data.size() & 0xFF));
    framed.insert(framed.end(), o.data.begin(), o.data.end());
    outgoing_.push_back({o.destination, std::move(framed), connection});
  }
}

StreamVerdict SfuServer::on_stream_opened(ConnectionId connection, const ice::TransportAddress& source, Timestamp now) {
  if (connection == 0 || streams_.count(connection) != 0 || !config_.tcp_address || draining_ ||
      streams_.size() >= config_.max_tcp_connections) {
    ++counters_.tcp_connections_refused;
    return StreamVerdict::kClose;
  }
  ++counters_.tcp_connections_accepted;
  streams_.emplace(connection, Stream{source, now, 0, {}});
  return StreamVerdict::kKeep;
}

StreamVerdict SfuServer::on_stream_bytes(ConnectionId connection, std::span<const uint8_t> bytes, Timestamp now) {
  auto it = streams_.find(connection);
  if (it == streams_.end()) return StreamVerdict::kClose;
  // Whole frames straight from `bytes` where the buffer is empty; the rest kept (one partial frame).
  size_t pos = 0;
  while (true) {
    Stream& st = it->second;
    if (!st.buffer.empty()) {
      const size_t need_header = st.buffer.size() < 2 ? 2 - st.buffer.size() : 0;
      const size_t take_header = std::min(need_header, bytes.size() - pos);
      st.buffer.insert(st.buffer.end(), bytes.begin() + pos, bytes.begin() + pos + take_header);
      pos += take_header;
      if (st.buffer.size() < 2) return StreamVerdict::kKeep;
      const size_t total = 2 + ((size_t{st.buffer[0]} << 8) | st.buffer[1]);
      const size_t take = std::min(total - st.buffer.size(), bytes.size() - pos);
      st.buffer.insert(st.buffer.end(), bytes.begin() + pos, bytes.begin() + pos + take);
      pos += take;
      if (st.buffer.size() < total) return StreamVerdict::kKeep;
      std::vector<uint8_t> frame = std::exchange(st.buffer, {});
      if (on_frame(connection, st, std::span<const uint8_t>(frame).subspan(2), now) == StreamVerdict::kClose) {
        close_stream(connection);
        return StreamVerdict::kClose;
      }
      continue;
    }
    const size_t left = bytes.size() - pos;
    if (left == 0) return StreamVerdict::kKeep;
    if (left >= 2) {
      const size_t length = (size_t{bytes[pos]} << 8) | bytes[pos + 1];
      if (left >= 2 + length) {
        const auto frame = bytes.subspan(pos + 2, length);
        pos += 2 + length;
        if (on_frame(connection, st, frame, now) == StreamVerdict::kClose) {
          close_stream(connection);
          return StreamVerdict::kClose;
        }
        it = streams_.find(connection);  // on_frame never erases, but stay safe
        if (it == streams_.end()) return StreamVerdict::kClose;
        continue;
      }
    }
    st.buffer.assign(bytes.begin() + pos, bytes.end());  // < 2 + 65535 bytes: one partial frame
    return StreamVerdict::kKeep;
  }
}

StreamVerdict SfuServer::on_frame(ConnectionId connection, Stream& st, std::span<const uint8_t> frame, Timestamp now) {
  ++counters_.tcp_frames_received;
  if (st.session != 0) {
    auto s = sessions_.find(st.session);
    if (s == sessions_.end()) return StreamVerdict::kClose;
    s->second->transport->on_datagram(st.source, frame, now, SfuSession::kTcpSocket);
    touch(st.session);
    return StreamVerdict::kKeep;
  }
  // Unbound: only an authenticated Binding request of a known session's ufrag binds it.
  Session* target = nullptr;
  if (auto ufrag = binding_request_ufrag(frame)) {
    if (auto it = by_ufrag_.find(*ufrag); it != by_ufrag_.end()) target = sessions_.at(it->second).get();
  }
  const bool bound = target != nullptr && target->transport->on_datagram(st.source, frame, now, SfuSession::kTcpSocket);
  if (target != nullptr) touch(target->id);
  if (!bound) {
    ++counters_.tcp_garbage_closed;
    return StreamVerdict::kClose;
  }
  ++counters_.tcp_connections_bound;
  st.session = target->id;
  std::erase_if(target->connections, [&](const auto& c) { return c.first == st.source; });
  target->connections.emplace_back(st.source, connection);
  return StreamVerdict::kKeep;
}

void SfuServer::close_stream(ConnectionId connection) {
  auto it = streams_.find(connection);
  if (it == streams_.end()) return;
  if (it->second.session != 0) {
    if (auto s = sessions_.find(it->second.session); s != sessions_.end())
      std::erase_if(s->second->connections, [connection](const auto& c) { return c.second == connection; });
  }
  streams_.erase(it);
}

void SfuServer::on_stream_closed(ConnectionId connection) { close_stream(connection); }

std::vector<ConnectionId> SfuServer::take_closed_streams() { return std::exchange(closed_streams_, {}); }

void SfuServer::route_by_address(Session& s, const ice::TransportAddress& source) {
  const auto remote = s.transport->remote_address();
  if (!remote || !(*remote == source)) return;
  const TransportAddress key = ice::to_core(source);
  if (s.routed_address == key) return;
  auto existing = by_address_.find(key);
  if (existing != by_address_.end() && existing->second != s.id) return;  // another session's 5-tuple
  if (s.routed_address) by_address_.erase(*s.routed_address);
  by_address_[key] = s.id;
  s.routed_address = key;
}

void SfuServer::on_datagram(const ice::TransportAddress& source, std::span<const uint8_t> data, Timestamp now) {
  ++counters_.datagrams_received;
  Session* target = nullptr;
  bool new_generation = false;  // a request with the ufrag of a session's restart
  if (auto ufrag = binding_request_ufrag(data)) {
    if (auto it = by_ufrag_.find(*ufrag); it != by_ufrag_.end()) {
      target = sessions_.at(it->second).get();
      new_generation = target->old_ufrag && *ufrag == target->ufrag;
      ++counters_.routed_by_username;
    }
  } else if (auto it = by_address_.find(ice::to_core(source)); it != by_address_.end()) {
    target = sessions_.at(it->second).get();
    ++counters_.routed_by_address;
  }
  if (target == nullptr) {
    ++counters_.unauthenticated_dropped;
    return;
  }
  const uint64_t requests = target->transport->agent().stats().requests_received;
  target->transport->on_datagram(source, data, now);
  touch(target->id);
  route_by_address(*target, source);
  // The new generation's check authenticated from the pair that carries media (one it nominated,
  // or the old one kept): the restart is done and the old ufrag no longer routes.
  if (new_generation && target->transport->agent().stats().requests_received > requests &&
      target->transport->remote_address() == source) {
    by_ufrag_.erase(*target->old_ufrag);
    target->old_ufrag.reset();
  }
}

void SfuServer::recycle(std::vector<SfuOutgoing>&& sent) {
  for (SfuOutgoing& o : sent) buffers_.give(std::move(o.data));
  sent.clear();
}

std::vector<SfuOutgoing> SfuServer::take_outgoing() {
  // Only the sessions that queued something since the last call (in the order they did), not
  // every session: this runs after every batch of datagrams.
  for (Session* s : pending_) {
    s->pending = false;
    collect(*s);
  }
  pending_.clear();
  counters_.datagrams_sent += outgoing_.size();
  std::vector<SfuOutgoing> out = std::exchange(outgoing_, {});
  outgoing_.reserve(out.size());  // room for as many next time: one allocation, not a doubling series
  return out;
}

void SfuServer::touch(SessionId id) {
  auto it = std::lower_bound(wakes_.begin(), wakes_.end(), id, [](const SessionWake& w, SessionId i) { return w.id < i; });
  if (it != wakes_.end() && it->id == id) it->dirty = true;
}

void SfuServer::refresh(SessionWake& w) const {
  const SfuSession& t = *w.session->transport;
  Timestamp at = t.connected() ? t.last_received().value_or(w.session->created) + config_.idle_timeout
                               : w.session->created + config_.connect_timeout;
  if (auto own = t.next_wakeup(); own && *own < at) at = *own;
  w.at = at;
  w.failed = t.failed();
  w.dirty = false;
}

std::optional<Timestamp> SfuServer::next_wakeup() const {
  std::optional<Timestamp> at = router_->next_wakeup();
  auto earliest = [&at](std::optional<Timestamp> t) {
    if (t && (!at || *t < *at)) at = t;
  };
  for (SessionWake& w : wakes_) {
    if (w.dirty) refresh(w);
    earliest(w.at);
  }
  for (const auto& [c, st] : streams_)
    if (st.session == 0) earliest(st.opened + config_.tcp_unbound_timeout);
  return at;
}

void SfuServer::process(Timestamp now) {
  if (auto at = router_->next_wakeup(); at && *at <= now) router_->process(now);
  std::vector<std::pair<SessionId, bool>> ending;  // id, failed (else timed out)
  // The sessions with something due or failed (the others would do nothing here), in id order.
  for (SessionWake& w : wakes_) {
    if (w.dirty) refresh(w);
    if (!(w.at <= now) && !w.failed) continue;
    Session& s = *w.session;
    SfuSession& t = *s.transport;
    if (auto at = t.next_wakeup(); at && *at <= now) t.process(now);
    refresh(w);
    if (t.failed()) {
      ending.emplace_back(w.id, true);
    } else if (!t.connected() ? now - s.created >= config_.connect_timeout
                              : now - t.last_received().value_or(s.created) >= config_.idle_timeout) {
      ending.emplace_back(w.id, false);
    }
  }
  for (const auto& [id, failed] : ending) {
    Session& s = *sessions_.at(id);
    s.transport->close(now);
    collect(s);
    remove(id, now);
    ++(failed ? counters_.sessions_failed : counters_.sessions_timed_out);
    ended_.push_back(id);
  }
  for (auto it = streams_.begin(); it != streams_.end();) {
    if (it->second.session == 0 && now - it->second.opened >= config_.tcp_unbound_timeout) {
      ++counters_.tcp_unbound_timed_out;
      closed_streams_.push_back(it->first);
      it = streams_.erase(it);
    } else {
      ++it;
    }
  }
}

const SfuSession* SfuServer::session(SessionId id) const {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second->transport.get();
}

pipeline::MediaRouter::LegCounters SfuServer::leg_counters(SessionId id) const {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? pipeline::MediaRouter::LegCounters{} : router_->counters(it->second->leg);
}

std::string SfuServer::prometheus_metrics() const {
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out += "# HELP tern_sfu_";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE tern_sfu_";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
  };
  auto sample = [&](const char* name, const std::string& labels, double value) {
    out += "tern_sfu_";
    out += name;
    out += labels;
    out += ' ';
    char number[32];
    std::snprintf(number, sizeof(number), "%.17g", value);
    out += number;
    out += '\n';
  };
  auto server = [&](const char* name, const char* type, const char* help, double value) {
    family(name, type, help);
    sample(name, "", value);
  };
  const SfuCounters& c = counters_;
  server("datagrams_received_total", "counter", "UDP datagrams received.", double(c.datagrams_received));
  server("datagrams_sent_total", "counter", "UDP datagrams sent.", double(c.datagrams_sent));
  server("unauthenticated_dropped_total", "counter",
         "Datagrams dropped: unknown 5-tuple and not a STUN request for a known ufrag.", double(c.unauthenticated_dropped));
  server("outgoing_dropped_total", "counter", "Datagrams dropped with the outgoing queue full.", double(c.outgoing_dropped));
  if (config_.tcp_address) {
    server("tcp_connections", "gauge", "ICE-TCP connections open.", double(streams_.size()));
    server("tcp_connections_accepted_total", "counter", "ICE-TCP connections accepted.", double(c.tcp_connections_accepted));
    server("tcp_connections_bound_total", "counter", "ICE-TCP connections bound to a session.", double(c.tcp_connections_bound));
    server("tcp_garbage_closed_total", "counter", "ICE-TCP connections closed: first frame not an authenticated check.",
           double(c.tcp_garbage_closed));
  }
  server("sessions_created_total", "counter", "Sessions admitted.", double(c.sessions_created));
  server("sessions_refused_total", "counter", "Offers refused.", double(c.sessions_refused));
  server("publishers_refused_bitrate_total", "counter", "Publishers refused: the server's publishing bitrate taken.",
         double(c.publishers_refused_bitrate));
  server("sessions_failed_total", "counter", "Sessions ended by an ICE, DTLS or SRTP failure.", double(c.sessions_failed));
  server("sessions_timed_out_total", "counter", "Sessions ended by the connect or idle timeout.", double(c.sessions_timed_out));
  server("ice_restarts_total", "counter", "ICE restarts applied (WHIP/WHEP PATCH).", double(c.ice_restarts));
  server("ice_restarts_refused_total", "counter", "ICE restarts refused (unknown session, bad credentials, rate).",
         double(c.ice_restarts_refused));
  server("sessions", "gauge", "Sessions now.", double(sessions_.size()));
  server("rooms", "gauge", "Rooms now.", double(rooms_.size()));
  server("draining", "gauge", "1 while the server drains.", draining_ ? 1.0 : 0.0);

  // Per session: one family at a time (the format wants a family's samples together).
  struct Row {
    std::string labels;
    SfuSessionCounters session;
    pipeline::MediaRouter::LegCounters leg;
    uint64_t restarts = 0;
    std::optional<uint64_t> policed_packets;  // publishers with a bitrate limit
  };
  std::vector<Row> rows;
  for (const auto& [id, s] : sessions_) {
    // Room names are [A-Za-z0-9._-] (valid_room): nothing to escape in a label value.
    rows.push_back({"{session=\"" + std::to_string(id) + "\",room=\"" + s->room + "\",role=\"" +
                         std::string(to_string(s->role)) + "\"}",
                    s->transport->counters(), router_->counters(s->leg), s->restarts,
                    s->input->policed() ? std::optional(s->input->policed_packets) : std::nullopt});
  }
  auto per_session = [&](const char* name, const char* type, const char* help, auto value) {
    family(name, type, help);
    for (const Row& r : rows) {
      if (auto v = value(r)) sample(name, r.labels, *v);
    }
  };
  using V = std::optional<double>;
  per_session("session_rtp_packets_received_total", "counter", "RTP packets received from the session.",
              [](const Row& r) { return V(double(r.leg.rtp_packets_received)); });
  per_session("session_packets_forwarded_total", "counter", "RTP packets forwarded to the session.",
              [](const Row& r) { return V(double(r.leg.packets_forwarded)); });
  per_session("session_nacks_sent_total", "counter", "NACK packets sent to the session.",
              [](const Row& r) { return V(double(r.leg.nacks_sent)); });
  per_session("session_nacked_packets_received_total", "counter", "Sequence numbers the session NACKed.",
              [](const Row& r) { return V(double(r.leg.nacked_packets_received)); });
  per_session("session_retransmissions_sent_total", "counter", "RTX packets sent to the session.",
              [](const Row& r) { return V(double(r.leg.retransmissions_sent)); });
  per_session("session_keyframe_requests_forwarded_total", "counter", "PLI/FIR from the session passed upstream.",
              [](const Row& r) { return V(double(r.leg.keyframe_requests_forwarded)); });
  per_session("session_keyframe_requests_suppressed_total", "counter", "PLI/FIR from the session held by the rate limit.",
              [](const Row& r) { return V(double(r.leg.keyframe_requests_suppressed)); });
  per_session("session_transport_feedback_received_total", "counter", "transport-cc feedback packets from the session.",
              [](const Row& r) { return V(double(r.leg.transport_feedback_received)); });
  per_session("session_ice_restarts_total", "counter", "ICE restarts of the session.",
              [](const Row& r) { return V(double(r.restarts)); });
  per_session("session_srtp_unprotect_failures_total", "counter", "SRTP/SRTCP packets from the session that failed.",
              [](const Row& r) { return V(double(r.session.srtp_unprotect_failures)); });
  per_session("session_round_trip_time_seconds", "gauge", "The hop's RTT from RTCP (absent before the first).",
              [](const Row& r) { return r.leg.rtt ? V(r.leg.rtt->seconds_f()) : V(); });
  per_session("session_estimate_bits_per_second", "gauge", "GCC estimate toward the session from its transport-cc.",
              [](const Row& r) { return r.leg.estimate ? V(r.leg.estimate->bps_f()) : V(); });
  per_session("session_temporal_layer", "gauge", "Highest temporal layer forwarded to the session (layered video only).",
              [](const Row& r) { return r.leg.temporal_layer >= 0 ? V(double(r.leg.temporal_layer)) : V(); });
  per_session("session_layer_switches_total", "counter", "Temporal layer switches (up and down) for the session.",
              [](const Row& r) { return V(double(r.leg.layer_switches_up + r.leg.layer_switches_down)); });
  per_session("session_spatial_layer", "gauge", "Highest VP9 spatial layer forwarded to the session (SVC video only).",
              [](const Row& r) { return r.leg.spatial_layer >= 0 ? V(double(r.leg.spatial_layer)) : V(); });
  per_session("session_spatial_layer_switches_total", "counter", "VP9 spatial layer switches (up and down) for the session.",
              [](const Row& r) { return V(double(r.leg.spatial_switches_up + r.leg.spatial_switches_down)); });
  per_session("session_layer_bytes_dropped_total", "counter", "RTP bytes of temporal layers not sent to the session.",
              [](const Row& r) { return V(double(r.leg.layer_bytes_dropped)); });
  per_session("session_simulcast_encoding", "gauge", "The simulcast encoding (index of the publisher's rids) the session receives.",
              [](const Row& r) { return r.leg.simulcast_encoding >= 0 ? V(double(r.leg.simulcast_encoding)) : V(); });
  per_session("session_encoding_switches_total", "counter", "Simulcast encoding switches for the session.",
              [](const Row& r) { return V(double(r.leg.encoding_switches)); });
  per_session("session_probe_clusters_total", "counter", "Bandwidth probe clusters sent toward the session.",
              [](const Row& r) { return V(double(r.leg.probe_clusters)); });
  per_session("session_probe_packets_total", "counter", "Padding packets of probes sent to the session.",
              [](const Row& r) { return V(double(r.leg.probe_packets)); });
  per_session("session_probe_bytes_total", "counter", "Padding bytes (RTP) of probes sent to the session.",
              [](const Row& r) { return V(double(r.leg.probe_bytes)); });
  per_session("session_bitrate_limit_dropped_packets_total", "counter",
              "RTP packets of a publisher dropped for sending over its bitrate limit.",
              [](const Row& r) { return r.policed_packets ? V(double(*r.policed_packets)) : std::nullopt; });
  return out;
}

std::string SfuServer::stats_json(Timestamp now) const {
  using nlohmann::json;
  json j;
  j["timestamp"] = (now - Timestamp::Zero()).ms_f();
  j["draining"] = draining_;
  const SfuCounters& c = counters_;
  j["server"] = {{"datagramsReceived", c.datagrams_received}, {"datagramsSent", c.datagrams_sent},
                 {"routedByUsername", c.routed_by_username}, {"routedByAddress", c.routed_by_address},
                 {"unauthenticatedDropped", c.unauthenticated_dropped}, {"outgoingDropped", c.outgoing_dropped},
                 {"sessions", sessions_.size()}, {"sessionsCreated", c.sessions_created},
                 {"sessionsRefused", c.sessions_refused}, {"publishersRefusedBitrate", c.publishers_refused_bitrate}, {"sessionsEnded", c.sessions_ended},
                 {"sessionsFailed", c.sessions_failed}, {"sessionsTimedOut", c.sessions_timed_out},
                 {"iceRestarts", c.ice_restarts}, {"iceRestartsRefused", c.ice_restarts_refused}};
  if (config_.tcp_address) {  // ICE-TCP (only when configured: a UDP-only server's document is unchanged)
    json& server = j["server"];
    server["tcpConnections"] = streams_.size();
    server["tcpConnectionsAccepted"] = c.tcp_connections_accepted;
    server["tcpConnectionsRefused"] = c.tcp_connections_refused;
    server["tcpConnectionsBound"] = c.tcp_connections_bound;
    server["tcpGarbageClosed"] = c.tcp_garbage_closed;
    server["tcpUnboundTimedOut"] = c.tcp_unbound_timed_out;
    server["tcpFramesReceived"] = c.tcp_frames_received;
    server["tcpOutgoingUnroutable"] = c.tcp_outgoing_unroutable;
  }
  json rooms = json::object();
  for (const auto& [name, r] : rooms_) {
    json room;
    room["mode"] = to_string(config_.room_mode);
    room["publisher"] = r.publishers.empty() ? json(nullptr) : json(r.publishers.front().id);
    json publishers = json::array();
    for (const Room::Publisher& p : r.publishers) publishers.push_back(p.id);
    room["publishers"] = publishers;
    room["subscribers"] = r.subscribers;
    rooms[name] = room;
  }
  j["rooms"] = rooms;
  json sessions = json::array();
  for (const auto& [id, s] : sessions_) {
    const SfuSession& t = *s->transport;
    const SfuSessionCounters& sc = t.counters();
    const pipeline::MediaRouter::LegCounters lc = router_->counters(s->leg);
    json e;
    e["id"] = id;
    e["role"] = to_string(s->role);
    e["room"] = s->room;
    if (s->role == SessionRole::kSubscriber) e["watching"] = s->watching;
    e["iceState"] = ice::to_string(t.agent().state());
    e["dtlsState"] = std::string(dtls::to_string(t.dtls().state()));
    e["srtpCipher"] = t.srtp_cipher();
    if (auto b = t.srtp_backend()) e["srtpBackend"] = std::string(transport::to_string(*b));
    if (s->input->policed()) {
      e["bitrateLimit"] = config_.max_publisher_bitrate.bps();
      e["bitrateLimitDroppedPackets"] = s->input->policed_packets;
      e["bitrateLimitDroppedBytes"] = s->input->policed_bytes;
    }
    e["remoteAddress"] = t.remote_address() ? t.remote_address()->to_string() : "";
    e["iceRestarts"] = s->restarts;
    e["datagramsReceived"] = sc.datagrams_received;
    e["datagramsSent"] = sc.datagrams_sent;
    e["bytesReceived"] = sc.bytes_received;
    e["bytesSent"] = sc.bytes_sent;
    e["packetsLost"] = lc.packets_lost;
    e["srtpUnprotectFailures"] = sc.srtp_unprotect_failures;
    e["rtpPacketsReceived"] = lc.rtp_packets_received;
    e["packetsForwarded"] = lc.packets_forwarded;
    e["nacksSent"] = lc.nacks_sent;
    e["nackedPacketsReceived"] = lc.nacked_packets_received;
    e["retransmissionsSent"] = lc.retransmissions_sent;
    e["keyframeRequestsForwarded"] = lc.keyframe_requests_forwarded;
    e["keyframeRequestsSuppressed"] = lc.keyframe_requests_suppressed;
    e["transportFeedbackReceived"] = lc.transport_feedback_received;
    e["transportSequencedReceived"] = lc.transport_sequenced_received;
    e["transportFeedbackSent"] = lc.transport_feedback_sent;
    if (lc.rtt) e["roundTripTime"] = lc.rtt->seconds_f();
    if (lc.estimate) e["estimate"] = lc.estimate->bps();
    if (lc.temporal_layer >= 0) e["temporalLayer"] = lc.temporal_layer;
    e["layerSwitchesUp"] = lc.layer_switches_up;
    e["layerSwitchesDown"] = lc.layer_switches_down;
    if (lc.spatial_layer >= 0) {
      e["spatialLayer"] = lc.spatial_layer;
      e["spatialLayerSwitchesUp"] = lc.spatial_switches_up;
      e["spatialLayerSwitchesDown"] = lc.spatial_switches_down;
      e["layerKeyframeRequests"] = lc.layer_keyframe_requests;
    }
    e["layerFramesDropped"] = lc.layer_frames_dropped;
    e["layerBytesDropped"] = lc.layer_bytes_dropped;
    if (lc.simulcast_encoding >= 0) {
      e["simulcastEncoding"] = lc.simulcast_encoding;
      e["simulcastRid"] = lc.simulcast_rid;
      e["encodingSwitches"] = lc.encoding_switches;
    }
    if (lc.simulcast_ssrcs_learned > 0 || lc.unknown_rid > 0) {
      e["simulcastSsrcsLearned"] = lc.simulcast_ssrcs_learned;
      e["unknownRid"] = lc.unknown_rid;
    }
    e["probeClusters"] = lc.probe_clusters;
    e["probeClustersSucceeded"] = lc.probe_clusters_succeeded;
    e["probeClustersFailed"] = lc.probe_clusters_failed;
    e["probeClustersAborted"] = lc.probe_clusters_aborted;
    e["probePackets"] = lc.probe_packets;
    e["probeBytes"] = lc.probe_bytes;
    sessions.push_back(e);
  }
  j["sessions"] = sessions;
  return j.dump(2);
}

}  // namespace tern::sfu
