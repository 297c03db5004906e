// PeerConnection: one WebRTC peer connection (W3C RTCPeerConnection's shape), sans-I/O. It joins
// the cores below it into one call over one BUNDLE transport:
//
//   socket -> on_datagram -> IceAgent (STUN checks; TURN relay through TurnRelayTransport)
//          -> RFC 7983 demux (transport/demuxer.h classify) -> DtlsTransport (DTLS 20..63)
//                                                          -> SRTP unprotect -> pipeline::Endpoint
//   DtlsTransport application records <-> SctpAssociation (data channels, DCEP)
//   pipeline::Endpoint's datagrams -> SRTP protect -> IceAgent::send on the selected pair
//
// Signalling (JSEP, RFC 9429, through sdp/jsep_negotiator.h): create_offer() / create_answer(),
// set_local_description() / set_remote_description() (text or sdp::SessionDescription), trickled
// candidates both ways (local ones come out as events; add_ice_candidate() takes the peer's, and an
// empty candidate means end-of-candidates). The offerer is the controlling ICE agent and offers
// setup:actpass; the answerer answers active, so it is the DTLS client and takes the even SCTP
// stream ids (RFC 8832 6).
//
// Renegotiation (either side may offer again once stable) is accepted only when it changes no
// media: the same sections, mids, codecs, SSRCs, fingerprint and DTLS role. What it can change is
// ICE: restart_ice() (W3C restartIce()) makes the next offer carry new credentials (RFC 9429
// 5.2.1, o= version incremented), applying it restarts the local ICE agent, and the answer's new
// credentials complete the restart; a remote offer with a new ufrag is a remote restart, and the
// answer carries new local credentials. DTLS, SRTP, SCTP and the media pipeline carry on across
// a restart (no new handshake): data stays on the old pair until the new generation selects one.
// A description that would change media is refused with the reason, state unchanged.
//
// I/O: sockets are opaque ids (ice::SocketId) the driver maps to its own sockets (netsim host ports,
// UDP sockets under transport/epoll_driver): the driver gives every received datagram to
// on_datagram(socket, source, bytes, now), sends what take_outgoing() returns, and calls
// process(now) at next_wakeup(). poll_event() hands out what the application sees (candidates to
// signal, state changes, data channel open/message/close, tracks and first frames).
//
// Order of things: ICE gathering starts at set_local_description(); DTLS starts once ICE selected a
// pair (the client sends its ClientHello then); SRTP sessions are keyed from the DTLS exporter when
// DTLS connects, and only then does the media pipeline run (no media before DTLS is connected);
// the SCTP association starts then too. A peer certificate that does not match the SDP fingerprint
// fails DTLS and the connection (connection state kFailed, reason in failure_reason(), counted).
//
// Bounds and policies when full (webrtc/README.md has the table):
//  - pending remote candidates (before the remote description, or before the ICE agent exists):
//    max_pending_candidates; add_ice_candidate() refuses further ones with an error.
//  - outgoing datagrams: max_outgoing; a new datagram is dropped and counted (like a full socket
//    buffer: ICE, DTLS and SCTP retransmit; RTP loss is repaired by NACK or concealed).
//  - events: max_events; a data channel message that finds the queue full is dropped and counted;
//    state, candidate and channel open/close events are always queued (a few per connection).
//    Drain poll_event() after every call.
//  - what the cores bound themselves (ICE tables, DTLS queues, SCTP send buffer and message sizes):
//    as their headers say.
// Bad input never crashes: SDP that does not parse or breaks JSEP is refused with a reason;
// datagrams are checked by each layer and counted when dropped.
//
// Time: `now` is the driver's clock. Under a simulation, OpenSSL and usrsctp must read the same
// virtual clock (dtls/openssl_virtual_clock.h). usrsctp is process-wide: every PeerConnection of a
// process is driven from one thread and one clock (sctp/README.md). Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/random.h"
#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/dtls/dtls_certificate.h"
#include "tern/dtls/dtls_transport.h"
#include "tern/ice/ice_agent.h"
#include "tern/ice/turn_relay_transport.h"
#include "tern/media/media_source.h"
#include "tern/pipeline/endpoint.h"
#include "tern/pipeline/pipeline_config.h"
#include "tern/sctp/data_channel.h"
#include "tern/sctp/sctp_association.h"
#include "tern/sdp/jsep_negotiator.h"
#include "tern/sdp/sdp_description.h"
#include "tern/transport/srtp_session.h"

