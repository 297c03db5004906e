#include "tern/sdp/webrtc_attributes.h"

#include <charconv>

#include "tern/core/ascii.h"

namespace tern::sdp {
namespace {

// Fields separated by runs of spaces or tabs (leading and trailing ones ignored).
std::vector<std::string_view> fields(std::string_view s, size_t max_fields = 64) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size() && out.size() <= max_fields) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    if (i == s.size()) break;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

template <typename T>
std::optional<T> number(std::string_view s, T max) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return static_cast<T>(v);
}

std::optional<uint8_t> parse_payload_type(std::string_view s) { return number<uint8_t>(s, 127); }

// "<first> <rest>" split at the first run of whitespace; rest may be empty.
std::pair<std::string_view, std::string_view> head_rest(std::string_view s) {
  const size_t sp = s.find_first_of(" \t");
  if (sp == std::string_view::npos) return {s, {}};
  const size_t rest = s.find_first_not_of(" \t", sp);
  return {s.substr(0, sp), rest == std::string_view::npos ? std::string_view() : s.substr(rest)};
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<ice::CandidateType> candidate_type(std::string_view s) {
  if (s == "host") return ice::CandidateType::kHost;
  if (s == "srflx") return ice::CandidateType::kServerReflexive;
  if (s == "prflx") return ice::CandidateType::kPeerReflexive;
  if (s == "relay") return ice::CandidateType::kRelay;
  return std::nullopt;
}

const char* candidate_type_name(ice::CandidateType t) {
  switch (t) {
    case ice::CandidateType::kHost: return "host";
    case ice::CandidateType::kServerReflexive: return "srflx";
    case ice::CandidateType::kPeerReflexive: return "prflx";
    case ice::CandidateType::kRelay: return "relay";
  }
  return "host";
}

}  // namespace

std::string_view to_string(Direction d) {
  switch (d) {
    case Direction::kSendRecv: return "sendrecv";
    case Direction::kSendOnly: return "sendonly";
    case Direction::kRecvOnly: return "recvonly";
    case Direction::kInactive: return "inactive";
  }
  return "sendrecv";
}

std::optional<Direction> direction_from_name(std::string_view name) {
  if (name == "sendrecv") return Direction::kSendRecv;
  if (name == "sendonly") return Direction::kSendOnly;
  if (name == "recvonly") return Direction::kRecvOnly;
  if (name == "inactive") return Direction::kInactive;
  return std::nullopt;
}

Direction direction_of(const AttributeList& list) {
  for (const Attribute& a : list.attributes)
    if (!a.value)
      if (auto d = direction_from_name(a.name)) return *d;
  return Direction::kSendRecv;
}

bool sends(Direction d) { return d == Direction::kSendRecv || d == Direction::kSendOnly; }
bool receives(Direction d) { return d == Direction::kSendRecv || d == Direction::kRecvOnly; }
Direction make_direction(bool send, bool receive) {
  if (send) return receive ? Direction::kSendRecv : Direction::kSendOnly;
  return receive ? Direction::kRecvOnly : Direction::kInactive;
}

Result<RtpMap> RtpMap::parse(std::string_view value) {
  const auto [pt_text, rest] = head_rest(value);
  const auto pt = parse_payload_type(pt_text);
  if (!pt) return Error{"rtpmap payload type is not 0..127"};
  const std::string_view enc = trim(rest);
  const size_t s1 = enc.find('/');
  if (s1 == std::string_view::npos || s1 == 0) return Error{"rtpmap needs <encoding>/<clock rate>"};
  const std::string_view rate_ch = enc.substr(s1 + 1);
  const size_t s2 = rate_ch.find('/');
  RtpMap m;
  m.payload_type = *pt;
  m.encoding = std::string(enc.substr(0, s1));
  const auto rate = number<uint32_t>(rate_ch.substr(0, s2), 0xFFFFFFFFu);
  if (!rate || *rate == 0) return Error{"rtpmap clock rate is not a positive number"};
  m.clock_rate = *rate;
  if (s2 != std::string_view::npos) {
    const auto ch = number<uint16_t>(rate_ch.substr(s2 + 1), 255);
    if (!ch || *ch == 0) return Error{"rtpmap channels is not 1..255"};
    m.channels = *ch;
  }
  return m;
}

