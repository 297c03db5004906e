#include "tern/webrtc/peer_connection.h"

#include <algorithm>
#include <utility>

#include "tern/core/byte_io.h"
#include "tern/ice/stun_message.h"
#include "tern/sdp/endpoint_mapping.h"
#include "tern/sdp/webrtc_attributes.h"
#include "tern/transport/demuxer.h"
#include "tern/transport/srtp_key.h"

namespace tern::webrtc {

std::string_view to_string(SdpType type) { return type == SdpType::kOffer ? "offer" : "answer"; }

std::string_view to_string(SignalingState state) {
  switch (state) {
    case SignalingState::kStable: return "stable";
    case SignalingState::kHaveLocalOffer: return "have-local-offer";
    case SignalingState::kHaveRemoteOffer: return "have-remote-offer";
    case SignalingState::kClosed: return "closed";
  }
  return "?";
}

std::string_view to_string(ConnectionState state) {
  switch (state) {
    case ConnectionState::kNew: return "new";
    case ConnectionState::kConnecting: return "connecting";
    case ConnectionState::kConnected: return "connected";
    case ConnectionState::kDisconnected: return "disconnected";
    case ConnectionState::kFailed: return "failed";
    case ConnectionState::kClosed: return "closed";
  }
  return "?";
}

namespace {

constexpr size_t kMaxDataChannels = 1024;  // the SCTP streams offered (SctpConfig::streams)
constexpr size_t kMaxDescriptionCandidates = 32;  // local candidates local_description() carries

bool is_binding(std::span<const uint8_t> data) {
  if (!ice::looks_like_stun(data)) return false;
  return ice::stun_message_method(load_be16(data.data())) == static_cast<uint16_t>(ice::StunMethod::kBinding);
}

std::string ice_chars(Random& random, size_t n) {
  static constexpr std::string_view kChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s;
  s.reserve(n);
  for (size_t i = 0; i < n; ++i) s.push_back(kChars[random.next_u32() % kChars.size()]);
  return s;
}

std::optional<Timestamp> earliest(std::optional<Timestamp> a, std::optional<Timestamp> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

bool due(const std::optional<Timestamp>& at, Timestamp now) { return at && *at <= now; }

// "candidate:<value>", "a=candidate:<value>" or the bare value.
std::string_view candidate_value(std::string_view s) {
  if (s.starts_with("a=")) s.remove_prefix(2);
  if (s.starts_with("candidate:")) s.remove_prefix(10);
  return s;
}

constexpr const char* kIceFailed = "ICE failed: no candidate pair worked";

// Every a=`name` (session level and in each section) gets `value`.
void replace_attribute(sdp::SessionDescription& sd, std::string_view name, const std::string& value) {
  auto one = [&](sdp::AttributeList& list) {
    for (sdp::Attribute& a : list.attributes)
      if (a.name == name) a.value = value;
  };
  one(sd);
  for (sdp::MediaSection& m : sd.media) one(m);
}

bool same_codecs(const sdp::NegotiatedMedia& a, const sdp::NegotiatedMedia& b) {
  if (a.codecs.size() != b.codecs.size() || a.red_payload_type != b.red_payload_type ||
      a.ulpfec_payload_type != b.ulpfec_payload_type || a.extensions.size() != b.extensions.size())
    return false;
  for (size_t i = 0; i < a.codecs.size(); ++i) {
    const sdp::NegotiatedCodec& x = a.codecs[i];
    const sdp::NegotiatedCodec& y = b.codecs[i];
    if (x.payload_type != y.payload_type || x.codec != y.codec || x.rtpmap.clock_rate != y.rtpmap.clock_rate ||
        x.rtpmap.channels != y.rtpmap.channels || x.fmtp != y.fmtp || x.rtx_payload_type != y.rtx_payload_type ||
        !(x.feedback == y.feedback))
      return false;
  }
  for (size_t i = 0; i < a.extensions.size(); ++i)
    if (a.extensions[i].id != b.extensions[i].id || a.extensions[i].uri != b.extensions[i].uri) return false;
  return true;
}

// Why a later negotiation would change media (null: it changes at most ICE). Only ICE restarts
// and no-op renegotiation are supported: the pipeline, DTLS and SCTP are built once.
const char* media_change(const sdp::NegotiatedSession& was, const sdp::NegotiatedSession& now) {
  if (was.media.size() != now.media.size()) return "renegotiation would add or remove media sections (only ICE restarts and no-op renegotiation are supported)";
  for (size_t i = 0; i < was.media.size(); ++i) {
    const sdp::NegotiatedMedia& a = was.media[i];
    const sdp::NegotiatedMedia& b = now.media[i];
    if (a.mid != b.mid || a.kind != b.kind || a.accepted != b.accepted || a.direction != b.direction)
      return "renegotiation would change a section's mid, kind, direction or acceptance (not supported)";
    if (!same_codecs(a, b)) return "renegotiation would change codecs, payload types or header extensions (not supported)";
    if (a.remote_ssrc != b.remote_ssrc || a.remote_rtx_ssrc != b.remote_rtx_ssrc || a.remote_fec_ssrc != b.remote_fec_ssrc)
      return "renegotiation would change the peer's SSRCs (not supported)";
    if (a.remote_sctp_port != b.remote_sctp_port || a.remote_max_message_size != b.remote_max_message_size)
      return "renegotiation would change the SCTP port or max-message-size (not supported)";
  }
  if (was.bundle != now.bundle) return "renegotiation would change the BUNDLE group (not supported)";
  if (was.remote_fingerprint.to_string() != now.remote_fingerprint.to_string())
    return "renegotiation would change the peer's DTLS fingerprint (a new DTLS association is not supported)";
  if (was.dtls_role != now.dtls_role) return "renegotiation would change the DTLS role (a new DTLS association is not supported)";
  return nullptr;
}

const char* ice_role_name(ice::IceRole role) {
  return role == ice::IceRole::kControlling ? "controlling" : "controlled";
}

}  // namespace

// The pipeline's egress: every datagram the endpoint sends goes through SRTP to ICE.
class PeerConnection::MediaSink final : public DatagramSink {
 public:
  explicit MediaSink(PeerConnection& pc) : pc_(pc) {}
  void on_datagram(std::vector<uint8_t> datagram, Timestamp now) override { pc_.on_media_out(std::move(datagram), now); }

