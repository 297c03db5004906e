// SfuServer: tern-sfu's sans-I/O core. Rooms of one publisher (WHIP, RFC 9725) and its subscribers
// (WHEP), or, with `room_mode` kCall, one-to-one call rooms of two publishers each subscribing to
// the other (subscribe_peer()), every session on the server's one UDP socket:
//   - publish()/subscribe() answer a client's SDP offer (JSEP; BUNDLE, rtcp-mux, a=ice-lite, the
//     one host candidate of the UDP socket, a=setup:active: the server is the DTLS client) and
//     create the session's SfuSession (ICE-lite agent, DTLS, SRTP) and its leg in the media router;
//   - on_datagram() routes every datagram the socket receives: a STUN request by its USERNAME (the
//     server's ufrag names the session), anything else by the 5-tuple that session's ICE agent
//     validated (its selected pair); the rest is dropped and counted (`unauthenticated_dropped`);
//   - with `tcp_address`, ICE-TCP too (RFC 6544 passive, RFC 4571 framing): on_stream_*() take the
//     driver's TCP connections, each bound to one session by its first, authenticated Binding
//     request (see on_stream_opened());
//   - the router (pipeline::MediaRouter) forwards the publisher's RTP at the RTP level to every
//     subscriber of its room, with per-hop NACK/RTX, PLI/FIR relayed upstream at most once per
//     `keyframe_request_interval`, per-subscriber sequence rewriting, transport-cc terminated per
//     hop, SR/RR regenerated per hop.
// Sessions end on end_session() (the client's DELETE), on a DTLS or ICE failure, when they have not
// connected within `connect_timeout`, or when nothing authenticated came from the client for
// `idle_timeout` (RFC 7675's 30 s consent; a subscriber that stops answering is dropped, never
// buffered for): take_ended() tells the driver which (so the WHIP resource goes too).
//
// Driving it: take_outgoing() after every call (datagrams to send from the socket), process(now)
// at next_wakeup(). Single-threaded; no socket, clock or thread inside.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "tern/codecs/codec_type.h"
#include "tern/core/buffer_pool.h"
#include "tern/core/ip_address.h"
#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/dtls/dtls_certificate.h"
#include "tern/ice/candidate.h"
#include "tern/ice/transport_address.h"
#include "tern/pipeline/media_router.h"
#include "tern/pipeline/pipeline_config.h"
#include "tern/sfu/sfu_session.h"