namespace tern::webrtc {

// W3C RTCIceServer, one URL each: a STUN server (server-reflexive candidates) or a TURN server over
// UDP (a relayed candidate; its host answers STUN Binding too, so it also gives srflx).
struct IceServer {
  enum class Kind : uint8_t { kStun, kTurn };
  Kind kind = Kind::kStun;
  ice::TransportAddress address;
  std::string username;  // TURN long-term credentials
  std::string password;
};

struct PeerConnectionConfig {
  // The DTLS certificate; null: a fresh ECDSA P-256 one is generated by Create().
  std::shared_ptr<const dtls::DtlsCertificate> certificate;
  // The driver's sockets (ids it maps to its own), each with its host candidate address.
  std::vector<ice::LocalSocket> sockets;
  std::vector<IceServer> ice_servers;
  ice::IceTransportPolicy ice_transport_policy = ice::IceTransportPolicy::kAll;

  // Local media: what to offer/accept and send, and codec preferences.
  bool audio = true;
  bool video = true;
  bool send_audio = true;
  bool send_video = true;
  bool vp8 = true;
  bool vp9 = true;
  bool video_rtx = true;
  // Offer/accept video red/90000 + ulpfec/90000 (and a peer's RTX for RED): with NACK, ULPFEC
  // protection sized by the reported loss and the RTT (pipeline ProtectionPolicy), as Chromium
  // negotiates by default. On: toward a Chromium receiver, whose jitter buffer waits ~30-90 ms for
  // tern's frames, NACK alone froze 8 times in 30 s at 3% loss and 170 ms RTT, with FEC 0
  // (docs/side-by-side.md).
  bool video_fec = true;
  // The numbers this side's offers use (an answer takes the offerer's): payload types and header
  // extension ids (sdp's defaults, Chromium's numbers).
  sdp::OfferPayloadTypes payload_types;
  sdp::OfferExtensionIds extension_ids;
  bool data_channels = true;  // an application section (SCTP) in offers and answers
  // What the SDP does not decide: resolution, frame rate, rates, media sources' seeds.
  pipeline::EndpointConfig media;
  // Application media (not owned; each must outlive the PeerConnection; null: none). Sources sent
  // instead of the synthetic camera and microphone (pipeline::Endpoint::set_video_source: a video
  // source delivers media.send.width x height pictures, an audio source 48 kHz mono or stereo).
  media::VideoSource* video_source = nullptr;
  media::AudioSource* audio_source = nullptr;
  // Sees every RTP packet received once SRTP has unprotected it (plain RTP, before the pipeline;
  // not RTCP), e.g. to record what arrives (tools/net/receive_tap.h with the SSRCs and payload
  // types of endpoint()->config(), which exists by the first packet).
  std::function<void(std::span<const uint8_t> rtp, Timestamp now)> on_received_rtp;
  // Identity: SSRCs, cname, msid (sdp::LocalCapabilities' defaults; give the two ends of a test
  // different SSRCs).
  uint32_t audio_ssrc = 0x1000'0001;
  uint32_t video_ssrc = 0x1000'0002;
  uint32_t video_rtx_ssrc = 0x1000'0003;
  std::string cname = "tern";

  // SCTP (RFC 8841): our port and the largest message we accept (Chromium: 262144).
  uint16_t sctp_port = 5000;
  uint32_t max_message_size = 262144;

