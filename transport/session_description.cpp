#include "tern/transport/session_description.h"

#include <charconv>
#include <limits>
#include <string>

#include "tern/core/reason_text.h"

namespace tern::transport {
namespace {

template <typename T>
std::optional<T> parse_uint(std::string_view s, T max = std::numeric_limits<T>::max()) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > max) return std::nullopt;
  return static_cast<T>(v);
}

// Splits on runs of spaces; at most `max_parts` parts, the last one keeping the rest of the line.
std::vector<std::string_view> tokens(std::string_view s, size_t max_parts = 64) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size() && out.size() < max_parts) {
    while (i < s.size() && s[i] == ' ') ++i;
    if (i >= s.size()) break;
    if (out.size() + 1 == max_parts) {
      std::string_view rest = s.substr(i);
      while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
      out.push_back(rest);
      break;
    }
    const size_t j = s.find(' ', i);
    out.push_back(s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    i = j == std::string_view::npos ? s.size() : j;
  }
  return out;
}

// The reason for an address with a control character in it (a stray CR from CR CR LF line ends,
// an escape sequence), the address shown escaped; null when the address is clean.
const char* control_character_reason(std::string_view line_name, std::string_view address) {
  for (char ch : address) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) {
      const std::string reason = "sdp: malformed " + std::string(line_name) + " line: address '" + printable(address) +
                                 "' has a control character";
      return lasting_reason(reason, "sdp: control character in an address");
    }
  }
  return nullptr;
}

std::optional<SdpDirection> direction_from(std::string_view name) {
  if (name == "sendrecv") return SdpDirection::kSendRecv;
  if (name == "sendonly") return SdpDirection::kSendOnly;
  if (name == "recvonly") return SdpDirection::kRecvOnly;
  if (name == "inactive") return SdpDirection::kInactive;
  return std::nullopt;
}

bool parse_connection(std::string_view v, SdpConnection& out) {
  auto t = tokens(v, 4);
  if (t.size() != 3 || t[0] != "IN" || (t[1] != "IP4" && t[1] != "IP6")) return false;
  out.address_type = std::string(t[1]);
  out.address = std::string(t[2]);
  return true;
}

bool parse_origin(std::string_view v, SdpOrigin& out) {
  auto t = tokens(v, 7);
  if (t.size() != 6 || t[3] != "IN" || (t[4] != "IP4" && t[4] != "IP6")) return false;
  auto id = parse_uint<uint64_t>(t[1]);
  auto ver = parse_uint<uint64_t>(t[2]);
  if (!id || !ver) return false;
  out.username = std::string(t[0]);
  out.session_id = *id;
  out.session_version = *ver;
  out.address_type = std::string(t[4]);
  out.address = std::string(t[5]);
  return true;
}

// m=<media> <port>[/<count>] <proto> <fmt> ...
const char* parse_media_line(std::string_view v, SdpMedia& m) {
  auto t = tokens(v, 3 + SessionDescription::kMaxPayloadTypes + 1);
  if (t.size() < 3) return "sdp: m= line needs media, port and proto";
  if (t.size() > 3 + SessionDescription::kMaxPayloadTypes) return "sdp: too many formats on the m= line";
  m.media = std::string(t[0]);
  const size_t slash = t[1].find('/');
  auto port = parse_uint<uint16_t>(t[1].substr(0, slash));
  if (!port) return "sdp: bad port on the m= line";
  m.port = *port;
  if (slash != std::string_view::npos) {
    auto count = parse_uint<uint16_t>(t[1].substr(slash + 1));
    if (!count || *count == 0) return "sdp: bad port count on the m= line";
    m.port_count = *count;
  }
  m.proto = std::string(t[2]);
  const bool rtp = m.proto.find("RTP/") != std::string::npos;
  for (size_t i = 3; i < t.size(); ++i) {
    auto pt = parse_uint<uint8_t>(t[i], 127);
    if (!pt) {
      if (rtp) return "sdp: RTP format is not a payload type 0..127";
      continue;  // non-RTP formats (e.g. webrtc-datachannel) are not modelled
    }
    if (m.find_payload_type(*pt) != nullptr) return "sdp: payload type listed twice";
    SdpPayloadType p;
    p.payload_type = *pt;
    m.payload_types.push_back(std::move(p));
  }
  return nullptr;
}