namespace tern::sfu {

enum class SessionRole : uint8_t { kPublisher, kSubscriber };
const char* to_string(SessionRole role);

using SessionId = uint64_t;

// What a room's publisher sends: the router's streams (SSRCs, payload types, RTX), the video codec
// and the publisher's cname; also what a subscriber's answer carries.
struct PublishedMedia {
  std::optional<pipeline::MediaRouter::ForwardedStream> audio;
  std::optional<pipeline::MediaRouter::ForwardedStream> video;
  std::optional<codecs::CodecType> video_codec;
  std::string cname;
};

// A look at what publishers send, for a driver that records (tern-sfu --record-dir) or monitors:
// set in SfuConfig::media_tap, called synchronously from publish(), on_datagram() and whichever
// call ends the session. It must not call back into the server. Nothing is copied for it: the
// packet span is valid during the call only.
class MediaTap {
 public:
  virtual ~MediaTap() = default;
  // A publisher was admitted (its answer is about to go out).
  virtual void on_publisher_started(SessionId id, std::string_view room, const PublishedMedia& media, Timestamp now) = 0;
  // One decrypted RTP packet of that publisher (RTX included, as it came), before the router sees
  // it. After each call the server takes the tap's keyframe requests (take_keyframe_requests()).
  virtual void on_publisher_rtp(SessionId id, std::span<const uint8_t> packet, Timestamp now) = 0;
  // One decrypted RTCP compound packet of that publisher (its SRs map each stream's RTP timestamps
  // to its NTP clock), before the router sees it. Ignored by default.
  virtual void on_publisher_rtcp(SessionId, std::span<const uint8_t>, Timestamp) {}
  // Keyframes the tap wants of a publisher's video SSRC (tern-sfu's recorder switching simulcast
  // encodings): the server asks the publisher (a PLI through the router, within
  // keyframe_request_interval per stream like subscribers' requests). Taken after every
  // on_publisher_rtp(); the tap bounds what it returns. None by default.
  struct KeyframeRequest {
    SessionId publisher = 0;
    uint32_t ssrc = 0;
  };
  virtual std::vector<KeyframeRequest> take_keyframe_requests() { return {}; }
  // The publisher's session ended (DELETE, failure, timeout, drain); no more packets for `id`.
  virtual void on_publisher_ended(SessionId id, Timestamp now) = 0;
};

// kBroadcast: a room has one publisher and its subscribers. kCall: a room is a one-to-one call: it
// takes two publishers (a third is refused 409), and each side subscribes to the other with
// subscribe_peer() (WHEP POST /whep/<its own WHIP resource id>); subscribe(room) still watches a
// room's publisher while it is the only one (409 once there are two: the subscriber must say which).
enum class RoomMode : uint8_t { kBroadcast, kCall };
const char* to_string(RoomMode mode);

struct SfuConfig {
  ice::TransportAddress address;  // the UDP socket's address: every session's one host candidate
  std::shared_ptr<const dtls::DtlsCertificate> certificate;  // null: one is generated
  size_t max_sessions = 256;              // publishers and subscribers together
  size_t max_subscribers_per_room = 64;
  RoomMode room_mode = RoomMode::kBroadcast;
  size_t max_room_name = 64;
  size_t max_outgoing = 16384;            // datagrams queued between take_outgoing() calls
  TimeDelta keyframe_request_interval = TimeDelta::Millis(300);
  TimeDelta connect_timeout = TimeDelta::Seconds(15);
  TimeDelta idle_timeout = TimeDelta::Seconds(30);
  // Unused by sessions since each has its own ids (the router stamps and rewrites per leg, from
  // the offer's extmap lines); kept as the router's default map.
  pipeline::ExtensionIds extension_ids;
  // Probing toward subscribers whose estimate is short of their next layer (MediaRouter::Config::
  // subscriber_probing): padding per subscriber and for the whole server, each a token bucket of
  // this rate holding one second's worth.
  bool subscriber_probing = true;
  DataRate probe_budget_per_session = DataRate::KilobitsPerSec(300);
  DataRate probe_budget_total = DataRate::MegabitsPerSec(20);
  // A subscriber's GCC estimate before its feedback says otherwise (MediaRouter::Config::
  // subscriber_start_rate): what its first layer choices are made by.
  DataRate subscriber_start_rate = DataRate::KilobitsPerSec(1500);
  // What one publisher may send (RTP: media, RTX, FEC, padding). Its answer's video section carries
  // it as b=TIAS (bps) and b=AS (kbps), which browsers take as their send limit; RTP beyond
  // `publisher_policer_headroom` x this on average (a token bucket holding one second of that rate,
  // for keyframes and retransmission bursts) is dropped before the router and counted, so a client
  // that ignores the answer cannot push more through the server. Zero: no limit.
  DataRate max_publisher_bitrate = DataRate::KilobitsPerSec(8000);
  double publisher_policer_headroom = 1.5;
  // The publishers of this server together, each counted at max_publisher_bitrate (what it may
  // send, not what it sends now: admission does not depend on a moment's rate); a publisher beyond
  // it is refused 503. Zero: no limit.
  DataRate max_total_publisher_bitrate = DataRate::MegabitsPerSec(1000);
  // SRTP of every session: OpenSSL EVP (tern's, the default) or libsrtp2 (SfuSessionConfig).
  transport::SrtpBackend srtp_backend = transport::SrtpBackend::kOpenSsl;
  NtpClock ntp_clock;
  uint64_t seed = 1;  // router numbering, RTCP; ICE credentials come from RAND_bytes
  MediaTap* media_tap = nullptr;  // not owned; must outlive the server
  // ICE restarts (restart()) a session may make in any 60 s; more are refused 429.
  size_t max_restarts_per_minute = 6;