  uint64_t seed = 1;  // ICE credentials, tie-breaker, transaction ids, TURN transactions
  size_t max_pending_candidates = 64;
  size_t max_outgoing = 2048;  // datagrams
  size_t max_events = 4096;
  size_t mtu = 1200;  // DTLS records and SCTP packets
};

enum class SdpType : uint8_t { kOffer, kAnswer };
std::string_view to_string(SdpType type);

// W3C RTCSessionDescriptionInit.
struct SessionDescriptionInit {
  SdpType type = SdpType::kOffer;
  std::string sdp;
};

// W3C RTCIceCandidateInit: `candidate` is "candidate:..." (the a=candidate value with its
// "candidate:" prefix; the bare value is taken too); empty = end-of-candidates.
struct IceCandidateInit {
  std::string candidate;
  std::string sdp_mid;
  // W3C usernameFragment: the ICE generation (ufrag) the candidate belongs to; "" = the current
  // one. Local candidates carry it; a remote one of a generation not yet applied (it raced ahead
  // of the description restarting ICE) waits in the pending queue until that description, and
  // one of an older generation is dropped then.
  std::string username_fragment = {};
};

enum class SignalingState : uint8_t { kStable, kHaveLocalOffer, kHaveRemoteOffer, kClosed };
// W3C RTCPeerConnectionState. kDisconnected is not produced yet (ICE consent loss ends in the
// agent's kFailed, which fails the connection).
enum class ConnectionState : uint8_t { kNew, kConnecting, kConnected, kDisconnected, kFailed, kClosed };
std::string_view to_string(SignalingState state);
std::string_view to_string(ConnectionState state);

// A data channel's handle in this PeerConnection (not its SCTP stream id, which is known only once
// the DTLS role is: data_channel_id()).
using DataChannelHandle = uint32_t;

struct PeerConnectionEvent {
  enum class Type : uint8_t {
    kLocalCandidate,          // `candidate` (to signal to the peer); empty: gathering complete
    kIceStateChanged,         // `ice_state`
    kDtlsStateChanged,        // `dtls_state` (`reason` when failed)
    kConnectionStateChanged,  // `connection_state` (`reason` when failed)
    kTrack,                   // the peer sends `kind` ("audio" / "video") on `mid`
    kFirstFrame,              // first decoded video frame / first decoded audio of `kind`
    kDataChannelOpen,         // `channel` (with `label`; `remote` when the peer opened it)
    kDataChannelMessage,      // `channel`, `binary`, `data`
    kDataChannelBufferedAmountLow,  // `channel`
    kDataChannelClosed,       // `channel`
  };
  Type type = Type::kLocalCandidate;
  IceCandidateInit candidate;
  ice::IceState ice_state = ice::IceState::kNew;
  dtls::DtlsState dtls_state = dtls::DtlsState::kNew;
  ConnectionState connection_state = ConnectionState::kNew;
  const char* reason = "";
  std::string kind;
  std::string mid;
  DataChannelHandle channel = 0;
  std::string label;
  bool remote = false;
  bool binary = false;
  std::vector<uint8_t> data;
};

// W3C RTCTransportStats + the selected RTCIceCandidatePair with its candidates, for the one
// BUNDLE transport. Counts are of every datagram through ICE (STUN, DTLS, SRTP), both ways.
struct CandidateInfo {
  std::string candidate_type;  // "host", "srflx", "prflx", "relay"
  std::string address;         // IP
  uint16_t port = 0;
};
struct TransportInfo {
  std::string tls_version;  // "DTLSv1.2" (hex "FEFD" in W3C; the name here)
  std::string dtls_cipher;  // IANA name, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
  std::string srtp_cipher;  // "AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80"
  std::string dtls_role;    // "client" / "server" / "unknown"
  std::string dtls_state;   // "new", "connecting", "connected", "closed", "failed"
  std::string ice_state;    // the agent's state
  std::string ice_role;     // "controlling" / "controlled"
  std::optional<CandidateInfo> local_candidate, remote_candidate;  // the selected pair
  std::optional<double> round_trip_time;  // seconds: the media session's RTCP RTT
  uint64_t packets_sent = 0, packets_received = 0;
  uint64_t bytes_sent = 0, bytes_received = 0;
};

struct PeerConnectionCounters {
  uint64_t remote_descriptions_refused = 0;  // set_remote_description errors
  uint64_t datagrams_before_ice = 0;         // received before set_local_description (dropped)
  uint64_t candidates_refused = 0;           // add_ice_candidate errors (malformed, queue full)
  uint64_t dtls_before_transport = 0;        // DTLS datagrams before the transport existed (dropped)
  uint64_t media_before_srtp = 0;            // RTP/RTCP before DTLS connected (dropped)
  uint64_t unknown_datagrams = 0;            // application data of no RFC 7983 class we carry
  uint64_t srtp_unprotect_failures = 0;
  uint64_t srtp_protect_failures = 0;
  uint64_t ice_send_failures = 0;            // no selected pair / consent
  uint64_t sctp_packets_refused = 0;         // DTLS refused an SCTP packet (SCTP retransmits)
  uint64_t outgoing_dropped = 0;             // max_outgoing
  uint64_t events_dropped = 0;               // data channel messages lost to max_events
  uint64_t fingerprint_mismatches = 0;       // DTLS peer certificate != SDP fingerprint
  uint64_t dtls_handshakes = 0;              // DTLS associations connected (1 across ICE restarts)
  uint64_t renegotiations = 0;               // later offer/answer exchanges completed
  uint64_t renegotiations_refused = 0;       // later descriptions refused (they changed media)
  uint64_t ice_restarts = 0;                 // local ICE agent restarts (local or remote-initiated)
  uint64_t ice_restarts_remote = 0;          // ... of them initiated by the peer's offer
  uint64_t selected_pair_changes = 0;        // the agent selected a pair (the first one counts)
  uint64_t stale_candidates = 0;             // remote candidates of an older ICE generation (dropped)
};

struct PeerConnectionStats {
  double timestamp_ms = 0;
  pipeline::StatsReport media;  // the pipeline's webrtc-stats (empty before negotiation)
  TransportInfo transport;
  std::vector<sctp::DataChannelStats> data_channels;
  std::optional<sctp::SctpCounters> sctp;  // the association's counters, once it exists
  std::optional<sctp::UsrsctpLibrary::Stats> usrsctp;  // usrsctp's, process-wide (see its header)
  PeerConnectionCounters counters;