// Handles one a= line inside a media section. Returns a reason on malformed input, null when the
// line was consumed or kept as unknown.
const char* parse_media_attribute(std::string_view line, std::string_view attr, SdpMedia& m) {
  const size_t colon = attr.find(':');
  const std::string_view name = attr.substr(0, colon);
  const std::string_view value = colon == std::string_view::npos ? std::string_view() : attr.substr(colon + 1);
  auto keep = [&] { m.other_lines.emplace_back(line); return nullptr; };
  if (auto d = direction_from(name); d && colon == std::string_view::npos) {
    m.direction = d;
    return nullptr;
  }
  if (name == "rtcp-mux") {
    m.rtcp_mux = true;
    return nullptr;
  }
  if (name == "mid") {
    if (value.empty()) return "sdp: empty a=mid";
    m.mid = std::string(value);
    return nullptr;
  }
  if (name == "rtcp") {
    auto t = tokens(value, 5);
    auto port = t.empty() ? std::nullopt : parse_uint<uint16_t>(t[0]);
    if (!port) return "sdp: bad a=rtcp port";
    m.rtcp_port = *port;
    return nullptr;
  }
  if (name == "rtpmap") {
    auto t = tokens(value, 2);
    if (t.size() != 2) return "sdp: a=rtpmap needs '<pt> <name>/<rate>'";
    auto pt = parse_uint<uint8_t>(t[0], 127);
    if (!pt) return "sdp: bad payload type in a=rtpmap";
    const std::string_view enc = t[1];
    const size_t s1 = enc.find('/');
    if (s1 == std::string_view::npos || s1 == 0) return "sdp: a=rtpmap needs '<name>/<rate>'";
    const size_t s2 = enc.find('/', s1 + 1);
    auto rate = parse_uint<uint32_t>(enc.substr(s1 + 1, s2 == std::string_view::npos ? std::string_view::npos : s2 - s1 - 1));
    if (!rate || *rate == 0) return "sdp: bad clock rate in a=rtpmap";
    std::optional<uint16_t> channels = uint16_t{0};
    if (s2 != std::string_view::npos) channels = parse_uint<uint16_t>(enc.substr(s2 + 1));
    if (!channels || (s2 != std::string_view::npos && *channels == 0)) return "sdp: bad channel count in a=rtpmap";
    SdpPayloadType* p = m.find_payload_type(*pt);
    if (p == nullptr) return keep();  // describes a PT the m= line does not offer: harmless
    p->encoding_name = std::string(enc.substr(0, s1));
    p->clock_rate = *rate;
    p->channels = *channels;
    return nullptr;
  }
  if (name == "fmtp") {
    auto t = tokens(value, 2);
    if (t.empty()) return "sdp: a=fmtp needs a payload type";
    auto pt = parse_uint<uint8_t>(t[0], 127);
    if (!pt) return "sdp: bad payload type in a=fmtp";
    SdpPayloadType* p = m.find_payload_type(*pt);
    if (p == nullptr) return keep();
    p->fmtp = t.size() > 1 ? std::string(t[1]) : std::string();
    return nullptr;
  }
  if (name == "rtcp-fb") {
    auto t = tokens(value, 2);
    if (t.size() != 2) return "sdp: a=rtcp-fb needs '<pt> <type>'";
    if (t[0] == "*") {
      for (SdpPayloadType& p : m.payload_types) p.rtcp_fb.emplace_back(t[1]);
      return nullptr;
    }
    auto pt = parse_uint<uint8_t>(t[0], 127);
    if (!pt) return "sdp: bad payload type in a=rtcp-fb";
    SdpPayloadType* p = m.find_payload_type(*pt);
    if (p == nullptr) return keep();
    p->rtcp_fb.emplace_back(t[1]);
    return nullptr;
  }
  if (name == "extmap") {
    auto t = tokens(value, 3);
    if (t.size() < 2) return "sdp: a=extmap needs '<id> <uri>'";
    SdpExtmap e;
    const size_t slash = t[0].find('/');
    auto id = parse_uint<uint8_t>(t[0].substr(0, slash), 255);
    if (!id || *id == 0) return "sdp: a=extmap id must be 1..255";
    e.id = *id;
    if (slash != std::string_view::npos) {
      e.direction = std::string(t[0].substr(slash + 1));
      if (!direction_from(e.direction)) return "sdp: bad a=extmap direction";
    }
    e.uri = std::string(t[1]);
    if (t.size() > 2) e.attributes = std::string(t[2]);
    for (const SdpExtmap& other : m.extmaps)
      if (other.id == e.id) return "sdp: a=extmap id used twice";
    m.extmaps.push_back(std::move(e));
    return nullptr;
  }
  if (name == "crypto") {
    auto t = tokens(value, 4);
    if (t.size() < 3) return "sdp: a=crypto needs '<tag> <suite> <key-params>'";
    auto tag = parse_uint<uint32_t>(t[0], 999999999);
    if (!tag) return "sdp: bad a=crypto tag";
    SdpCrypto c;
    c.tag = *tag;
    c.suite = std::string(t[1]);
    c.key_params = std::string(t[2]);
    if (t.size() > 3) c.session_params = std::string(t[3]);
    m.cryptos.push_back(std::move(c));
    return nullptr;
  }
  if (name == "ssrc") {
    auto t = tokens(value, 2);
    auto ssrc = t.empty() ? std::nullopt : parse_uint<uint32_t>(t[0]);
    if (!ssrc) return "sdp: bad a=ssrc value";
    if (t.size() == 2 && t[1].substr(0, 6) == "cname:") {
      m.ssrcs.push_back(SdpSsrc{*ssrc, std::string(t[1].substr(6))});
      return nullptr;
    }
    return keep();  // msid, label, ... are not modelled
  }
  if (name == "ssrc-group") {
    auto t = tokens(value, SdpSsrcGroup::kMaxSsrcs + 2);
    if (t.size() < 2) return "sdp: a=ssrc-group needs '<semantics> <ssrc> ...'";
    if (t.size() > SdpSsrcGroup::kMaxSsrcs + 1) return "sdp: too many SSRCs in an a=ssrc-group";
    SdpSsrcGroup g;
    g.semantics = std::string(t[0]);
    for (size_t i = 1; i < t.size(); ++i) {
      auto ssrc = parse_uint<uint32_t>(t[i]);
      if (!ssrc) return "sdp: bad a=ssrc-group SSRC";
      g.ssrcs.push_back(*ssrc);
    }
    m.ssrc_groups.push_back(std::move(g));
    return nullptr;
  }
  return keep();
}