std::string RtpMap::to_value() const {
  std::string v = std::to_string(payload_type) + ' ' + encoding + '/' + std::to_string(clock_rate);
  if (channels) v += '/' + std::to_string(channels);
  return v;
}

Result<Fmtp> Fmtp::parse(std::string_view value) {
  const auto [pt_text, rest] = head_rest(value);
  const auto pt = parse_payload_type(pt_text);
  if (!pt) return Error{"fmtp payload type is not 0..127"};
  return Fmtp{*pt, std::string(trim(rest))};
}

std::string Fmtp::to_value() const { return std::to_string(payload_type) + ' ' + parameters; }

std::optional<std::string_view> Fmtp::parameter(std::string_view key) const {
  std::string_view rest = parameters;
  while (!rest.empty()) {
    const size_t semi = rest.find(';');
    const std::string_view item = trim(rest.substr(0, semi));
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    if (ascii_iequals(trim(item.substr(0, eq)), key)) return trim(item.substr(eq + 1));
  }
  return std::nullopt;
}

Result<RtcpFb> RtcpFb::parse(std::string_view value) {
  const auto f = fields(value, 3);
  if (f.size() < 2 || f.size() > 3) return Error{"rtcp-fb needs <pt|*> <type> [<parameter>]"};
  RtcpFb fb;
  if (f[0] != "*") {
    const auto pt = parse_payload_type(f[0]);
    if (!pt) return Error{"rtcp-fb payload type is not 0..127 or *"};
    fb.payload_type = pt;
  }
  fb.type = std::string(f[1]);
  if (f.size() == 3) fb.parameter = std::string(f[2]);
  return fb;
}

std::string RtcpFb::to_value() const {
  std::string v = payload_type ? std::to_string(*payload_type) : std::string("*");
  v += ' ' + type;
  if (!parameter.empty()) v += ' ' + parameter;
  return v;
}

Result<ExtMap> ExtMap::parse(std::string_view value) {
  const auto [id_dir, rest] = head_rest(value);
  const size_t slash = id_dir.find('/');
  const auto id = number<uint16_t>(id_dir.substr(0, slash), 4351);
  if (!id || *id == 0 || (*id > 255 && *id < 4096)) return Error{"extmap id is not 1..255 (or 4096..4351)"};
  ExtMap e;
  e.id = *id;
  if (slash != std::string_view::npos) {
    e.direction = direction_from_name(id_dir.substr(slash + 1));
    if (!e.direction) return Error{"extmap direction is not sendrecv, sendonly, recvonly or inactive"};
  }
  const auto [uri, attrs] = head_rest(rest);
  if (uri.empty()) return Error{"extmap has no URI"};
  e.uri = std::string(uri);
  e.attributes = std::string(trim(attrs));
  return e;
}

std::string ExtMap::to_value() const {
  std::string v = std::to_string(id);
  if (direction) v += '/' + std::string(to_string(*direction));
  v += ' ' + uri;
  if (!attributes.empty()) v += ' ' + attributes;
  return v;
}

Result<SsrcAttribute> SsrcAttribute::parse(std::string_view value) {
  const auto [ssrc_text, rest] = head_rest(value);
  const auto ssrc = number<uint32_t>(ssrc_text, 0xFFFFFFFFu);
  if (!ssrc) return Error{"ssrc is not a 32-bit number"};
  const std::string_view attr = trim(rest);
  const size_t colon = attr.find(':');
  if (attr.empty() || colon == 0) return Error{"ssrc line has no attribute"};
  SsrcAttribute s;
  s.ssrc = *ssrc;
  s.attribute = std::string(attr.substr(0, colon));
  if (colon != std::string_view::npos) s.value = std::string(attr.substr(colon + 1));
  return s;
}

std::string SsrcAttribute::to_value() const {
  std::string v = std::to_string(ssrc) + ' ' + attribute;
  if (!value.empty()) v += ':' + value;
  return v;
}

Result<SsrcGroup> SsrcGroup::parse(std::string_view value) {
  const auto f = fields(value);
  if (f.size() < 2) return Error{"ssrc-group needs semantics and at least one ssrc"};
  if (f.size() > 33) return Error{"ssrc-group has more than 32 ssrcs"};
  SsrcGroup g;
  g.semantics = std::string(f[0]);
  for (size_t i = 1; i < f.size(); ++i) {
    const auto s = number<uint32_t>(f[i], 0xFFFFFFFFu);
    if (!s) return Error{"ssrc-group member is not a 32-bit number"};
    g.ssrcs.push_back(*s);
  }
  return g;
}

