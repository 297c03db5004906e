// WhipEndpoint: the server side of WHIP (RFC 9725) and WHEP signalling, sans-I/O. An HTTP server
// (any: tools/net/http_bridge.h uses cpp-httplib) hands each request as an HttpRequest to handle()
// and writes back the HttpResponse. What a session *is* (a PeerConnection, an SFU participant) is
// the application's, behind SessionHandler.
//
// Resources:
//   POST    <endpoint_path>[/<name>]        body: SDP offer (application/sdp)
//           -> 201 Created, Location: <resource_path>/<id>, ETag, body: SDP answer, Link: ICE servers
//   PATCH   <resource_path>/<id>            body: application/trickle-ice-sdpfrag (RFC 8840)
//           -> 204 (trickled candidates), or with If-Match: "*" and new credentials an ICE restart
//              -> 200 with the server's new fragment and a new ETag (RFC 9725 4.4); the header's
//              value may be the bare `*` of RFC 9110 or the quoted `"*"` of RFC 9725's example
//   DELETE  <resource_path>/<id>            -> 200, the session ends
//   OPTIONS either                          -> 204 with Allow/Accept-Post/Accept-Patch (and CORS)
// WHEP (egress) has the same shape: the player POSTs its offer; `kind` only changes the texts.
//
// Errors, each with a one-line text/plain reason: 400 (malformed SDP or fragment, empty body),
// 401 + WWW-Authenticate: Bearer (missing or wrong token, when tokens are configured), 404
// (unknown path or resource), 405 + Allow (method), 412 (If-Match does not match the resource's
// ETag), 413 (body above max_body), 415 (Content-Type), 422 (an offer or fragment the handler
// cannot serve), 503 + Retry-After (max_sessions reached, or the handler is busy).
//
// Security: with tokens configured every request but OPTIONS (a CORS preflight carries no
// credentials) must carry one of them (compared in constant time); resource ids are 128 random bits
// (OpenSSL's RAND_bytes unless the config gives a generator), so a resource URL is not guessable.
// Bounds: at most max_sessions resources (policy: refuse new ones with 503), bodies above max_body
// refused before the handler sees them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tern/core/units.h"
#include "tern/whip/http_message.h"
#include "tern/whip/trickle_fragment.h"

namespace tern::whip {

// Why the handler did not accept: the HTTP status (400, 405, 409, 422, 503) and a static reason.
struct Refusal {
  int status = 422;
  const char* reason = "";
};

// The application's side of the sessions. Called from handle(), on the caller's thread.
class SessionHandler {
 public:
  virtual ~SessionHandler() = default;
  // A new session `id` (already unique) from an offer posted to the endpoint `name` ("" for the
  // endpoint path itself; a room or stream name otherwise). Returns the SDP answer.
  virtual std::variant<std::string, Refusal> create_session(const std::string& id, std::string_view name,
                                                            std::string_view offer, Timestamp now) = 0;
  // Trickled candidates (and end-of-candidates) for a session.
  virtual std::optional<Refusal> trickle(const std::string& id, const IceFragment& fragment, Timestamp now) = 0;
  // An ICE restart with the client's new credentials and candidates; returns the server's fragment
  // (its new ufrag/pwd and candidates). The default refuses with 405: restarts not supported.
  virtual std::variant<IceFragment, Refusal> restart(const std::string& id, const IceFragment& fragment,
                                                     Timestamp now);
  // The client deleted the session (DELETE); the session is gone from the endpoint already.
  virtual void end_session(const std::string& id, Timestamp now) = 0;
};

// One ICE server for the Link headers of a 201 (RFC 9725 4.6, RFC 8288): "stun:host:port",
// "turn:host:port?transport=udp", with credentials for TURN.
struct IceServerLink {
  std::string url;
  std::string username;
  std::string credential;
  std::string to_header_value() const;
};

enum class SignallingKind : uint8_t { kWhip, kWhep };

struct WhipEndpointConfig {
  SignallingKind kind = SignallingKind::kWhip;
  std::string endpoint_path = "/whip";           // POST here, or below: "/whip/<name>"
  std::string resource_path = "/whip/resource";  // the sessions: "<resource_path>/<id>"
  std::vector<std::string> bearer_tokens;        // empty: no authentication
  std::vector<IceServerLink> ice_servers;
  // Access-Control-Allow-Origin for browsers' fetch() from another origin; "" sends no CORS headers.
  std::string cors_origin;
  size_t max_sessions = 64;
  size_t max_body = 64 * 1024;
  size_t max_name_length = 64;
  // Makes resource ids; empty: 32 hex digits from RAND_bytes. Tests give a deterministic one.
  std::function<std::string()> id_generator;
};

struct WhipCounters {
  uint64_t requests = 0;
  uint64_t sessions_created = 0;
  uint64_t sessions_deleted = 0;   // by DELETE
  uint64_t sessions_dropped = 0;   // by the application (drop())
  uint64_t trickles = 0;
  uint64_t restarts = 0;
  uint64_t unauthorized = 0;
  uint64_t refused = 0;            // every 4xx/5xx answer, including the ones above
};

class WhipEndpoint {
 public:
  WhipEndpoint(WhipEndpointConfig config, SessionHandler& handler);

  HttpResponse handle(const HttpRequest& request, Timestamp now);

  // The application ended a session on its own (its peer failed or closed): the resource goes
  // away, a later DELETE or PATCH gets 404. No handler call. False when unknown.
  bool drop(const std::string& id);

  size_t session_count() const { return sessions_.size(); }
  bool has_session(const std::string& id) const { return sessions_.count(id) != 0; }
  const WhipCounters& counters() const { return counters_; }
  const WhipEndpointConfig& config() const { return config_; }

 private:
  struct Session {
    std::string etag;
    uint64_t etag_generation = 0;
  };
  HttpResponse post(const HttpRequest& request, std::string_view name, Timestamp now);
  HttpResponse patch(const HttpRequest& request, const std::string& id, Timestamp now);
  HttpResponse remove(const std::string& id, Timestamp now);
  HttpResponse options(bool resource) const;
  HttpResponse error(int status, std::string_view reason);
  bool authorized(const HttpRequest& request) const;
  void add_cors(HttpResponse& response) const;
  std::string new_id();
  std::string make_etag(const std::string& id, uint64_t generation) const;

  WhipEndpointConfig config_;
  SessionHandler& handler_;
  std::map<std::string, Session> sessions_;
  WhipCounters counters_;
};

// Parses the ICE servers of Link headers (RFC 8288: "<url>; rel="ice-server"; username="u";
// credential="p"", several comma-separated per header); links with another rel are skipped, a
// malformed link is an error. At most 16 servers.
Result<std::vector<IceServerLink>> parse_ice_server_links(const HeaderList& headers);

}  // namespace tern::whip