  // The whole as one webrtc-stats JSON object keyed by id (keys sorted, as StatsReport::to_json):
  // the pipeline's entries, its "transport" entry with tlsVersion, dtlsCipher, srtpCipher,
  // dtlsRole, dtlsState, iceState, iceRole (and tern's counts of every datagram through ICE), the
  // selected pair's "local-candidate" / "remote-candidate" entries (referenced from the
  // "candidate-pair"), one "data-channel" entry per channel, and a "peer-connection" entry with
  // the counters. `indent` < 0 gives one line.
  std::string to_json(int indent = 2) const;
};

struct DataChannelOptions {
  bool ordered = true;
  std::optional<uint16_t> max_retransmits;
  std::optional<uint16_t> max_packet_lifetime_ms;
  std::string protocol;
  bool negotiated = false;
  std::optional<uint16_t> id;  // required when negotiated
};

class PeerConnection {
 public:
  // Validates the config (at least one socket, sane bounds), generates the certificate if none was
  // given and the ICE credentials from the seed.
  static Result<std::unique_ptr<PeerConnection>> Create(PeerConnectionConfig config);
  ~PeerConnection();
  PeerConnection(const PeerConnection&) = delete;
  PeerConnection& operator=(const PeerConnection&) = delete;

  // --- Signalling (JSEP) ---
  // An offer of audio, video and an application section as configured (stable state only). Once
  // negotiated, the current local description again (same media, setup:actpass, o= version + 1),
  // with new ICE credentials after restart_ice().
  Result<SessionDescriptionInit> create_offer(Timestamp now);
  // W3C restartIce(): the next offer restarts ICE (new ufrag/pwd). Before the first negotiation it
  // changes nothing (the first offer's credentials are new anyway).
  void restart_ice();
  // The local ICE credentials in use (the newest generation once applied).
  const ice::IceCredentials& local_ice_credentials() const { return local_credentials_; }
  // The peer's ICE ufrag of the current generation ("" before negotiation).
  std::string remote_ice_ufrag() const { return session_ ? session_->remote_ice_ufrag : std::string(); }
  // The local ufrag of the generation that selected the current pair (after a restart it is the
  // new one once the restart selected a pair), if any.
  std::optional<std::string> selected_ice_ufrag() const;
  // The answer to the remote offer (have-remote-offer only).
  Result<SessionDescriptionInit> create_answer(Timestamp now);
  // Takes the description last created (munged SDP is refused). Starts ICE gathering; an answer
  // completes the negotiation.
  Status set_local_description(const SessionDescriptionInit& description, Timestamp now);
  // Parses and checks the peer's description. An answer completes the negotiation (DTLS role,
  // remote fingerprint and credentials, the media pipeline). Errors leave the state unchanged.
  Status set_remote_description(const SessionDescriptionInit& description, Timestamp now);
  Status set_remote_description(SdpType type, const sdp::SessionDescription& description, Timestamp now);
  // A trickled remote candidate; an empty candidate is end-of-candidates. Before the remote
  // description (or the ICE agent) exists, it waits in a bounded queue.
  Status add_ice_candidate(const IceCandidateInit& candidate, Timestamp now);
  // W3C localDescription: the description set by set_local_description() with the local
  // candidates gathered so far in its BUNDLE section (and a=end-of-candidates once gathering is
  // done), for peers that take no trickled candidates (a non-trickle offer or answer, RFC 8838
  // 4.1: gather, then signal this). nullopt before set_local_description().
  std::optional<SessionDescriptionInit> local_description() const;
  // W3C remoteDescription: the peer's description last applied (as given), nullopt before. A
  // signalling protocol that restarts ICE without SDP (WHIP's PATCH, RFC 9725 4.4) builds the
  // restart offer or answer from it with the new credentials.
  std::optional<SessionDescriptionInit> remote_description() const { return remote_set_description_; }

