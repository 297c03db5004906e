// The client side of WHIP (RFC 9725) / WHEP, sans-I/O: it builds the requests and reads the
// responses; an HTTP client (tools/net/http_bridge.h: cpp-httplib) sends them.
//
//   auto url = HttpUrl::parse("http://127.0.0.1:8080/whip").value();
//   HttpRequest post = make_offer_request(url, offer_sdp, token);     // send it
//   auto session = read_offer_response(url, response).value();       // answer, resource URL, ETag
//   make_trickle_request(session, fragment, token); make_delete_request(session, token);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/result.h"
#include "tern/whip/http_message.h"
#include "tern/whip/trickle_fragment.h"
#include "tern/whip/whip_endpoint.h"  // IceServerLink

namespace tern::whip {

// An http:// or https:// URL: scheme, host (a name, an IPv4 address or a bracketed IPv6 one),
// port (80/443 by default) and path (with its query; "/" when empty). No user info, no fragment.
struct HttpUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets
  uint16_t port = 0;
  std::string path;

  static Result<HttpUrl> parse(std::string_view text);
  // "http://host:port" (brackets around an IPv6 host).
  std::string origin() const;
  std::string to_string() const { return origin() + path; }
  // RFC 3986 5.2 for the forms a Location takes: an absolute URL, an absolute path, or a path
  // relative to this URL's directory.
  Result<HttpUrl> resolve(std::string_view reference) const;
};

struct WhipSession {
  HttpUrl resource;  // the session URL from Location
  std::string answer;
  std::string etag;  // "" when the server sent none
  std::vector<IceServerLink> ice_servers;
};

HttpRequest make_offer_request(const HttpUrl& endpoint, std::string offer, std::string_view token = {});
// The 201's answer, Location (resolved against the endpoint) and ETag; an error naming the status
// class otherwise ("the WHIP endpoint refused the offer (4xx)", "... requires authentication").
Result<WhipSession> read_offer_response(const HttpUrl& endpoint, const HttpResponse& response);

HttpRequest make_trickle_request(const WhipSession& session, const IceFragment& fragment, std::string_view token = {});
// If-Match: "*" and the new credentials; the 200's body is the server's new fragment.
HttpRequest make_restart_request(const WhipSession& session, const IceFragment& fragment, std::string_view token = {});
HttpRequest make_delete_request(const WhipSession& session, std::string_view token = {});

}  // namespace tern::whip