  // ICE-TCP (RFC 6544, passive only; framing RFC 4571): the driver's listening TCP socket. Set, every
  // answer also carries `a=candidate:2 1 tcp <prio> <ip> <port> typ host tcptype passive`, priced
  // below the UDP candidate (RFC 6544 4.2: type preference 90, passive direction preference), and
  // the driver feeds accepted connections to on_stream_*().
  std::optional<ice::TransportAddress> tcp_address;
  // Test only (tern-sfu --no-udp-candidates): the answer carries no UDP candidate, so a client
  // must use TCP. The UDP socket still works for a client that learns its address elsewhere.
  bool udp_candidate = true;
  size_t max_tcp_connections = 256;  // beyond: on_stream_opened() says close
  // A connection that has not been bound to a session (its first frame an authenticated Binding
  // request) within this long is closed (take_closed_streams()).
  TimeDelta tcp_unbound_timeout = TimeDelta::Seconds(10);
};


// Why an offer was not taken: an HTTP status (400 bad offer, 404 no publisher (yet), 409 the room
// has its publisher(s) or a call room's subscriber must name a side, 422 cannot be served, 503 full
// or draining) and a one-line reason.
struct SfuRefusal {
  int status = 422;
  std::string reason;
};

struct SfuAnswer {
  SessionId id = 0;
  std::string sdp;
};

// The server's side of an ICE restart: its new credentials and its one candidate, for the PATCH's
// trickle-ice-sdpfrag answer (RFC 9725 4.4), in the section `kind`/`mid` (the BUNDLE's first).
struct SfuRestart {
  ice::IceCredentials local;
  ice::Candidate candidate;
  std::string kind;
  std::string mid;
};

struct SfuCounters {
  uint64_t datagrams_received = 0;
  uint64_t datagrams_sent = 0;
  uint64_t routed_by_username = 0;
  uint64_t routed_by_address = 0;
  uint64_t unauthenticated_dropped = 0;  // unknown 5-tuple and not a STUN request of a known ufrag
  uint64_t outgoing_dropped = 0;         // max_outgoing reached
  uint64_t sessions_created = 0;
  uint64_t sessions_refused = 0;
  uint64_t publishers_refused_bitrate = 0;  // of sessions_refused: max_total_publisher_bitrate reached
  uint64_t sessions_ended = 0;           // by end_session()
  uint64_t sessions_failed = 0;          // ICE/DTLS failure or SRTP keying
  uint64_t sessions_timed_out = 0;       // connect_timeout or idle_timeout
  uint64_t ice_restarts = 0;             // restart() applied
  uint64_t ice_restarts_refused = 0;     // restart() refused (unknown session, bad credentials, rate)
  uint64_t tcp_connections_accepted = 0;
  uint64_t tcp_connections_refused = 0;  // max_tcp_connections reached
  uint64_t tcp_connections_bound = 0;    // first frame an authenticated Binding request
  uint64_t tcp_garbage_closed = 0;       // unbound connection whose first frame was anything else
  uint64_t tcp_unbound_timed_out = 0;    // tcp_unbound_timeout
  uint64_t tcp_frames_received = 0;
  uint64_t tcp_outgoing_unroutable = 0;  // a session's TCP packet with no connection to its peer: dropped
};

// A TCP connection of the driver's listening socket (any non-zero id the driver chooses, unique
// among its open connections).
using ConnectionId = uint64_t;

struct SfuOutgoing {
  ice::TransportAddress destination;
  std::vector<uint8_t> data;  // a datagram, or for a connection the RFC 4571 frame (length prefix included)
  ConnectionId connection = 0;  // 0: a datagram from the UDP socket; else write `data` to that connection
};

// What the driver does with a TCP connection after a call: keep reading, or close it.
enum class StreamVerdict : uint8_t { kKeep, kClose };

class SfuServer {
 public:
  static Result<std::unique_ptr<SfuServer>> Create(SfuConfig config);
  ~SfuServer();
  SfuServer(const SfuServer&) = delete;
  SfuServer& operator=(const SfuServer&) = delete;