  // --- Data channels ---
  // Opens when the SCTP association is up (kDataChannelOpen). Refused when data channels are off
  // or the connection is closed.
  Result<DataChannelHandle> create_data_channel(std::string_view label, const DataChannelOptions& options,
                                                Timestamp now);
  // One message (refused before open, above the peer's max-message-size, or when the send buffer
  // is full).
  Status send(DataChannelHandle channel, std::span<const uint8_t> data, bool binary, Timestamp now);
  Status send_text(DataChannelHandle channel, std::string_view text, Timestamp now);
  void close_data_channel(DataChannelHandle channel, Timestamp now);
  size_t buffered_amount(DataChannelHandle channel) const;
  void set_buffered_amount_low_threshold(DataChannelHandle channel, size_t bytes);
  // The SCTP stream id, once known.
  std::optional<uint16_t> data_channel_id(DataChannelHandle channel) const;

  // --- I/O ---
  void on_datagram(ice::SocketId socket, const ice::TransportAddress& source, std::span<const uint8_t> data,
                   Timestamp now);
  std::vector<ice::IceOutgoing> take_outgoing();
  std::optional<Timestamp> next_wakeup() const;
  void process(Timestamp now);
  std::optional<PeerConnectionEvent> poll_event();

  // close_notify to the peer (drain take_outgoing()), channels and ICE closed. Idempotent.
  void close(Timestamp now);

  // --- State and stats ---
  SignalingState signaling_state() const { return signaling_; }
  ConnectionState connection_state() const { return connection_; }
  ice::IceState ice_state() const;
  dtls::DtlsState dtls_state() const;
  // Why the connection failed (static text), "" otherwise.
  const char* failure_reason() const { return failure_reason_ != nullptr ? failure_reason_ : ""; }
  PeerConnectionStats get_stats(Timestamp now) const;
  const PeerConnectionCounters& counters() const { return counters_; }
  const dtls::DtlsCertificate& certificate() const { return *config_.certificate; }
  // The pipeline, once negotiated (null before, or with neither audio nor video).
  const pipeline::Endpoint* endpoint() const { return endpoint_.get(); }
  std::optional<Timestamp> dtls_connected_at() const;

 private:
  class MediaSink;
  class Listeners;
  struct Channel {
    std::optional<uint16_t> stream;  // SCTP id once assigned
    sctp::DataChannelInit init;
    bool pending = true;  // waits for the association to exist
  };

