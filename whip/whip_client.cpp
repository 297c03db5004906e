#include "tern/whip/whip_client.h"

#include <charconv>

#include "tern/core/ascii.h"

namespace tern::whip {
namespace {

bool valid_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

bool valid_path(std::string_view path) {
  for (char c : path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '#') return false;
  }
  return true;
}

HttpRequest base_request(std::string method, const HttpUrl& url, std::string_view token) {
  HttpRequest request;
  request.method = std::move(method);
  request.path = url.path;
  if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + std::string(token));
  return request;
}

}  // namespace

Result<HttpUrl> HttpUrl::parse(std::string_view text) {
  if (text.size() > 2048) return Error{"URL longer than 2048 characters"};
  HttpUrl url;
  size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return Error{"URL without scheme://"};
  std::string_view scheme = text.substr(0, scheme_end);
  if (ascii_iequals(scheme, "http")) {
    url.scheme = "http";
    url.port = 80;
  } else if (ascii_iequals(scheme, "https")) {
    url.scheme = "https";
    url.port = 443;
  } else {
    return Error{"URL scheme is not http or https"};
  }
  text.remove_prefix(scheme_end + 3);
  size_t authority_end = text.find_first_of("/?#");
  std::string_view authority = text.substr(0, authority_end);
  std::string_view rest = authority_end == std::string_view::npos ? std::string_view() : text.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) return Error{"URL with user info is not supported"};
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Error{"URL with an unclosed [IPv6] host"};
    url.host.assign(authority.substr(1, close - 1));
    for (char c : url.host) {
      bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
      if (!ok) return Error{"URL with a malformed [IPv6] host"};
    }
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Error{"URL with garbage after the [IPv6] host"};
      port_text = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    url.host.assign(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    for (char c : url.host) {
      if (!valid_host_char(c)) return Error{"URL with a malformed host"};
    }
  }
  if (url.host.empty()) return Error{"URL without host"};
  if (authority.find(':') != std::string_view::npos && !(authority.front() == '[' && port_text.empty())) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      return Error{"URL with a malformed port"};
    }
    url.port = static_cast<uint16_t>(port);
  }
  rest = rest.substr(0, rest.find('#'));
  if (!valid_path(rest)) return Error{"URL path with spaces or control characters"};
  url.path = rest.empty() || rest.front() != '/' ? "/" + std::string(rest) : std::string(rest);
  return url;
}

std::string HttpUrl::origin() const {
  bool v6 = host.find(':') != std::string::npos;
  std::string out = scheme;
  out += "://";
  if (v6) {
    out += '[';
    out += host;
    out += ']';
  } else {
    out += host;
  }
  if (port != (scheme == "https" ? 443 : 80)) {
    out += ':';
    out += std::to_string(port);
  }
  return out;
}

Result<HttpUrl> HttpUrl::resolve(std::string_view reference) const {
  if (reference.empty()) return Error{"empty URL reference"};
  if (reference.find("://") != std::string_view::npos) return parse(reference);
  if (reference.size() > 2048 || !valid_path(reference)) return Error{"malformed URL reference"};
  if (reference.substr(0, 2) == "//") return Error{"network-path URL references are not supported"};
  HttpUrl out = *this;
  if (reference.front() == '/') {
    out.path = std::string(reference);
  } else {
    std::string_view base = std::string_view(path).substr(0, path.find('?'));
    out.path = std::string(base.substr(0, base.rfind('/') + 1)) + std::string(reference);
  }
  return out;
}

HttpRequest make_offer_request(const HttpUrl& endpoint, std::string offer, std::string_view token) {
  HttpRequest request = base_request("POST", endpoint, token);
  request.headers.emplace_back("Content-Type", "application/sdp");
  request.body = std::move(offer);
  return request;
}

Result<WhipSession> read_offer_response(const HttpUrl& endpoint, const HttpResponse& response) {
  if (response.status == 401 || response.status == 403) return Error{"the WHIP endpoint requires a (valid) bearer token"};
  if (response.status == 503) return Error{"the WHIP endpoint is busy (503)"};
  if (response.status >= 400 && response.status < 500) return Error{"the WHIP endpoint refused the offer (4xx)"};
  if (response.status != 201) return Error{"the WHIP endpoint did not answer 201 Created"};
  auto type = response.header("Content-Type");
  if (!type || !ascii_iequals(type->substr(0, type->find(';')), "application/sdp")) return Error{"the WHIP answer is not application/sdp"};
  if (response.body.empty()) return Error{"the WHIP answer is empty"};
  auto location = response.header("Location");
  if (!location) return Error{"the WHIP 201 has no Location"};
  auto resource = endpoint.resolve(*location);
  if (!resource.ok()) return Error{resource.error()};
  auto servers = parse_ice_server_links(response.headers);
  if (!servers.ok()) return Error{servers.error()};
  WhipSession session;
  session.resource = std::move(resource).value();
  session.answer = response.body;
  if (auto etag = response.header("ETag")) session.etag = std::string(*etag);
  session.ice_servers = std::move(servers).value();
  return session;
}

HttpRequest make_trickle_request(const WhipSession& session, const IceFragment& fragment, std::string_view token) {
  HttpRequest request = base_request("PATCH", session.resource, token);
  request.headers.emplace_back("Content-Type", "application/trickle-ice-sdpfrag");
  if (!session.etag.empty()) request.headers.emplace_back("If-Match", session.etag);
  request.body = fragment.to_string();
  return request;
}

HttpRequest make_restart_request(const WhipSession& session, const IceFragment& fragment, std::string_view token) {
  HttpRequest request = base_request("PATCH", session.resource, token);
  request.headers.emplace_back("Content-Type", "application/trickle-ice-sdpfrag");
  request.headers.emplace_back("If-Match", "*");
  request.body = fragment.to_string();
  return request;
}

HttpRequest make_delete_request(const WhipSession& session, std::string_view token) {
  return base_request("DELETE", session.resource, token);
}

}  // namespace tern::whip
