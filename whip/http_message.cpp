#include "tern/whip/http_message.h"

#include <algorithm>

#include "tern/core/ascii.h"

namespace tern::whip {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<std::string_view> find_header(const HeaderList& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (ascii_iequals(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  return find_header(headers, name);
}

std::string HttpRequest::content_type() const {
  auto value = header("Content-Type");
  if (!value) return "";
  std::string_view type = trim(value->substr(0, value->find(';')));
  std::string out(type);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

std::optional<std::string_view> HttpRequest::bearer_token() const {
  auto value = header("Authorization");
  if (!value) return std::nullopt;
  std::string_view v = trim(*value);
  constexpr std::string_view kScheme = "bearer";
  if (v.size() <= kScheme.size() || !ascii_iequals(v.substr(0, kScheme.size()), kScheme) ||
      (v[kScheme.size()] != ' ' && v[kScheme.size()] != '\t')) {
    return std::nullopt;
  }
  std::string_view token = trim(v.substr(kScheme.size()));
  if (token.empty()) return std::nullopt;
  return token;
}

std::optional<std::string_view> HttpResponse::header(std::string_view name) const {
  return find_header(headers, name);
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "";
  }
}

}  // namespace tern::whip