std::string SsrcGroup::to_value() const {
  std::string v = semantics;
  for (uint32_t s : ssrcs) v += ' ' + std::to_string(s);
  return v;
}

Result<Msid> Msid::parse(std::string_view value) {
  const auto f = fields(value, 3);
  if (f.empty() || f.size() > 2) return Error{"msid needs <stream id> [<track id>]"};
  return Msid{std::string(f[0]), f.size() == 2 ? std::string(f[1]) : std::string()};
}

std::string Msid::to_value() const { return track_id.empty() ? stream_id : stream_id + ' ' + track_id; }

bool valid_rid_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxRidLength) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Result<Rid> Rid::parse(std::string_view value) {
  const auto f = fields(value, 3);
  if (f.size() < 2 || f.size() > 3) return Error{"rid needs <id> <send|recv> [<restrictions>]"};
  if (!valid_rid_id(f[0])) return Error{"rid id is not 1..16 of ALPHA DIGIT - _"};
  Rid r;
  r.id = std::string(f[0]);
  if (f[1] == "send") {
    r.send = true;
  } else if (f[1] == "recv") {
    r.send = false;
  } else {
    return Error{"rid direction is not send or recv"};
  }
  if (f.size() == 3) r.restrictions = std::string(f[2]);
  return r;
}

std::string Rid::to_value() const {
  std::string v = id;
  v.append(send ? " send" : " recv");
  if (!restrictions.empty()) v.append(" ").append(restrictions);
  return v;
}

namespace {
// One direction's list: "a;b,~c".
Result<Simulcast::Streams> parse_simulcast_streams(std::string_view list) {
  Simulcast::Streams streams;
  while (true) {
    const size_t semi = list.find(';');
    std::string_view stream = list.substr(0, semi);
    std::vector<Simulcast::Id> alternatives;
    while (true) {
      const size_t comma = stream.find(',');
      std::string_view id = stream.substr(0, comma);
      Simulcast::Id a;
      if (!id.empty() && id.front() == '~') {
        a.paused = true;
        id.remove_prefix(1);
      }
      if (!valid_rid_id(id)) return Error{"simulcast names an invalid rid"};
      a.rid = std::string(id);
      if (alternatives.size() >= kMaxRids) return Error{"simulcast stream has too many alternatives"};
      alternatives.push_back(std::move(a));
      if (comma == std::string_view::npos) break;
      stream.remove_prefix(comma + 1);
    }
    if (streams.size() >= kMaxRids) return Error{"simulcast has too many streams"};
    streams.push_back(std::move(alternatives));
    if (semi == std::string_view::npos) break;
    list.remove_prefix(semi + 1);
  }
  return streams;
}

std::string simulcast_streams_value(const Simulcast::Streams& streams) {
  std::string v;
  for (size_t s = 0; s < streams.size(); ++s) {
    if (s > 0) v.push_back(';');
    for (size_t a = 0; a < streams[s].size(); ++a) {
      if (a > 0) v.push_back(',');
      if (streams[s][a].paused) v.push_back('~');
      v.append(streams[s][a].rid);
    }
  }
  return v;
}
}  // namespace

Result<Simulcast> Simulcast::parse(std::string_view value) {
  const auto f = fields(value, 5);
  if (f.size() != 2 && f.size() != 4) return Error{"simulcast needs <send|recv> <list> [<recv|send> <list>]"};
  Simulcast sc;
  bool seen_send = false, seen_recv = false;
  for (size_t i = 0; i < f.size(); i += 2) {
    const bool send = f[i] == "send";
    if (!send && f[i] != "recv") return Error{"simulcast direction is not send or recv"};
    if (send ? seen_send : seen_recv) return Error{"simulcast repeats a direction"};
    (send ? seen_send : seen_recv) = true;
    auto streams = parse_simulcast_streams(f[i + 1]);
    if (!streams) return Error{streams.error()};
    (send ? sc.send : sc.recv) = std::move(streams).value();
  }
  return sc;
}

std::string Simulcast::to_value() const {
  std::string v;
  if (!send.empty()) v.append("send ").append(simulcast_streams_value(send));
  if (!recv.empty()) {
    if (!v.empty()) v.push_back(' ');
    v.append("recv ").append(simulcast_streams_value(recv));
  }
  return v;
}