void write_line(std::string& out, std::string_view a, std::string_view b = {}) {
  out.append(a);
  out.append(b);
  out.append("\r\n");
}

}  // namespace

std::string_view to_string(SdpDirection d) {
  switch (d) {
    case SdpDirection::kSendRecv: return "sendrecv";
    case SdpDirection::kSendOnly: return "sendonly";
    case SdpDirection::kRecvOnly: return "recvonly";
    case SdpDirection::kInactive: return "inactive";
  }
  return "sendrecv";
}

const SdpPayloadType* SdpMedia::find_payload_type(uint8_t pt) const {
  for (const SdpPayloadType& p : payload_types)
    if (p.payload_type == pt) return &p;
  return nullptr;
}

SdpPayloadType* SdpMedia::find_payload_type(uint8_t pt) {
  for (SdpPayloadType& p : payload_types)
    if (p.payload_type == pt) return &p;
  return nullptr;
}

const SdpSsrcGroup* SdpMedia::find_ssrc_group(std::string_view semantics) const {
  const SdpSsrcGroup* found = nullptr;
  for (const SdpSsrcGroup& g : ssrc_groups)
    if (g.semantics == semantics) found = &g;
  return found;
}

std::string SessionDescription::to_string() const {
  std::string out;
  write_line(out, "v=0");
  write_line(out, "o=", origin.username + " " + std::to_string(origin.session_id) + " " +
                            std::to_string(origin.session_version) + " IN " + origin.address_type + " " +
                            origin.address);
  write_line(out, "s=", session_name.empty() ? std::string("-") : session_name);
  if (connection) write_line(out, "c=IN ", connection->address_type + " " + connection->address);
  write_line(out, "t=", timing);
  if (direction) write_line(out, "a=", transport::to_string(*direction));
  for (const std::string& l : other_lines) write_line(out, l);
  for (const SdpMedia& m : media) {
    std::string mline = m.media + " " + std::to_string(m.port);
    if (m.port_count > 1) (mline += '/') += std::to_string(m.port_count);
    mline += " " + m.proto;
    for (const SdpPayloadType& p : m.payload_types) (mline += ' ') += std::to_string(p.payload_type);
    write_line(out, "m=", mline);
    if (m.connection) write_line(out, "c=IN ", m.connection->address_type + " " + m.connection->address);
    if (m.bandwidth_as_kbps) write_line(out, "b=AS:", std::to_string(*m.bandwidth_as_kbps));
    if (m.mid) write_line(out, "a=mid:", *m.mid);
    if (m.rtcp_port) write_line(out, "a=rtcp:", std::to_string(*m.rtcp_port));
    if (m.rtcp_mux) write_line(out, "a=rtcp-mux");
    if (m.direction) write_line(out, "a=", transport::to_string(*m.direction));
    for (const SdpPayloadType& p : m.payload_types) {
      const std::string pt = std::to_string(p.payload_type);
      if (!p.encoding_name.empty()) {
        std::string map = pt + " " + p.encoding_name + "/" + std::to_string(p.clock_rate);
        if (p.channels > 0) (map += '/') += std::to_string(p.channels);
        write_line(out, "a=rtpmap:", map);
      }
      if (!p.fmtp.empty()) write_line(out, "a=fmtp:", pt + " " + p.fmtp);
      for (const std::string& fb : p.rtcp_fb) write_line(out, "a=rtcp-fb:", pt + " " + fb);
    }
    for (const SdpExtmap& e : m.extmaps) {
      std::string l = std::to_string(e.id);
      if (!e.direction.empty()) l += "/" + e.direction;
      l += " " + e.uri;
      if (!e.attributes.empty()) l += " " + e.attributes;
      write_line(out, "a=extmap:", l);
    }
    for (const SdpCrypto& c : m.cryptos) {
      std::string l = std::to_string(c.tag) + " " + c.suite + " " + c.key_params;
      if (!c.session_params.empty()) l += " " + c.session_params;
      write_line(out, "a=crypto:", l);
    }
    for (const SdpSsrc& s : m.ssrcs) write_line(out, "a=ssrc:", std::to_string(s.ssrc) + " cname:" + s.cname);
    for (const SdpSsrcGroup& g : m.ssrc_groups) {
      std::string l = g.semantics;
      for (uint32_t ssrc : g.ssrcs) (l += ' ') += std::to_string(ssrc);
      write_line(out, "a=ssrc-group:", l);
    }
    for (const std::string& l : m.other_lines) write_line(out, l);
  }
  return out;
}

