#include "tern/core/ip_address.h"

#include <cstdio>
#include <vector>

namespace tern {
namespace {

// Parses a decimal IPv4 dotted quad into 4 bytes.
bool parse_v4(std::string_view s, uint8_t* out) {
  int part = 0;
  size_t i = 0;
  while (part < 4) {
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
    uint32_t v = 0;
    size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + static_cast<uint32_t>(s[i] - '0');
      if (++digits > 3 || v > 255) return false;
      ++i;
    }
    out[part++] = static_cast<uint8_t>(v);
    if (part < 4) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses one side of "::" (groups separated by ':', the last may be a dotted quad when it ends
// the address) into 16-bit groups.
bool parse_groups(std::string_view s, bool may_end_v4, std::vector<uint16_t>& groups) {
  if (s.empty()) return true;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t colon = s.find(':', start);
    const std::string_view g = s.substr(start, colon == std::string_view::npos ? s.npos : colon - start);
    if (colon == std::string_view::npos && may_end_v4 && g.find('.') != std::string_view::npos) {
      uint8_t v4[4];
      if (!parse_v4(g, v4)) return false;
      groups.push_back(static_cast<uint16_t>((v4[0] << 8) | v4[1]));
      groups.push_back(static_cast<uint16_t>((v4[2] << 8) | v4[3]));
      return groups.size() <= 8;
    }
    if (g.empty() || g.size() > 4) return false;
    uint32_t v = 0;
    for (char c : g) {
      const int h = hex_value(c);
      if (h < 0) return false;
      v = v * 16 + static_cast<uint32_t>(h);
    }
    groups.push_back(static_cast<uint16_t>(v));
    if (groups.size() > 8) return false;
    if (colon == std::string_view::npos) return true;
    start = colon + 1;
    if (start == s.size()) return false;  // trailing ':'
  }
  return true;
}

bool parse_v6(std::string_view s, std::array<uint8_t, 16>& out) {
  std::vector<uint16_t> head, tail;
  const size_t gap = s.find("::");
  if (gap == std::string_view::npos) {
    if (!parse_groups(s, true, head) || head.size() != 8) return false;
  } else {
    if (s.find("::", gap + 1) != std::string_view::npos) return false;
    if (!parse_groups(s.substr(0, gap), false, head)) return false;
    if (!parse_groups(s.substr(gap + 2), true, tail)) return false;
    if (head.size() + tail.size() > 7) return false;
  }
  std::array<uint16_t, 8> g{};
  for (size_t i = 0; i < head.size(); ++i) g[i] = head[i];
  for (size_t i = 0; i < tail.size(); ++i) g[8 - tail.size() + i] = tail[i];
  for (size_t i = 0; i < 8; ++i) {
    out[2 * i] = static_cast<uint8_t>(g[i] >> 8);
    out[2 * i + 1] = static_cast<uint8_t>(g[i]);
  }
  return true;
}

}  // namespace

IpAddress IpAddress::V4(uint32_t host_order) {
  IpAddress a;
  a.family_ = Family::kV4;
  a.bytes_[0] = static_cast<uint8_t>(host_order >> 24);
  a.bytes_[1] = static_cast<uint8_t>(host_order >> 16);
  a.bytes_[2] = static_cast<uint8_t>(host_order >> 8);
  a.bytes_[3] = static_cast<uint8_t>(host_order);
  return a;
}

IpAddress IpAddress::V6(const std::array<uint8_t, 16>& bytes) {
  IpAddress a;
  a.family_ = Family::kV6;
  a.bytes_ = bytes;
  return a;
}

Result<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  if (text.empty() || text.size() > 45) return Error{"ip address: empty or too long"};
  if (text.find(':') == std::string_view::npos) {
    uint8_t b[4];
    if (!parse_v4(text, b)) return Error{"ip address: bad IPv4 dotted quad"};
    return V4(b[0], b[1], b[2], b[3]);
  }
  std::array<uint8_t, 16> b{};
  if (!parse_v6(text, b)) return Error{"ip address: bad IPv6 text"};
  return V6(b);
}

uint32_t IpAddress::v4() const {
  if (!is_v4()) return 0;
  return (uint32_t{bytes_[0]} << 24) | (uint32_t{bytes_[1]} << 16) | (uint32_t{bytes_[2]} << 8) | bytes_[3];
}

bool IpAddress::is_loopback() const {
  if (is_v4()) return bytes_[0] == 127;
  if (!is_v6()) return false;
  for (size_t i = 0; i < 15; ++i)
    if (bytes_[i] != 0) return false;
  return bytes_[15] == 1;
}

bool IpAddress::is_private() const {
  if (is_v4()) {
    const uint8_t a = bytes_[0], b = bytes_[1];
    return a == 10 || (a == 172 && (b & 0xF0) == 16) || (a == 192 && b == 168) || (a == 169 && b == 254);
  }
  if (is_v6()) return (bytes_[0] & 0xFE) == 0xFC || (bytes_[0] == 0xFE && (bytes_[1] & 0xC0) == 0x80);
  return false;
}

std::string IpAddress::to_string() const {
  char buf[48];
  if (is_v4()) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", bytes_[0], bytes_[1], bytes_[2], bytes_[3]);
    return buf;
  }
  if (!is_v6()) return "";
  uint16_t g[8];
  for (size_t i = 0; i < 8; ++i) g[i] = static_cast<uint16_t>((bytes_[2 * i] << 8) | bytes_[2 * i + 1]);
  // RFC 5952: the longest run (>= 2) of zero groups, the first on a tie, becomes "::".
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len && j - i >= 2) best = i, best_len = j - i;
    i = j;
  }
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::snprintf(buf, sizeof buf, "%x", g[i]);
    out += buf;
  }
  return out;
}

std::string TransportAddress::to_string() const {
  std::string out;
  out.reserve(56);
  if (ip.is_v6()) out.push_back('[');
  out.append(ip.to_string());
  if (ip.is_v6()) out.push_back(']');
  out.push_back(':');
  out.append(std::to_string(port));
  return out;
}

Result<TransportAddress> TransportAddress::Parse(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 >= text.size()) return Error{"transport address: no port"};
  std::string_view host = text.substr(0, colon);
  if (host.find(':') != std::string_view::npos && !(host.size() >= 2 && host.front() == '[' && host.back() == ']'))
    return Error{"transport address: IPv6 needs brackets"};
  uint32_t port = 0;
  for (char c : text.substr(colon + 1)) {
    if (c < '0' || c > '9') return Error{"transport address: bad port"};
    port = port * 10 + static_cast<uint32_t>(c - '0');
    if (port > 65535) return Error{"transport address: port out of range"};
  }
  auto ip = IpAddress::Parse(host);
  if (!ip) return Error{ip.error()};
  return TransportAddress{*ip, static_cast<uint16_t>(port)};
}

size_t hash_value(const IpAddress& ip) {
  uint64_t h = 1469598103934665603ull ^ static_cast<uint64_t>(ip.family());
  for (size_t i = 0; i < ip.size(); ++i) h = (h ^ ip.bytes()[i]) * 1099511628211ull;
  return static_cast<size_t>(h);
}

}  // namespace tern