  // A publisher for `room` (at most one per room; two in a call room) from its WHIP offer: the
  // answer, or why not.
  std::variant<SfuAnswer, SfuRefusal> publish(std::string_view room, std::string_view offer, Timestamp now);
  // A subscriber of `room`'s publisher (which must exist and, in a call room, be the only one) from
  // its WHEP offer.
  std::variant<SfuAnswer, SfuRefusal> subscribe(std::string_view room, std::string_view offer, Timestamp now);
  // A call room's side subscribing to the other side: `self` is the caller's own publisher session.
  // 404 while the other side has not published (the client retries), or when `self` is not a
  // publisher of a call room.
  std::variant<SfuAnswer, SfuRefusal> subscribe_peer(SessionId self, std::string_view offer, Timestamp now);
  // Ends a session (DTLS close_notify goes out with the next take_outgoing()). False when unknown.
  bool end_session(SessionId id, Timestamp now);
  // An ICE restart of session `id` with the client's new credentials `remote` (its WHIP/WHEP
  // PATCH, If-Match: "*"): the server's new credentials and candidate, or why not: 404 unknown
  // session, 400 credentials of illegal length or the client's current ones (not a restart), 429
  // more than `max_restarts_per_minute`, 503 no fresh random credentials. A refusal changes nothing.
  // Until the new generation's checks from the client's selected address succeed (or nominate a
  // new pair) STUN requests are routed by the old ufrag too; then the old one is forgotten. Media
  // follows the pair the client nominates: a new address is routed to only after ICE authenticated
  // it. DTLS, SRTP and the router leg stay.
  std::variant<SfuRestart, SfuRefusal> restart(SessionId id, const ice::IceCredentials& remote, Timestamp now);
  // Sessions the server ended on its own since the last call (failure, timeout).
  std::vector<SessionId> take_ended();
  // Stops taking offers (503 "draining") and ends every session: a graceful shutdown.
  void drain(Timestamp now);
  bool draining() const { return draining_; }

  // Every datagram the UDP socket receives.
  void on_datagram(const ice::TransportAddress& source, std::span<const uint8_t> data, Timestamp now);
  std::vector<SfuOutgoing> take_outgoing();
  // The datagrams take_outgoing() gave, once sent: their buffers take the router's next forwarded
  // copies (no malloc and free per subscriber per packet). Optional: without it the router allocates.
  void recycle(std::vector<SfuOutgoing>&& sent);

  // ICE-TCP, the driver's accepted connections (sans-I/O: bytes in, verdicts and framed bytes out).
  // A connection starts unbound; its first RFC 4571 frame must be a STUN Binding request whose
  // USERNAME names a session AND that the session's agent authenticates: then the connection is
  // bound to that session and every later frame goes to it (as from the agent's TCP socket, the
  // peer's address as source). Anything else first (garbage, a wrong ufrag or password) is counted
  // and the verdict is kClose. Bounds: max_tcp_connections; at most one partial frame (2 + 65535
  // bytes) is kept per connection between calls (a frame is at most that by its 16-bit length);
  // unbound connections are closed after tcp_unbound_timeout. A session's end closes its
  // connections (take_closed_streams()).
  StreamVerdict on_stream_opened(ConnectionId connection, const ice::TransportAddress& source, Timestamp now);
  StreamVerdict on_stream_bytes(ConnectionId connection, std::span<const uint8_t> bytes, Timestamp now);
  // The driver closed it (peer closed, error, a send queue overflow, or a verdict).
  void on_stream_closed(ConnectionId connection);
  // Connections the server wants closed since the last call (ended session, unbound timeout).
  std::vector<ConnectionId> take_closed_streams();
  size_t stream_count() const { return streams_.size(); }