  explicit PeerConnection(PeerConnectionConfig config);
  sdp::LocalCapabilities capabilities() const;
  Status apply_remote_description(SdpType type, const sdp::SessionDescription& description, Timestamp now);
  Status start_ice(bool controlling, Timestamp now);
  Status negotiated(const sdp::NegotiatedSession& session, Timestamp now);
  // A later exchange that changes no media: only ICE (new remote credentials and candidates).
  void renegotiated(const sdp::NegotiatedSession& session, Timestamp now);
  void restart_local_ice(const ice::IceCredentials& credentials, Timestamp now);
  ice::IceCredentials new_credentials();
  void add_remote_candidate(const IceCandidateInit& candidate, Timestamp now);
  void flush_pending_candidates(Timestamp now);
  void handle_application(std::span<const uint8_t> data, Timestamp now);
  void on_media_out(std::vector<uint8_t> datagram, Timestamp now);
  void ice_send(std::span<const uint8_t> data, Timestamp now);
  // Moves what the cores produced along: ICE events, DTLS datagrams and state, SCTP packets and
  // events, outgoing datagrams.
  void pump(Timestamp now);
  void pump_ice(Timestamp now);
  void pump_dtls(Timestamp now);
  void pump_sctp(Timestamp now);
  void on_dtls_connected(Timestamp now);
  void collect_outgoing();
  void push_outgoing(ice::IceOutgoing out);
  void push_event(PeerConnectionEvent event, bool droppable = false);
  void update_connection_state(Timestamp now);
  void fail(const char* reason, Timestamp now);
  std::optional<DataChannelHandle> handle_of(uint16_t stream) const;
  void open_pending_channels(Timestamp now);

  PeerConnectionConfig config_;
  Random random_;
  ice::IceCredentials local_credentials_;
  bool restart_pending_ = false;                         // restart_ice(), until an offer applies it
  std::optional<ice::IceCredentials> offered_credentials_;  // in the last created offer / answer
  uint64_t session_version_ = 2;                         // o= version of our last description
  SignalingState signaling_ = SignalingState::kStable;
  ConnectionState connection_ = ConnectionState::kNew;
  const char* failure_reason_ = nullptr;

  std::optional<sdp::SessionDescription> local_offer_;   // created or set
  std::optional<sdp::SessionDescription> remote_offer_;
  std::optional<sdp::Answer> pending_answer_;             // created, not yet set
  std::optional<std::string> last_created_;              // text of the last create_*()
  std::optional<SessionDescriptionInit> local_set_;       // as set, without candidates
  std::optional<SessionDescriptionInit> remote_set_description_;
  std::vector<std::string> local_candidates_;            // a=candidate values gathered (bounded)
  bool local_gathering_done_ = false;
  std::optional<sdp::NegotiatedSession> session_;
  std::string bundle_mid_;

  std::optional<ice::IceAgent> agent_;
  std::unique_ptr<ice::TurnRelayTransport> relay_;
  ice::SocketId relay_socket_ = 0;
  ice::TransportAddress relay_server_;
  bool remote_set_ = false;
  std::deque<IceCandidateInit> pending_candidates_;
  ice::IceState ice_state_ = ice::IceState::kNew;
  bool ice_selected_ = false;

  std::unique_ptr<dtls::DtlsTransport> dtls_;
  dtls::DtlsState dtls_state_ = dtls::DtlsState::kNew;
  std::optional<transport::SrtpSession> srtp_send_;
  std::optional<transport::SrtpSession> srtp_receive_;
  std::string srtp_cipher_;

  std::unique_ptr<MediaSink> media_sink_;
  std::unique_ptr<Listeners> listeners_;
  std::unique_ptr<pipeline::Endpoint> endpoint_;
  bool media_running_ = false;

  std::unique_ptr<sctp::SctpAssociation> sctp_;
  std::map<DataChannelHandle, Channel> channels_;
  DataChannelHandle next_channel_ = 1;

  std::vector<ice::IceOutgoing> outgoing_;
  std::deque<PeerConnectionEvent> events_;
  TransportInfo io_;  // packet and byte counts
  PeerConnectionCounters counters_;
  bool closed_ = false;
};

}  // namespace tern::webrtc
