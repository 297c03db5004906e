// HttpRequest / HttpResponse: the HTTP messages the WHIP/WHEP logic reads and writes, as plain
// values. No parsing of the wire format here: an HTTP library (cpp-httplib in tools/net) does that
// and fills these in, so the signalling logic stays sans-I/O and testable without sockets.
//
// Header names are compared case-insensitively (RFC 9110 5.1); a header that appears more than once
// is kept once per appearance (Link does, for ICE servers).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tern::whip {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "POST", "PATCH", "DELETE", "OPTIONS", ...
  std::string path;    // the target's path, without query string ("/whip/endpoint")
  HeaderList headers;
  std::string body;

  // The first header of that name, nullopt when absent.
  std::optional<std::string_view> header(std::string_view name) const;
  // The media type of Content-Type without parameters, lower case ("application/sdp"); "" when absent.
  std::string content_type() const;
  // The token of "Authorization: Bearer <token>" (RFC 6750 2.1), nullopt when absent or another scheme.
  std::optional<std::string_view> bearer_token() const;
};

struct HttpResponse {
  int status = 200;
  HeaderList headers;
  std::string body;

  std::optional<std::string_view> header(std::string_view name) const;
  HttpResponse& add(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

// The standard reason phrase of a status code ("Created", "Precondition Failed"), "" when unknown.
std::string_view reason_phrase(int status);

}  // namespace tern::whip