  std::optional<Timestamp> next_wakeup() const;
  void process(Timestamp now);

  size_t session_count() const { return sessions_.size(); }
  // Entries of the STUN USERNAME routing table (a session's ufrag; two during a restart).
  size_t ufrag_routes() const { return by_ufrag_.size(); }
  // ICE restarts session `id` made (0 when unknown).
  uint64_t ice_restarts(SessionId id) const;
  bool has_session(SessionId id) const { return sessions_.count(id) != 0; }
  const SfuCounters& counters() const { return counters_; }
  // One session's pieces, for stats and tests (null / zeros when unknown).
  const SfuSession* session(SessionId id) const;
  pipeline::MediaRouter::LegCounters leg_counters(SessionId id) const;
  // Server, rooms and sessions as one JSON object (the /stats endpoint).
  std::string stats_json(Timestamp now) const;
  // The same figures in Prometheus' text exposition format (version 0.0.4; the /metrics endpoint):
  // server counters and gauges, and per session counters labelled {session, room, role}.
  std::string prometheus_metrics() const;

 private:
  struct Session;
  struct Room;
  class RouterInput;

  explicit SfuServer(SfuConfig config);
  std::variant<SfuAnswer, SfuRefusal> admit(SessionRole role, std::string_view room, std::optional<SessionId> self,
                                            std::string_view offer, Timestamp now);
  void remove(SessionId id, Timestamp now);
  void collect(Session& s);
  void route_by_address(Session& s, const ice::TransportAddress& source);
  struct Stream {
    ice::TransportAddress source;
    Timestamp opened;
    SessionId session = 0;  // 0: unbound
    std::vector<uint8_t> buffer;  // the partial frame
  };
  StreamVerdict on_frame(ConnectionId connection, Stream& st, std::span<const uint8_t> frame, Timestamp now);
  void close_stream(ConnectionId connection);

  SfuConfig config_;
  // Recycled datagram buffers for the router's forwarded copies (MediaRouter::Config::buffers):
  // 1536 bytes each (a packet up to 1504 bytes and SRTP's tail room), at most 4096 kept (6 MiB);
  // more given back are freed. Declared before the router, which points to it.
  BufferPool buffers_{1536, 4096};
  std::unique_ptr<pipeline::MediaRouter> router_;
  std::map<SessionId, std::unique_ptr<Session>> sessions_;
  std::map<std::string, Room, std::less<>> rooms_;
  std::unordered_map<std::string, SessionId> by_ufrag_;
  std::unordered_map<TransportAddress, SessionId> by_address_;
  SessionId next_id_ = 1;
  bool draining_ = false;
  std::vector<SessionId> ended_;
  std::vector<SfuOutgoing> outgoing_;
  // Sessions with datagrams queued since the last take_outgoing() (each at most once; a removed
  // session leaves it): at most every session.
  std::vector<Session*> pending_;
  // Every session's deadline (its transport's timers, its connect or idle timeout), in session id
  // order, in one flat array: next_wakeup() and process() run at every wakeup of the worker, and
  // a session's deadline moves only when the server calls into it (a datagram, a TCP frame,
  // process(), a restart), which marks it `dirty`; the router sending it media moves none of its
  // timers. `failed`: process() ends it at its next call, as it checked every session before.
  // One entry per session (max_sessions).
  struct SessionWake {
    SessionId id = 0;
    Session* session = nullptr;
    Timestamp at = Timestamp::PlusInfinity();
    bool dirty = true;
    bool failed = false;
  };
  mutable std::vector<SessionWake> wakes_;
  void touch(SessionId id);
  void refresh(SessionWake& w) const;
  std::map<ConnectionId, Stream> streams_;
  std::vector<ConnectionId> closed_streams_;  // at most one entry per stream (erased when queued)
  SfuCounters counters_;
};

}  // namespace tern::sfu