 private:
  PeerConnection& pc_;
};

// First decoded frames, as events.
class PeerConnection::Listeners final : public pipeline::VideoRenderListener, public pipeline::AudioPlayoutListener {
 public:
  explicit Listeners(PeerConnection& pc) : pc_(pc) {}
  void on_video_frame_rendered(const pipeline::RenderedVideoFrame&) override { first("video", video_); }
  void on_audio_playout(const pipeline::AudioPlayoutEvent& e) override {
    if (e.operation == jitterbuffer::PlayoutOperation::kNormal) first("audio", audio_);
  }

 private:
  void first(const char* kind, bool& seen) {
    if (seen) return;
    seen = true;
    PeerConnectionEvent e;
    e.type = PeerConnectionEvent::Type::kFirstFrame;
    e.kind = kind;
    pc_.push_event(std::move(e));
  }
  PeerConnection& pc_;
  bool video_ = false;
  bool audio_ = false;
};

PeerConnection::PeerConnection(PeerConnectionConfig config)
    : config_(std::move(config)), random_(config_.seed ^ 0x7065'6572'636f'6e6eULL) {}

PeerConnection::~PeerConnection() = default;

Result<std::unique_ptr<PeerConnection>> PeerConnection::Create(PeerConnectionConfig config) {
  if (config.sockets.empty()) return Error{"a PeerConnection needs at least one socket"};
  if (config.max_pending_candidates == 0 || config.max_outgoing == 0 || config.max_events < 16)
    return Error{"PeerConnection bounds must be positive (max_events at least 16)"};
  if (!config.audio && !config.video && !config.data_channels) return Error{"nothing to negotiate: no audio, video or data"};
  for (const IceServer& s : config.ice_servers) {
    if (s.kind == IceServer::Kind::kTurn && (s.username.empty() || s.password.empty()))
      return Error{"a TURN server needs a username and a password"};
  }
  if (!config.certificate) {
    auto cert = dtls::DtlsCertificate::Generate();
    if (!cert) return Error{cert.error()};
    config.certificate = std::move(cert).value();
  }
  std::unique_ptr<PeerConnection> pc(new PeerConnection(std::move(config)));
  pc->local_credentials_.ufrag = ice_chars(pc->random_, 8);
  pc->local_credentials_.pwd = ice_chars(pc->random_, 24);
  if (Status st = pc->capabilities().validate(); !st.ok()) return Error{st.error()};
  pc->media_sink_ = std::make_unique<MediaSink>(*pc);
  pc->listeners_ = std::make_unique<Listeners>(*pc);
  return pc;
}

sdp::LocalCapabilities PeerConnection::capabilities() const {
  sdp::LocalCapabilities c;
  c.audio = config_.audio;
  c.video = config_.video;
  c.data = config_.data_channels;
  c.send_audio = config_.send_audio;
  c.send_video = config_.send_video;
  c.vp8 = config_.vp8;
  c.vp9 = config_.vp9;
  c.rtx = config_.video_rtx;
  c.video_fec = config_.video_fec;
  c.payload_types = config_.payload_types;
  c.extension_ids = config_.extension_ids;
  c.ice_ufrag = local_credentials_.ufrag;
  c.ice_pwd = local_credentials_.pwd;
  c.ice_trickle = true;
  c.fingerprint = config_.certificate->fingerprint();
  c.cname = config_.cname;
  c.audio_ssrc = config_.audio_ssrc;
  c.video_ssrc = config_.video_ssrc;
  c.video_rtx_ssrc = config_.video_rtx_ssrc;
  c.sctp_port = config_.sctp_port;
  c.max_message_size = config_.max_message_size;
  c.session_id = std::to_string(config_.seed % 1'000'000'000'000ULL + 1);
  return c;
}

// --- Signalling ---------------------------------------------------------------------------------

void PeerConnection::restart_ice() {
  if (session_) restart_pending_ = true;
}

ice::IceCredentials PeerConnection::new_credentials() {
  for (int attempt = 0; attempt < 8; ++attempt) {  // a new generation needs a different ufrag
    ice::IceCredentials c{ice_chars(random_, 8), ice_chars(random_, 24)};
    if (c.ufrag != local_credentials_.ufrag) return c;
  }
  return {local_credentials_.ufrag == "tern" ? "nret" : "tern", ice_chars(random_, 24)};
}

std::optional<std::string> PeerConnection::selected_ice_ufrag() const {
  if (!agent_) return std::nullopt;
  auto c = agent_->selected_credentials();
  if (!c) return std::nullopt;
  return c->ufrag;
}

Result<SessionDescriptionInit> PeerConnection::create_offer(Timestamp) {
  if (closed_) return Error{"the PeerConnection is closed"};
  if (signaling_ != SignalingState::kStable) return Error{"an offer is created in stable state only"};
  sdp::SessionDescription offer;
  if (!session_) {
    offer = sdp::create_offer(capabilities());
  } else {
    // A later offer: the current local description (offer or answer) again, which keeps the m=
    // sections, mids, codecs and SSRCs; setup:actpass (RFC 8842 5.5), new credentials on a restart.
    auto current = local_set_ ? sdp::SessionDescription::parse(local_set_->sdp) : Result<sdp::SessionDescription>(Error{"no local description"});
    if (!current) return Error{current.error()};
    offer = std::move(current).value();
    const ice::IceCredentials creds = restart_pending_ ? new_credentials() : local_credentials_;
    replace_attribute(offer, "ice-ufrag", creds.ufrag);
    replace_attribute(offer, "ice-pwd", creds.pwd);
    replace_attribute(offer, "setup", "actpass");
    offer.origin.session_version = std::to_string(++session_version_);
    offered_credentials_ = creds;
  }
  SessionDescriptionInit out{SdpType::kOffer, offer.to_string()};
  local_offer_ = offer;
  last_created_ = out.sdp;
  return out;
}

Result<SessionDescriptionInit> PeerConnection::create_answer(Timestamp) {
  if (closed_) return Error{"the PeerConnection is closed"};
  if (signaling_ != SignalingState::kHaveRemoteOffer || !pending_answer_) return Error{"no remote offer to answer"};
  SessionDescriptionInit out{SdpType::kAnswer, pending_answer_->description.to_string()};
  last_created_ = out.sdp;
  return out;
}

Status PeerConnection::set_local_description(const SessionDescriptionInit& description, Timestamp now) {
  if (closed_) return Error{"the PeerConnection is closed"};
  if (!last_created_ || description.sdp != *last_created_)
    return Error{"the local description is not the one created (SDP munging is not supported)"};
  if (description.type == SdpType::kOffer) {
    if (signaling_ != SignalingState::kStable || !local_offer_) return Error{"a local offer is not allowed now"};
    if (session_) {  // a later offer: ICE restarts now if it carries new credentials
      if (offered_credentials_ && offered_credentials_->ufrag != local_credentials_.ufrag) {
        restart_local_ice(*offered_credentials_, now);
        restart_pending_ = false;
      }
      signaling_ = SignalingState::kHaveLocalOffer;
      local_set_ = description;
      last_created_.reset();
      pump(now);
      return Status::Ok();
    }
    bundle_mid_ = std::string(local_offer_->media.empty() ? "" : local_offer_->media.front().value("mid").value_or(""));
    if (Status st = start_ice(true, now); !st.ok()) return st;
    signaling_ = SignalingState::kHaveLocalOffer;
    local_set_ = description;
    last_created_.reset();
    pump(now);
    return Status::Ok();
  }
  if (signaling_ != SignalingState::kHaveRemoteOffer || !pending_answer_) return Error{"a local answer is not allowed now"};
  if (session_) {  // a later answer: a remote restart restarts the local agent with the answer's credentials
    if (offered_credentials_ && offered_credentials_->ufrag != local_credentials_.ufrag) {
      restart_local_ice(*offered_credentials_, now);
      ++counters_.ice_restarts_remote;
    }
    signaling_ = SignalingState::kStable;
    local_set_ = description;
    last_created_.reset();
    renegotiated(pending_answer_->negotiated, now);
    pump(now);
    return Status::Ok();
  }
  for (const sdp::MediaSection& m : pending_answer_->description.media) {
    if (m.port != 0) {
      bundle_mid_ = std::string(m.value("mid").value_or(""));
      break;
    }
  }
  if (Status st = start_ice(false, now); !st.ok()) return st;
  signaling_ = SignalingState::kStable;
  local_set_ = description;
  last_created_.reset();
  const sdp::NegotiatedSession session = pending_answer_->negotiated;
  Status st = negotiated(session, now);
  pump(now);
  return st;
}

Status PeerConnection::set_remote_description(const SessionDescriptionInit& description, Timestamp now) {
  auto parsed = sdp::SessionDescription::parse(description.sdp);
  if (!parsed) {
    ++counters_.remote_descriptions_refused;
    return Error{parsed.error()};
  }
  Status st = set_remote_description(description.type, *parsed, now);
  if (st.ok()) remote_set_description_ = description;
  return st;
}

Status PeerConnection::set_remote_description(SdpType type, const sdp::SessionDescription& description, Timestamp now) {
  Status st = apply_remote_description(type, description, now);
  if (st.ok()) remote_set_description_ = SessionDescriptionInit{type, description.to_string()};
  return st;
}

Status PeerConnection::apply_remote_description(SdpType type, const sdp::SessionDescription& description,
                                                Timestamp now) {
  auto refuse = [&](const char* reason) {
    ++counters_.remote_descriptions_refused;
    return Status(Error{reason});
  };
  if (closed_) return refuse("the PeerConnection is closed");
  if (type == SdpType::kOffer) {
    if (signaling_ != SignalingState::kStable) return refuse("a remote offer is not allowed now");
    auto answer = sdp::create_answer(description, capabilities());
    if (!answer) return refuse(answer.error());
    if (session_) {
      // A later offer: the DTLS association stays, so this side keeps its role whatever the
      // answer's default (active) would make it; then nothing but ICE may change.
      if (answer->negotiated.dtls_role != session_->dtls_role) {
        replace_attribute(answer->description, "setup",
                          session_->dtls_role == dtls::DtlsRole::kServer ? "passive" : "active");
        answer->negotiated.dtls_role = session_->dtls_role;
      }
      if (const char* why = media_change(*session_, answer->negotiated)) {
        ++counters_.renegotiations_refused;
        return refuse(why);
      }
      // A new remote ufrag is a remote ICE restart: the answer carries new credentials too.
      const bool restart = answer->negotiated.remote_ice_ufrag != session_->remote_ice_ufrag;
      const ice::IceCredentials creds = restart ? new_credentials() : local_credentials_;
      replace_attribute(answer->description, "ice-ufrag", creds.ufrag);
      replace_attribute(answer->description, "ice-pwd", creds.pwd);
      answer->description.origin.session_version = std::to_string(++session_version_);
      offered_credentials_ = creds;
    }
    bool any = false;
    for (const sdp::NegotiatedMedia& m : answer->negotiated.media) any = any || m.accepted;
    if (!any) return refuse("the offer has no section tern can accept");
    pending_answer_ = std::move(answer).value();
    remote_offer_ = description;
    signaling_ = SignalingState::kHaveRemoteOffer;
    return Status::Ok();
  }
  if (signaling_ != SignalingState::kHaveLocalOffer || !local_offer_) return refuse("a remote answer is not allowed now");
  auto session = sdp::apply_answer(*local_offer_, description);
  if (!session) return refuse(session.error());
  if (session_) {
    if (const char* why = media_change(*session_, *session)) {
      ++counters_.renegotiations_refused;
      return refuse(why);
    }
    signaling_ = SignalingState::kStable;
    renegotiated(*session, now);
    pump(now);
    return Status::Ok();
  }
  signaling_ = SignalingState::kStable;
  Status st = negotiated(*session, now);
  pump(now);
  return st;
}

Status PeerConnection::start_ice(bool controlling, Timestamp now) {
  ice::IceAgentConfig ac;
  ac.role = controlling ? ice::IceRole::kControlling : ice::IceRole::kControlled;
  ac.policy = config_.ice_transport_policy;
  ac.sockets = config_.sockets;
  ac.credentials = local_credentials_;
  ac.seed = config_.seed;
  for (const IceServer& s : config_.ice_servers) ac.stun_servers.push_back(s.address);
  auto agent = ice::IceAgent::Create(std::move(ac));
  if (!agent) return Error{agent.error()};
  agent_.emplace(std::move(agent).value());
  for (const IceServer& s : config_.ice_servers) {
    if (s.kind != IceServer::Kind::kTurn) continue;
    const auto socket = std::find_if(config_.sockets.begin(), config_.sockets.end(),
                                     [&](const ice::LocalSocket& l) { return l.address.family == s.address.family; });
    if (socket == config_.sockets.end()) continue;  // no socket of the server's family
    ice::TurnClientConfig tc;
    tc.username = s.username;
    tc.password = s.password;
    tc.seed = config_.seed * 2654435761ULL + 17;  // deterministic transaction ids (never 0)
    auto client = ice::TurnClient::Create(tc);
    if (!client) return Error{client.error()};
    relay_ = std::make_unique<ice::TurnRelayTransport>(std::move(client).value());
    relay_socket_ = socket->id;
    relay_server_ = s.address;
    agent_->add_relay(relay_.get(), now);
    break;  // one relay
  }
  agent_->start(now);
  if (relay_) relay_->client().allocate(now);
  flush_pending_candidates(now);
  return Status::Ok();
}

Status PeerConnection::negotiated(const sdp::NegotiatedSession& session, Timestamp now) {
  session_ = session;
  agent_->set_remote_credentials({session.remote_ice_ufrag, session.remote_ice_pwd}, now);
  agent_->set_remote_lite(session.remote_ice_lite);
  for (const ice::Candidate& c : session.remote_candidates) {
    (void)agent_->add_remote_candidate(c, now);  // refusals (table full, duplicate) are the agent's counters
  }
  if (session.remote_end_of_candidates) agent_->end_of_remote_candidates(now);
  remote_set_ = true;
  flush_pending_candidates(now);

  dtls::DtlsConfig dc;
  dc.role = session.dtls_role;
  dc.certificate = config_.certificate;
  dc.remote_fingerprint = session.remote_fingerprint;
  dc.mtu = config_.mtu;
  auto dtls = dtls::DtlsTransport::Create(std::move(dc));
  if (!dtls) {
    fail(dtls.error(), now);
    return Error{dtls.error()};
  }
  dtls_ = std::move(dtls).value();
  if (dtls_->role() == dtls::DtlsRole::kServer || ice_selected_) dtls_->start(now);

  const sdp::NegotiatedMedia* audio = session.find(sdp::MediaKind::kAudio);
  const sdp::NegotiatedMedia* video = session.find(sdp::MediaKind::kVideo);
  if (audio != nullptr || video != nullptr) {
    auto ec = sdp::to_endpoint_config(session, capabilities(), config_.media);
    if (!ec) {
      fail(ec.error(), now);
      return Error{ec.error()};
    }
    auto endpoint = pipeline::Endpoint::Create(*ec, media_sink_.get());
    if (!endpoint) {
      fail(endpoint.error(), now);
      return Error{endpoint.error()};
    }
    endpoint_ = std::move(endpoint).value();
    endpoint_->set_video_render_listener(listeners_.get());
    endpoint_->set_audio_playout_listener(listeners_.get());
    if (config_.video_source != nullptr) endpoint_->set_video_source(config_.video_source);
    if (config_.audio_source != nullptr) endpoint_->set_audio_source(config_.audio_source);
    for (const sdp::NegotiatedMedia* m : {audio, video}) {
      if (m == nullptr || !sdp::receives(m->direction)) continue;
      PeerConnectionEvent e;
      e.type = PeerConnectionEvent::Type::kTrack;
      e.kind = m->kind == sdp::MediaKind::kAudio ? "audio" : "video";
      e.mid = m->mid;
      push_event(std::move(e));
    }
  }
  update_connection_state(now);
  return Status::Ok();
}

void PeerConnection::restart_local_ice(const ice::IceCredentials& credentials, Timestamp now) {
  local_credentials_ = credentials;
  ++counters_.ice_restarts;
  // The candidates are signalled again under the new ufrag (the agent emits them now).
  local_candidates_.clear();
  local_gathering_done_ = false;
  if (failure_reason_ == kIceFailed) failure_reason_ = nullptr;  // W3C: restartIce() recovers a failed ICE
  agent_->restart(now, credentials);
}

void PeerConnection::renegotiated(const sdp::NegotiatedSession& session, Timestamp now) {
  ++counters_.renegotiations;
  // A changed remote ufrag restarts the agent's remote side (its candidates and pairs of the old
  // generation go; the selected pair carries data until a new one is selected).
  agent_->set_remote_credentials({session.remote_ice_ufrag, session.remote_ice_pwd}, now);
  session_->remote_ice_ufrag = session.remote_ice_ufrag;
  session_->remote_ice_pwd = session.remote_ice_pwd;
  session_->remote_end_of_candidates = session.remote_end_of_candidates;
  for (const ice::Candidate& c : session.remote_candidates) (void)agent_->add_remote_candidate(c, now);
  if (session.remote_end_of_candidates) agent_->end_of_remote_candidates(now);
  flush_pending_candidates(now);
  update_connection_state(now);
}

Status PeerConnection::add_ice_candidate(const IceCandidateInit& init, Timestamp now) {
  auto refuse = [&](const char* reason) {
    ++counters_.candidates_refused;
    return Status(Error{reason});
  };
  if (closed_) return refuse("the PeerConnection is closed");
  if (!init.candidate.empty()) {
    auto parsed = sdp::SdpCandidate::parse(candidate_value(init.candidate));
    if (!parsed) return refuse(parsed.error());
  }
  // A candidate of another generation than the applied one waits for its description.
  const bool other_generation =
      session_ && !init.username_fragment.empty() && init.username_fragment != session_->remote_ice_ufrag;
  if (agent_ && remote_set_ && !other_generation) {
    add_remote_candidate(init, now);
    pump(now);
    return Status::Ok();
  }
  if (pending_candidates_.size() >= config_.max_pending_candidates)
    return refuse("too many candidates before the remote description");
  pending_candidates_.push_back(init);
  return Status::Ok();
}

std::optional<SessionDescriptionInit> PeerConnection::local_description() const {
  if (!local_set_) return std::nullopt;
  auto parsed = sdp::SessionDescription::parse(local_set_->sdp);
  if (!parsed) return local_set_;  // not reached: we wrote it
  for (sdp::MediaSection& m : parsed->media) {
    if (m.value("mid").value_or("") != bundle_mid_) continue;
    for (const std::string& c : local_candidates_) m.add("candidate", c);
    if (local_gathering_done_) m.add("end-of-candidates");
    break;
  }
  return SessionDescriptionInit{local_set_->type, parsed->to_string()};
}

void PeerConnection::add_remote_candidate(const IceCandidateInit& init, Timestamp now) {
  if (init.candidate.empty()) {
    agent_->end_of_remote_candidates(now);
    return;
  }
  auto parsed = sdp::SdpCandidate::parse(candidate_value(init.candidate));
  // Checked when it was added; TCP candidates and RTCP components have no use on a BUNDLE UDP
  // transport with rtcp-mux (ignored, as browsers do).
  if (!parsed || parsed->transport != "udp" || parsed->candidate.component != 1) return;
  (void)agent_->add_remote_candidate(std::move(parsed->candidate), now);  // refusals: the agent's counters
}

void PeerConnection::flush_pending_candidates(Timestamp now) {
  if (!agent_ || !remote_set_) return;
  // Those of the applied generation (or of none) go to the agent; the rest are of an older
  // generation (a newer one would have come with its description) and are dropped.
  while (!pending_candidates_.empty()) {
    const IceCandidateInit& c = pending_candidates_.front();
    if (c.username_fragment.empty() || !session_ || c.username_fragment == session_->remote_ice_ufrag) {
      add_remote_candidate(c, now);
    } else {
      ++counters_.stale_candidates;
    }
    pending_candidates_.pop_front();
  }
}

// --- Data channels ------------------------------------------------------------------------------

Result<DataChannelHandle> PeerConnection::create_data_channel(std::string_view label, const DataChannelOptions& options,
                                                              Timestamp now) {
  if (closed_) return Error{"the PeerConnection is closed"};
  if (!config_.data_channels) return Error{"data channels are off in this PeerConnection's configuration"};
  if (channels_.size() >= kMaxDataChannels) return Error{"too many data channels"};
  if (options.negotiated && !options.id) return Error{"a negotiated data channel needs an id"};
  if (options.max_retransmits && options.max_packet_lifetime_ms)
    return Error{"max_retransmits and max_packet_lifetime are exclusive"};
  Channel ch;
  ch.init.label = std::string(label);
  ch.init.protocol = options.protocol;
  ch.init.ordered = options.ordered;
  ch.init.max_retransmits = options.max_retransmits;
  ch.init.max_packet_lifetime_ms = options.max_packet_lifetime_ms;
  ch.init.negotiated = options.negotiated;
  ch.init.id = options.id;
  if (sctp_) {
    auto id = sctp_->create_channel(ch.init, now);
    if (!id) return Error{id.error()};
    ch.stream = *id;
    ch.pending = false;
  }
  const DataChannelHandle handle = next_channel_++;
  channels_.emplace(handle, std::move(ch));
  pump(now);
  return handle;
}

void PeerConnection::open_pending_channels(Timestamp now) {
  for (auto it = channels_.begin(); it != channels_.end();) {
    Channel& ch = it->second;
    if (ch.pending) {
      auto id = sctp_->create_channel(ch.init, now);
      if (!id) {  // an id in use or out of range: the channel closes
        PeerConnectionEvent e;
        e.type = PeerConnectionEvent::Type::kDataChannelClosed;
        e.channel = it->first;
        e.label = ch.init.label;
        e.reason = id.error();
        push_event(std::move(e));
        it = channels_.erase(it);
        continue;
      }
      ch.stream = *id;
      ch.pending = false;
    }
    ++it;
  }
}

Status PeerConnection::send(DataChannelHandle channel, std::span<const uint8_t> data, bool binary, Timestamp now) {
  const auto it = channels_.find(channel);
  if (it == channels_.end()) return Error{"no such data channel"};
  if (!sctp_ || !it->second.stream) return Error{"the data channel is not open"};
  Status st = sctp_->send(*it->second.stream, data, binary, now);
  pump(now);
  return st;
}

Status PeerConnection::send_text(DataChannelHandle channel, std::string_view text, Timestamp now) {
  return send(channel, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()), false, now);
}

void PeerConnection::close_data_channel(DataChannelHandle channel, Timestamp now) {
  const auto it = channels_.find(channel);
  if (it == channels_.end()) return;
  if (sctp_ && it->second.stream) {
    sctp_->close_channel(*it->second.stream, now);
    pump(now);
    return;
  }
  PeerConnectionEvent e;  // never opened
  e.type = PeerConnectionEvent::Type::kDataChannelClosed;
  e.channel = channel;
  e.label = it->second.init.label;
  push_event(std::move(e));
  channels_.erase(it);
}

size_t PeerConnection::buffered_amount(DataChannelHandle channel) const {
  const auto it = channels_.find(channel);
  if (it == channels_.end() || !sctp_ || !it->second.stream) return 0;
  return sctp_->buffered_amount(*it->second.stream);
}

void PeerConnection::set_buffered_amount_low_threshold(DataChannelHandle channel, size_t bytes) {
  const auto it = channels_.find(channel);
  if (it != channels_.end() && sctp_ && it->second.stream) sctp_->set_buffered_amount_low_threshold(*it->second.stream, bytes);
}

std::optional<uint16_t> PeerConnection::data_channel_id(DataChannelHandle channel) const {
  const auto it = channels_.find(channel);
  if (it == channels_.end()) return std::nullopt;
  return it->second.stream;
}

std::optional<DataChannelHandle> PeerConnection::handle_of(uint16_t stream) const {
  for (const auto& [handle, ch] : channels_) {
    if (ch.stream == stream) return handle;
  }
  return std::nullopt;
}

// --- I/O ----------------------------------------------------------------------------------------

void PeerConnection::on_datagram(ice::SocketId socket, const ice::TransportAddress& source,
                                 std::span<const uint8_t> data, Timestamp now) {
  ++io_.packets_received;
  io_.bytes_received += data.size();
  if (closed_) return;
  if (!agent_) {
    ++counters_.datagrams_before_ice;
    return;
  }
  if (relay_ && socket == relay_socket_ && source == relay_server_ && !is_binding(data)) {
    relay_->client().on_datagram(data, now);
    (void)relay_->deliver(*agent_, now, [&](const ice::TransportAddress&, std::span<const uint8_t> app) {
      handle_application(app, now);
    });  // the count of datagrams handed over is not needed
  } else if (agent_->on_datagram(socket, source, data, now) == ice::IceAgent::Inbound::kApplication) {
    handle_application(data, now);
  }
  pump(now);
}

void PeerConnection::handle_application(std::span<const uint8_t> data, Timestamp now) {
  switch (transport::classify(data)) {
    case transport::PacketClass::kDtls:
      if (!dtls_) {
        ++counters_.dtls_before_transport;
        return;
      }
      dtls_->on_datagram(data, now);
      pump_dtls(now);
      return;
    case transport::PacketClass::kRtp:
    case transport::PacketClass::kRtcp: {
      if (!srtp_receive_ || !endpoint_) {
        ++counters_.media_before_srtp;
        return;
      }
      std::vector<uint8_t> packet(data.begin(), data.end());
      if (!srtp_receive_->unprotect_muxed(packet).ok()) {
        ++counters_.srtp_unprotect_failures;
        return;
      }
      if (config_.on_received_rtp && transport::classify(packet) == transport::PacketClass::kRtp) {
        config_.on_received_rtp(packet, now);
      }
      (void)endpoint_->on_packet(packet, now);  // the verdict is counted in the endpoint's stats
      return;
    }
    default:
      ++counters_.unknown_datagrams;
      return;
  }
}

void PeerConnection::on_media_out(std::vector<uint8_t> datagram, Timestamp now) {
  if (!srtp_send_) return;  // never: the endpoint runs only once SRTP is keyed
  if (!srtp_send_->protect_muxed(datagram).ok()) {
    ++counters_.srtp_protect_failures;
    return;
  }
  ice_send(datagram, now);
}

void PeerConnection::ice_send(std::span<const uint8_t> data, Timestamp now) {
  if (!agent_ || !agent_->send(data, now).ok()) ++counters_.ice_send_failures;
  collect_outgoing();
}

void PeerConnection::collect_outgoing() {
  if (agent_) {
    for (ice::IceOutgoing& o : agent_->take_outgoing()) push_outgoing(std::move(o));
  }
  if (relay_) {
    while (auto d = relay_->client().pop_outgoing()) push_outgoing({relay_socket_, relay_server_, std::move(*d)});
  }
}

void PeerConnection::push_outgoing(ice::IceOutgoing out) {
  if (outgoing_.size() >= config_.max_outgoing) {
    ++counters_.outgoing_dropped;
    return;
  }
  ++io_.packets_sent;
  io_.bytes_sent += out.data.size();
  outgoing_.push_back(std::move(out));
}

std::vector<ice::IceOutgoing> PeerConnection::take_outgoing() { return std::exchange(outgoing_, {}); }

std::optional<PeerConnectionEvent> PeerConnection::poll_event() {
  if (events_.empty()) return std::nullopt;
  PeerConnectionEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

void PeerConnection::push_event(PeerConnectionEvent event, bool droppable) {
  if (droppable && events_.size() >= config_.max_events) {
    ++counters_.events_dropped;
    return;
  }
  events_.push_back(std::move(event));
}

std::optional<Timestamp> PeerConnection::next_wakeup() const {
  if (closed_) return std::nullopt;
  std::optional<Timestamp> at;
  if (agent_) at = earliest(at, agent_->next_wakeup());
  if (relay_) at = earliest(at, relay_->client().next_wakeup());
  if (dtls_) at = earliest(at, dtls_->next_wakeup());
  if (sctp_) at = earliest(at, sctp_->next_wakeup());
  if (endpoint_ && media_running_) at = earliest(at, endpoint_->next_wakeup());
  return at;
}

void PeerConnection::process(Timestamp now) {
  if (closed_) return;
  if (agent_ && due(agent_->next_wakeup(), now)) agent_->process(now);
  if (relay_ && due(relay_->client().next_wakeup(), now)) relay_->client().process(now);
  if (dtls_ && due(dtls_->next_wakeup(), now)) dtls_->process(now);
  if (sctp_ && due(sctp_->next_wakeup(), now)) sctp_->process(now);
  if (endpoint_ && media_running_ && due(endpoint_->next_wakeup(), now)) endpoint_->process(now);
  pump(now);
}

// --- Moving things along ------------------------------------------------------------------------

void PeerConnection::pump(Timestamp now) {
  pump_ice(now);
  pump_dtls(now);
  pump_sctp(now);
  pump_dtls(now);
  collect_outgoing();
  update_connection_state(now);
}

void PeerConnection::pump_ice(Timestamp now) {
  if (!agent_) return;
  collect_outgoing();
  while (auto e = agent_->poll_event()) {
    switch (e->kind) {
      case ice::IceEvent::Kind::kLocalCandidate: {
        PeerConnectionEvent out;
        out.type = PeerConnectionEvent::Type::kLocalCandidate;
        const std::string value = sdp::SdpCandidate{e->candidate, "udp", {}}.to_value();
        // local_description() carries them; the agent's gathering is bounded, this too.
        if (local_candidates_.size() < kMaxDescriptionCandidates) local_candidates_.push_back(value);
        out.candidate.candidate = "candidate:" + value;
        out.candidate.sdp_mid = bundle_mid_;
        out.candidate.username_fragment = agent_->local_credentials().ufrag;
        push_event(std::move(out));
        break;
      }
      case ice::IceEvent::Kind::kGatheringDone: {
        local_gathering_done_ = true;
        PeerConnectionEvent out;
        out.type = PeerConnectionEvent::Type::kLocalCandidate;
        out.candidate.sdp_mid = bundle_mid_;
        out.candidate.username_fragment = agent_->local_credentials().ufrag;
        push_event(std::move(out));
        break;
      }
      case ice::IceEvent::Kind::kStateChanged: {
        ice_state_ = e->state;
        PeerConnectionEvent out;
        out.type = PeerConnectionEvent::Type::kIceStateChanged;
        out.ice_state = e->state;
        push_event(std::move(out));
        if (e->state == ice::IceState::kFailed) fail(kIceFailed, now);
        break;
      }
      case ice::IceEvent::Kind::kSelectedPair:
        ice_selected_ = true;
        ++counters_.selected_pair_changes;
        if (dtls_) dtls_->start(now);  // a client sends its ClientHello now; idempotent
        break;
      case ice::IceEvent::Kind::kRoleChanged:
        break;
    }
  }
}

void PeerConnection::pump_dtls(Timestamp now) {
  if (!dtls_) return;
  while (auto d = dtls_->pop_outgoing()) ice_send(*d, now);
  if (dtls_->state() != dtls_state_) {
    dtls_state_ = dtls_->state();
    PeerConnectionEvent e;
    e.type = PeerConnectionEvent::Type::kDtlsStateChanged;
    e.dtls_state = dtls_state_;
    e.reason = dtls_->failure_reason();
    push_event(std::move(e));
    if (dtls_state_ == dtls::DtlsState::kConnected) on_dtls_connected(now);
    if (dtls_state_ == dtls::DtlsState::kFailed) {
      counters_.fingerprint_mismatches = dtls_->counters().fingerprint_mismatches;
      fail(dtls_->failure_reason(), now);
    }
  }
  if (sctp_) {
    while (auto record = dtls_->pop_application()) sctp_->on_packet(*record, now);
  } else {
    while (dtls_->pop_application()) {
    }  // no data channels negotiated: records have no reader
  }
}

void PeerConnection::on_dtls_connected(Timestamp now) {
  ++counters_.dtls_handshakes;
  const auto& keys = dtls_->srtp_keys();
  if (endpoint_ && keys) {
    auto configs = transport::srtp_configs_from_dtls(keys->profile, keys->local, keys->remote);
    if (!configs) return fail(configs.error(), now);
    auto send = transport::SrtpSession::Create(configs->send);
    auto receive = transport::SrtpSession::Create(configs->receive);
    if (!send) return fail(send.error(), now);
    if (!receive) return fail(receive.error(), now);
    srtp_send_.emplace(std::move(send).value());
    srtp_receive_.emplace(std::move(receive).value());
    media_running_ = true;
  }
  if (keys) {
    if (auto p = transport::srtp_profile_from_dtls_id(keys->profile)) srtp_cipher_ = std::string(transport::to_string(*p));
  }
  const sdp::NegotiatedMedia* app = session_ ? session_->find(sdp::MediaKind::kApplication) : nullptr;
  if (app == nullptr || !config_.data_channels) return;
  sctp::SctpConfig sc;
  sc.role = dtls_->role() == dtls::DtlsRole::kClient ? sctp::SctpRole::kDtlsClient : sctp::SctpRole::kDtlsServer;
  sc.local_port = config_.sctp_port;
  sc.remote_port = app->remote_sctp_port;
  sc.max_message_size = config_.max_message_size;
  sc.remote_max_message_size = app->remote_max_message_size;
  sc.max_packet_size = dtls_->max_application_size();
  auto sctp = sctp::SctpAssociation::Create(sc);
  if (!sctp) return fail(sctp.error(), now);
  sctp_ = std::move(sctp).value();
  sctp_->start(now);
  open_pending_channels(now);
  pump_sctp(now);
}

void PeerConnection::pump_sctp(Timestamp now) {
  if (!sctp_) return;
  while (auto p = sctp_->pop_outgoing()) {
    // Refused only when not connected or when the record is above the size SCTP was configured
    // with: SCTP retransmits what is lost. Each record goes out at once, so that a burst (a 256 KiB
    // message is ~230 packets) never fills the DTLS outgoing queue.
    if (!dtls_->send_application(*p, now).ok()) ++counters_.sctp_packets_refused;
    while (auto d = dtls_->pop_outgoing()) ice_send(*d, now);
  }
  while (auto e = sctp_->pop_event()) {
    PeerConnectionEvent out;
    out.channel = handle_of(e->channel).value_or(0);
    switch (e->type) {
      case sctp::SctpEvent::Type::kAssociationUp:
        continue;
      case sctp::SctpEvent::Type::kAssociationDown:
        continue;  // every channel gets its kChannelClosed
      case sctp::SctpEvent::Type::kChannelOpened: {
        if (e->remote) {
          Channel ch;
          ch.stream = e->channel;
          ch.pending = false;
          if (auto s = sctp_->channel_stats(e->channel)) {
            ch.init.label = s->label;
            ch.init.protocol = s->protocol;
          }
          out.channel = next_channel_++;
          channels_.emplace(out.channel, std::move(ch));
        }
        out.type = PeerConnectionEvent::Type::kDataChannelOpen;
        out.remote = e->remote;
        if (auto it = channels_.find(out.channel); it != channels_.end()) out.label = it->second.init.label;
        push_event(std::move(out));
        break;
      }
      case sctp::SctpEvent::Type::kMessage:
        out.type = PeerConnectionEvent::Type::kDataChannelMessage;
        out.binary = e->binary;
        out.data = std::move(e->data);
        push_event(std::move(out), /*droppable=*/true);
        break;
      case sctp::SctpEvent::Type::kBufferedAmountLow:
        out.type = PeerConnectionEvent::Type::kDataChannelBufferedAmountLow;
        push_event(std::move(out));
        break;
      case sctp::SctpEvent::Type::kChannelClosed:
        out.type = PeerConnectionEvent::Type::kDataChannelClosed;
        if (auto it = channels_.find(out.channel); it != channels_.end()) {
          out.label = it->second.init.label;
          channels_.erase(it);
        }
        push_event(std::move(out));
        break;
    }
  }
}

void PeerConnection::fail(const char* reason, Timestamp now) {
  if (failure_reason_ == nullptr) failure_reason_ = reason;
  update_connection_state(now);
}

void PeerConnection::update_connection_state(Timestamp) {
  ConnectionState s = ConnectionState::kNew;
  if (closed_) {
    s = ConnectionState::kClosed;
  } else if (failure_reason_ != nullptr) {
    s = ConnectionState::kFailed;
  } else if ((dtls_state_ == dtls::DtlsState::kConnected || dtls_state_ == dtls::DtlsState::kClosed) &&
             ice_selected_) {
    // W3C connectionState: a DTLS transport the peer closed (close_notify) still counts as
    // connected; only close() makes the connection "closed" (the DTLS state says the rest).
    s = ConnectionState::kConnected;
  } else if (ice_state_ != ice::IceState::kNew || dtls_state_ == dtls::DtlsState::kConnecting) {
    s = ConnectionState::kConnecting;
  }
  if (s == connection_) return;
  connection_ = s;
  PeerConnectionEvent e;
  e.type = PeerConnectionEvent::Type::kConnectionStateChanged;
  e.connection_state = s;
  e.reason = failure_reason_ != nullptr ? failure_reason_ : "";
  push_event(std::move(e));
}

void PeerConnection::close(Timestamp now) {
  if (closed_) return;
  if (dtls_) {
    dtls_->close(now);
    while (auto d = dtls_->pop_outgoing()) ice_send(*d, now);
  }
  for (const auto& [handle, ch] : channels_) {
    PeerConnectionEvent e;
    e.type = PeerConnectionEvent::Type::kDataChannelClosed;
    e.channel = handle;
    e.label = ch.init.label;
    push_event(std::move(e));
  }
  channels_.clear();
  sctp_.reset();
  media_running_ = false;
  if (agent_) agent_->close();
  closed_ = true;
  signaling_ = SignalingState::kClosed;
  update_connection_state(now);
}

// --- State and stats ----------------------------------------------------------------------------

ice::IceState PeerConnection::ice_state() const { return agent_ ? agent_->state() : ice::IceState::kNew; }

dtls::DtlsState PeerConnection::dtls_state() const { return dtls_ ? dtls_->state() : dtls::DtlsState::kNew; }

std::optional<Timestamp> PeerConnection::dtls_connected_at() const {
  return dtls_ ? dtls_->connected_at() : std::nullopt;
}

PeerConnectionStats PeerConnection::get_stats(Timestamp now) const {
  PeerConnectionStats s;
  s.timestamp_ms = (now - Timestamp::Zero()).ms_f();
  if (endpoint_) s.media = endpoint_->stats(now);
  TransportInfo& t = s.transport;
  t = io_;
  t.dtls_state = std::string(dtls::to_string(dtls_state()));
  t.dtls_role = dtls_ ? std::string(dtls::to_string(dtls_->role())) : "unknown";
  if (dtls_) {
    t.tls_version = dtls_->tls_version();
    t.dtls_cipher = dtls_->cipher_suite();
  }
  t.srtp_cipher = srtp_cipher_;
  t.ice_state = ice::to_string(ice_state());
  if (agent_) {
    t.ice_role = ice_role_name(agent_->role());
    if (auto pair = agent_->selected_pair()) {
      auto info = [](const ice::Candidate& c) {
        return CandidateInfo{ice::to_string(c.type), sdp::ip_string(c.address), c.address.port};
      };
      t.local_candidate = info(pair->first);
      t.remote_candidate = info(pair->second);
    }
  }
  if (endpoint_) {
    if (auto rtt = endpoint_->rtt()) t.round_trip_time = rtt->seconds_f();
  }
  if (sctp_) {
    s.data_channels = sctp_->stats();
    s.sctp = sctp_->counters();
    s.usrsctp = sctp_->usrsctp_stats();
  }
  s.counters = counters_;
  if (dtls_) s.counters.fingerprint_mismatches = dtls_->counters().fingerprint_mismatches;
  return s;
}

}  // namespace tern::webrtc