Result<SessionDescription> SessionDescription::parse(std::string_view text, size_t* error_line) {
  size_t line_no = 0;
  auto fail = [&](const char* reason) -> Result<SessionDescription> {
    if (error_line != nullptr) *error_line = line_no;
    return Error{reason};
  };
  if (text.size() > kMaxSize) return fail("sdp: description too large");
  SessionDescription sd;
  bool seen_version = false;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line.size() < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z')
      return fail("sdp: line is not '<letter>=<value>'");
    const char type = line[0];
    const std::string_view v = line.substr(2);
    if (!seen_version) {
      if (type != 'v' || v != "0") return fail("sdp: first line must be v=0");
      seen_version = true;
      continue;
    }
    SdpMedia* m = sd.media.empty() ? nullptr : &sd.media.back();
    switch (type) {
      case 'v': return fail("sdp: repeated v= line");
      case 'o':
        if (m != nullptr || !parse_origin(v, sd.origin)) return fail("sdp: malformed o= line");
        if (const char* bad = control_character_reason("o=", sd.origin.address)) return fail(bad);
        break;
      case 's':
        if (m != nullptr) return fail("sdp: s= inside a media section");
        sd.session_name = std::string(v);
        break;
      case 't':
        if (m != nullptr) return fail("sdp: t= inside a media section");
        sd.timing = std::string(v);
        break;
      case 'c': {
        SdpConnection c;
        if (!parse_connection(v, c)) return fail("sdp: malformed c= line");
        if (const char* bad = control_character_reason("c=", c.address)) return fail(bad);
        (m != nullptr ? m->connection : sd.connection) = c;
        break;
      }
      case 'b':
        if (m != nullptr && v.substr(0, 3) == "AS:") {
          auto kbps = parse_uint<uint32_t>(v.substr(3));
          if (!kbps) return fail("sdp: malformed b=AS: line");
          m->bandwidth_as_kbps = *kbps;
        } else {
          (m != nullptr ? m->other_lines : sd.other_lines).emplace_back(line);
        }
        break;
      case 'm': {
        if (sd.media.size() >= kMaxMedia) return fail("sdp: too many media sections");
        SdpMedia media;
        if (const char* r = parse_media_line(v, media)) return fail(r);
        sd.media.push_back(std::move(media));
        break;
      }
      case 'a':
        if (m != nullptr) {
          if (const char* r = parse_media_attribute(line, v, *m)) return fail(r);
        } else if (auto d = direction_from(v)) {
          sd.direction = d;
        } else {
          sd.other_lines.emplace_back(line);
        }
        break;
      default:
        (m != nullptr ? m->other_lines : sd.other_lines).emplace_back(line);
        break;
    }
  }
  if (!seen_version) return fail("sdp: empty description");
  return sd;
}

}  // namespace tern::transport
