#include "tern/whip/whip_endpoint.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstdio>

#include "tern/core/ascii.h"

namespace tern::whip {
namespace {

constexpr std::string_view kSdpType = "application/sdp";
constexpr std::string_view kFragmentType = "application/trickle-ice-sdpfrag";

// `path` is `prefix` or below it ("/whip" matches "/whip" and "/whip/x", not "/whipx"); the rest
// after "prefix/" goes to `rest`.
bool under(std::string_view path, std::string_view prefix, std::string_view& rest) {
  if (path.substr(0, prefix.size()) != prefix) return false;
  path.remove_prefix(prefix.size());
  if (path.empty()) {
    rest = {};
    return true;
  }
  if (path.front() != '/') return false;
  rest = path.substr(1);
  return true;
}

bool valid_name(std::string_view name, size_t max) {
  if (name.size() > max) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return name != "." && name != "..";
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// RFC 8288 link-value: "<" URI ">" *( OWS ";" OWS link-param ); link-param = token BWS [ "=" BWS
// ( token / quoted-string ) ].
struct LinkCursor {
  std::string_view s;
  void skip_ws() {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  }
  bool eat(char c) {
    skip_ws();
    if (s.empty() || s.front() != c) return false;
    s.remove_prefix(1);
    return true;
  }
  bool token(std::string& out) {
    skip_ws();
    size_t n = 0;
    while (n < s.size() && s[n] != '=' && s[n] != ';' && s[n] != ',' && s[n] != ' ' && s[n] != '\t' && s[n] != '"') ++n;
    if (n == 0) return false;
    out.assign(s.substr(0, n));
    s.remove_prefix(n);
    return true;
  }
  bool value(std::string& out) {
    skip_ws();
    if (s.empty()) return false;
    if (s.front() != '"') return token(out);
    s.remove_prefix(1);
    out.clear();
    while (!s.empty() && s.front() != '"') {
      if (s.front() == '\\') {
        s.remove_prefix(1);
        if (s.empty()) return false;
      }
      out += s.front();
      s.remove_prefix(1);
      if (out.size() > 1024) return false;
    }
    return eat('"');
  }
};

}  // namespace

std::variant<IceFragment, Refusal> SessionHandler::restart(const std::string&, const IceFragment&, Timestamp) {
  return Refusal{405, "this endpoint does not support ICE restarts"};
}

std::string IceServerLink::to_header_value() const {
  std::string out = "<" + url + ">; rel=\"ice-server\"";
  if (!username.empty()) out += "; username=" + quoted(username);
  if (!credential.empty()) out += "; credential=" + quoted(credential) + "; credential-type=\"password\"";
  return out;
}

WhipEndpoint::WhipEndpoint(WhipEndpointConfig config, SessionHandler& handler)
    : config_(std::move(config)), handler_(handler) {}

HttpResponse WhipEndpoint::handle(const HttpRequest& request, Timestamp now) {
  ++counters_.requests;
  std::string_view rest;
  // The resource path first: it may lie below the endpoint path ("/whip/resource" under "/whip").
  if (under(request.path, config_.resource_path, rest)) {
    if (rest.empty() || rest.find('/') != std::string_view::npos) return error(404, "no such WHIP resource");
    if (request.method == "OPTIONS") return options(true);
    if (request.method != "PATCH" && request.method != "DELETE") {
      return error(405, "method not allowed on a session resource").add("Allow", "PATCH, DELETE, OPTIONS");
    }
    if (!authorized(request)) {
      ++counters_.unauthorized;
      return error(401, "missing or invalid bearer token").add("WWW-Authenticate", "Bearer");
    }
    std::string id(rest);
    if (!sessions_.count(id)) return error(404, "no such WHIP resource");
    return request.method == "PATCH" ? patch(request, id, now) : remove(id, now);
  }
  if (under(request.path, config_.endpoint_path, rest)) {
    if (request.method == "OPTIONS") return options(false);
    if (request.method != "POST") return error(405, "method not allowed on the endpoint").add("Allow", "POST, OPTIONS");
    if (!authorized(request)) {
      ++counters_.unauthorized;
      return error(401, "missing or invalid bearer token").add("WWW-Authenticate", "Bearer");
    }
    if (!valid_name(rest, config_.max_name_length)) return error(404, "invalid endpoint name");
    return post(request, rest, now);
  }
  return error(404, "not a WHIP endpoint");
}

HttpResponse WhipEndpoint::post(const HttpRequest& request, std::string_view name, Timestamp now) {
  if (request.content_type() != kSdpType) return error(415, "the offer must be application/sdp").add("Accept-Post", std::string(kSdpType));
  if (request.body.size() > config_.max_body) return error(413, "offer larger than the endpoint accepts");
  if (request.body.empty()) return error(400, "empty offer");
  if (sessions_.size() >= config_.max_sessions) return error(503, "too many sessions").add("Retry-After", "5");
  std::string id = new_id();
  for (int attempt = 0; sessions_.count(id) && attempt < 8; ++attempt) id = new_id();
  if (sessions_.count(id)) return error(500, "could not make a unique resource id");
  auto outcome = handler_.create_session(id, name, request.body, now);
  if (auto* refusal = std::get_if<Refusal>(&outcome)) {
    HttpResponse response = error(refusal->status, refusal->reason);
    if (refusal->status == 503) response.add("Retry-After", "5");
    return response;
  }
  Session& session = sessions_[id];
  session.etag = make_etag(id, 0);
  ++counters_.sessions_created;
  HttpResponse response;
  response.status = 201;
  response.add("Content-Type", std::string(kSdpType));
  response.add("Location", config_.resource_path + "/" + id);
  response.add("ETag", session.etag);
  for (const auto& server : config_.ice_servers) response.add("Link", server.to_header_value());
  add_cors(response);
  response.body = std::move(std::get<std::string>(outcome));
  return response;
}

HttpResponse WhipEndpoint::patch(const HttpRequest& request, const std::string& id, Timestamp now) {
  if (request.content_type() != kFragmentType) {
    return error(415, "PATCH must be application/trickle-ice-sdpfrag").add("Accept-Patch", std::string(kFragmentType));
  }
  if (request.body.size() > config_.max_body) return error(413, "ICE fragment larger than the endpoint accepts");
  auto fragment = IceFragment::parse(request.body);
  if (!fragment.ok()) return error(400, fragment.error());
  Session& session = sessions_.at(id);
  auto if_match = request.header("If-Match");
  // RFC 9110 13.1.1's `*`, or `"*"` as RFC 9725 4.4's example prints it (and browser pages copy it):
  // no resource's ETag is "*", so the quoted form can only mean a restart.
  bool restart = if_match && (*if_match == "*" || *if_match == "\"*\"");
  if (if_match && !restart && *if_match != session.etag) return error(412, "If-Match does not match the session's ETag");
  if (!restart) {
    ++counters_.trickles;
    if (auto refusal = handler_.trickle(id, fragment.value(), now)) return error(refusal->status, refusal->reason);
    HttpResponse response;
    response.status = 204;
    add_cors(response);
    return response;
  }
  if (!fragment.value().ufrag || !fragment.value().pwd) return error(400, "an ICE restart needs a=ice-ufrag and a=ice-pwd");
  auto outcome = handler_.restart(id, fragment.value(), now);
  if (auto* refusal = std::get_if<Refusal>(&outcome)) return error(refusal->status, refusal->reason);
  ++counters_.restarts;
  auto it = sessions_.find(id);  // the handler may have dropped it meanwhile
  if (it == sessions_.end()) return error(404, "no such WHIP resource");
  it->second.etag = make_etag(id, ++it->second.etag_generation);
  HttpResponse response;
  response.status = 200;
  response.add("Content-Type", std::string(kFragmentType));
  response.add("ETag", it->second.etag);
  add_cors(response);
  response.body = std::get<IceFragment>(outcome).to_string();
  return response;
}

HttpResponse WhipEndpoint::remove(const std::string& id, Timestamp now) {
  sessions_.erase(id);
  ++counters_.sessions_deleted;
  handler_.end_session(id, now);
  HttpResponse response;
  response.status = 200;
  add_cors(response);
  return response;
}

bool WhipEndpoint::drop(const std::string& id) {
  if (!sessions_.erase(id)) return false;
  ++counters_.sessions_dropped;
  return true;
}

HttpResponse WhipEndpoint::options(bool resource) const {
  HttpResponse response;
  response.status = 204;
  if (resource) {
    response.add("Allow", "PATCH, DELETE, OPTIONS");
    response.add("Accept-Patch", std::string(kFragmentType));
  } else {
    response.add("Allow", "POST, OPTIONS");
    response.add("Accept-Post", std::string(kSdpType));
  }
  add_cors(response);
  if (!config_.cors_origin.empty()) {
    response.add("Access-Control-Allow-Methods", resource ? "PATCH, DELETE, OPTIONS" : "POST, OPTIONS");
    response.add("Access-Control-Allow-Headers", "Content-Type, Authorization, If-Match");
    response.add("Access-Control-Max-Age", "600");
  }
  return response;
}

HttpResponse WhipEndpoint::error(int status, std::string_view reason) {
  ++counters_.refused;
  HttpResponse response;
  response.status = status;
  response.add("Content-Type", "text/plain");
  add_cors(response);
  response.body = std::string(reason) + "\n";
  return response;
}

bool WhipEndpoint::authorized(const HttpRequest& request) const {
  if (config_.bearer_tokens.empty()) return true;
  auto token = request.bearer_token();
  if (!token) return false;
  bool match = false;
  for (const auto& expected : config_.bearer_tokens) {
    // Constant time in the token's contents (the lengths are not secret enough to hide).
    if (expected.size() == token->size() && CRYPTO_memcmp(expected.data(), token->data(), expected.size()) == 0) {
      match = true;
    }
  }
  return match;
}

void WhipEndpoint::add_cors(HttpResponse& response) const {
  if (config_.cors_origin.empty()) return;
  response.add("Access-Control-Allow-Origin", config_.cors_origin);
  response.add("Access-Control-Expose-Headers", "Location, ETag, Link");
}

std::string WhipEndpoint::new_id() {
  if (config_.id_generator) return config_.id_generator();
  unsigned char bytes[16] = {};
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return "";  // refused as not unique by the caller's check
  char hex[33] = {};
  for (size_t i = 0; i < sizeof(bytes); ++i) std::snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
  return std::string(hex, 32);
}

std::string WhipEndpoint::make_etag(const std::string& id, uint64_t generation) const {
  std::string etag = "\"";
  etag.append(id, 0, 8);
  etag += '-';
  etag += std::to_string(generation);
  etag += '"';
  return etag;
}

Result<std::vector<IceServerLink>> parse_ice_server_links(const HeaderList& headers) {
  std::vector<IceServerLink> out;
  for (const auto& [name, value] : headers) {
    if (!ascii_iequals(name, "Link")) continue;
    LinkCursor c{value};
    while (true) {
      c.skip_ws();
      if (c.s.empty()) break;
      if (!c.eat('<')) return Error{"malformed Link header: expected <uri>"};
      size_t close = c.s.find('>');
      if (close == std::string_view::npos || close == 0 || close > 1024) return Error{"malformed Link header: bad <uri>"};
      IceServerLink link;
      link.url.assign(c.s.substr(0, close));
      c.s.remove_prefix(close + 1);
      bool ice_server = false;
      while (c.eat(';')) {
        std::string param, param_value;
        if (!c.token(param)) return Error{"malformed Link header: bad parameter"};
        if (c.eat('=') && !c.value(param_value)) return Error{"malformed Link header: bad parameter value"};
        if (ascii_iequals(param, "rel")) ice_server = param_value == "ice-server";
        if (ascii_iequals(param, "username")) link.username = param_value;
        if (ascii_iequals(param, "credential")) link.credential = param_value;
      }
      if (ice_server) {
        if (out.size() == 16) return Error{"more than 16 ICE servers in Link headers"};
        out.push_back(std::move(link));
      }
      c.skip_ws();
      if (c.s.empty()) break;
      if (!c.eat(',')) return Error{"malformed Link header: expected , between links"};
    }
  }
  return out;
}

}  // namespace tern::whip
