// Test support for tests that run tern's own programs (build/tools/...): where a tool is, a JSON
// file a tool wrote, and a GET to a tool's HTTP server (tern-sfu's /stats and /metrics).
#pragma once

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "tern/tools/net/http_bridge.h"

namespace tern::test {

inline std::string tool_path(const char* name) { return std::string(TERN_BINARY_DIR) + "/tools/" + name; }

// The file parsed; a discarded (null-like) value when it is missing or not JSON.
inline nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return nlohmann::json::parse(s.str(), nullptr, false);
}

// GET base + path: the body of a 200 answer, "" otherwise (no server, timeout, another status).
inline std::string http_get(const std::string& base, const std::string& path) {
  auto url = whip::HttpUrl::parse(base + path);
  if (!url) return "";
  whip::HttpRequest request;
  request.method = "GET";
  request.path = path;
  auto response = tools::net::http_request(*url, request, TimeDelta::Seconds(2));
  if (!response || response->status != 200) return "";
  return response->body;
}

}  // namespace tern::test