Result<Group> Group::parse(std::string_view value) {
  const auto f = fields(value, Limits::kMaxMediaSections + 1);
  if (f.empty()) return Error{"group has no semantics"};
  if (f.size() > Limits::kMaxMediaSections + 1) return Error{"group has more mids than media sections allowed"};
  Group g;
  g.semantics = std::string(f[0]);
  for (size_t i = 1; i < f.size(); ++i) g.mids.emplace_back(f[i]);
  return g;
}

std::string Group::to_value() const {
  std::string v = semantics;
  for (const std::string& m : mids) v += ' ' + m;
  return v;
}

Result<SdpCandidate> SdpCandidate::parse(std::string_view value) {
  const auto f = fields(value, 40);
  if (f.size() < 8) return Error{"candidate needs at least 8 fields"};
  if (f.size() > 40 || f.size() % 2 != 0) return Error{"candidate extensions are not name/value pairs"};
  SdpCandidate c;
  if (f[0].size() > 32) return Error{"candidate foundation longer than 32"};
  c.candidate.foundation = std::string(f[0]);
  const auto component = number<uint16_t>(f[1], 256);
  if (!component || *component == 0) return Error{"candidate component is not 1..256"};
  c.candidate.component = *component;
  if (ascii_iequals(f[2], "udp")) {
    c.transport = "udp";
  } else if (ascii_iequals(f[2], "tcp")) {
    c.transport = "tcp";
  } else {
    return Error{"candidate transport is neither udp nor tcp"};
  }
  const auto priority = number<uint32_t>(f[3], 0xFFFFFFFFu);
  if (!priority) return Error{"candidate priority is not a 32-bit number"};
  c.candidate.priority = *priority;
  const auto port = number<uint16_t>(f[5], 65535);
  if (!port) return Error{"candidate port is not 0..65535"};
  if (auto ip = ice::TransportAddress::Parse(f[4], *port)) {
    c.candidate.address = *ip;
  } else if (ice::is_mdns_hostname(f[4])) {
    c.candidate.hostname = std::string(f[4]);
    c.candidate.address.port = *port;
  } else {
    return Error{"candidate address is neither a numeric IP nor an mDNS .local name"};
  }
  if (f[6] != "typ") return Error{"candidate has no typ"};
  const auto type = candidate_type(f[7]);
  if (!type) return Error{"candidate type is not host, srflx, prflx or relay"};
  c.candidate.type = *type;
  std::string_view raddr;
  std::optional<uint16_t> rport;
  for (size_t i = 8; i + 1 < f.size(); i += 2) {
    if (f[i] == "raddr") {
      raddr = f[i + 1];
    } else if (f[i] == "rport") {
      rport = number<uint16_t>(f[i + 1], 65535);
      if (!rport) return Error{"candidate rport is not 0..65535"};
    } else {
      c.extensions.emplace_back(f[i], f[i + 1]);
    }
  }
  if (!raddr.empty()) {
    // Browsers hide the base of srflx candidates as "0.0.0.0"; an unparseable raddr is left unset.
    if (auto r = ice::TransportAddress::Parse(raddr, rport.value_or(0))) c.candidate.related = *r;
  }
  return c;
}

std::string SdpCandidate::to_value() const {
  const ice::Candidate& k = candidate;
  std::string v = k.foundation + ' ' + std::to_string(k.component) + ' ' + transport + ' ' + std::to_string(k.priority) + ' ';
  v += k.hostname.empty() ? ip_string(k.address) : k.hostname;
  v += ' ' + std::to_string(k.address.port) + " typ " + candidate_type_name(k.type);
  if (k.type != ice::CandidateType::kHost)
    v += " raddr " + ip_string(k.related) + " rport " + std::to_string(k.related.port);
  for (const auto& [name, value] : extensions) v += ' ' + name + ' ' + value;
  return v;
}

std::string_view SdpCandidate::extension(std::string_view name) const {
  for (const auto& [n, v] : extensions)
    if (n == name) return v;
  return {};
}

std::string ip_string(const ice::TransportAddress& address) {
  // to_string() is "a.b.c.d:port" or "[v6]:port".
  const std::string s = address.to_string();
  if (address.is_v6()) return s.substr(1, s.rfind(']') - 1);
  return s.substr(0, s.rfind(':'));
}

}  // namespace tern::sdp
