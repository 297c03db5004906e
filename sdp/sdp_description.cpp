#include "tern/sdp/sdp_description.h"

#include <charconv>

namespace tern::sdp {
namespace {

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// Splits on single spaces; empty fields (two spaces in a row, leading or trailing space) make the
// result empty so the caller refuses the line.
std::vector<std::string_view> split_fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t sp = s.find(' ', start);
    const std::string_view f = s.substr(start, sp == std::string_view::npos ? std::string_view::npos : sp - start);
    if (f.empty()) return {};
    out.push_back(f);
    if (sp == std::string_view::npos) return out;
    start = sp + 1;
  }
}

// RFC 8866 5: the type letters it defines (k= is obsolete but still valid syntax).
bool known_type(char t) {
  switch (t) {
    case 'v': case 'o': case 's': case 'i': case 'u': case 'e': case 'p': case 'c':
    case 'b': case 't': case 'r': case 'z': case 'k': case 'a': case 'm':
      return true;
    default:
      return false;
  }
}

Result<Origin> parse_origin(std::string_view v) {
  const auto f = split_fields(v);
  if (f.size() != 6) return Error{"o= line needs 6 fields"};
  if (!all_digits(f[1]) || !all_digits(f[2])) return Error{"o= session id and version must be digits"};
  if (f[1].size() > 20 || f[2].size() > 20) return Error{"o= session id or version longer than 20 digits"};
  return Origin{std::string(f[0]), std::string(f[1]), std::string(f[2]), std::string(f[3]), std::string(f[4]),
                std::string(f[5])};
}

Result<MediaSection> parse_media_line(std::string_view v) {
  const auto f = split_fields(v);
  if (f.size() < 4) return Error{"m= line needs media, port, proto and at least one format"};
  if (f.size() - 3 > Limits::kMaxFormatsPerMedia) return Error{"m= line has more formats than the limit"};
  MediaSection m;
  m.media = std::string(f[0]);
  std::string_view port = f[1];
  const size_t slash = port.find('/');
  auto number = [](std::string_view s) -> std::optional<uint16_t> {
    if (!all_digits(s) || s.size() > 5) return std::nullopt;
    unsigned n = 0;
    std::from_chars(s.data(), s.data() + s.size(), n);
    if (n > 65535) return std::nullopt;
    return static_cast<uint16_t>(n);
  };
  auto p = number(port.substr(0, slash));
  if (!p) return Error{"m= port is not a number 0..65535"};
  m.port = *p;
  if (slash != std::string_view::npos) {
    auto c = number(port.substr(slash + 1));
    if (!c || *c == 0) return Error{"m= number of ports is not a number 1..65535"};
    m.port_count = c;
  }
  m.proto = std::string(f[2]);
  for (size_t i = 3; i < f.size(); ++i) m.formats.emplace_back(f[i]);
  return m;
}

// RFC 8866 9: att-field is a token; value is any byte string without NUL, CR or LF.
bool is_token_char(char c) {
  if (c >= 'a' && c <= 'z') return true;
  if (c >= 'A' && c <= 'Z') return true;
  if (c >= '0' && c <= '9') return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-': case '.':
    case '^': case '_': case '`': case '{': case '|': case '}': case '~':
      return true;
    default:
      return false;
  }
}

Result<Attribute> parse_attribute(std::string_view v) {
  const size_t colon = v.find(':');
  const std::string_view name = v.substr(0, colon);
  if (name.empty()) return Error{"a= line has no attribute name"};
  for (char c : name)
    if (!is_token_char(c)) return Error{"a= attribute name has a character outside token"};
  if (colon == std::string_view::npos) return Attribute{std::string(name), std::nullopt};
  return Attribute{std::string(name), std::string(v.substr(colon + 1))};
}

void append_line(std::string& out, char type, std::string_view value) {
  out += type;
  out += '=';
  out += value;
  out += "\r\n";
}

void append_list(std::string& out, const AttributeList& list) {
  for (const Line& l : list.lines) append_line(out, l.type, l.value);
  for (const Attribute& a : list.attributes) {
    out += "a=";
    out += a.name;
    if (a.value) {
      out += ':';
      out += *a.value;
    }
    out += "\r\n";
  }
}

}  // namespace

const Attribute* AttributeList::find(std::string_view name) const {
  for (const Attribute& a : attributes)
    if (a.name == name) return &a;
  return nullptr;
}

std::optional<std::string_view> AttributeList::value(std::string_view name) const {
  const Attribute* a = find(name);
  if (!a) return std::nullopt;
  return a->value ? std::string_view(*a->value) : std::string_view();
}

std::vector<std::string_view> AttributeList::values(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const Attribute& a : attributes)
    if (a.name == name) out.push_back(a.value ? std::string_view(*a.value) : std::string_view());
  return out;
}

const Line* AttributeList::line(char type) const {
  for (const Line& l : lines)
    if (l.type == type) return &l;
  return nullptr;
}

Result<SessionDescription> SessionDescription::parse(std::string_view text, size_t* error_line) {
  if (error_line) *error_line = 0;
  if (text.size() > Limits::kMaxBytes) return Error{"description larger than the limit (256 KiB)"};
  SessionDescription sd;
  sd.session_name.clear();  // set by s=; still empty at the end means the header was cut short
  size_t line_no = 0;
  size_t pos = 0;
  AttributeList* current = &sd;
  auto fail = [&](const char* reason) -> Result<SessionDescription> {
    if (error_line) *error_line = line_no;
    return Error{reason};
  };
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (line_no > Limits::kMaxLines) return fail("more lines than the limit (8192)");
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > Limits::kMaxLineLength) return fail("line longer than the limit (4096 bytes)");
    if (line.empty()) {
      // Only trailing empty lines are tolerated (some writers end with a blank line).
      if (text.find_first_not_of("\r\n", pos) == std::string_view::npos) break;
      return fail("empty line inside the description");
    }
    if (line.size() < 2 || line[1] != '=') return fail("line is not <type>=<value>");
    const char type = line[0];
    const std::string_view value = line.substr(2);
    for (char c : value)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) return fail("control character in a line");
    if (!known_type(type)) return fail("unknown line type (RFC 8866 5: the description is refused)");
    if (line_no == 1) {
      if (type != 'v') return fail("first line is not v=");
      if (value != "0") return fail("v= is not 0");
      continue;
    }
    if (line_no == 2) {
      if (type != 'o') return fail("second line is not o=");
      auto o = parse_origin(value);
      if (!o) return fail(o.error());
      sd.origin = std::move(*o);
      continue;
    }
    if (line_no == 3) {
      if (type != 's') return fail("third line is not s=");
      if (value.empty()) return fail("s= is empty (RFC 8866 5.3: use \"-\")");
      sd.session_name = std::string(value);
      continue;
    }
    switch (type) {
      case 'v': return fail("v= repeated");
      case 'o': return fail("o= repeated");
      case 's': return fail("s= repeated");
      case 'm': {
        if (sd.media.size() >= Limits::kMaxMediaSections) return fail("more media sections than the limit (64)");
        auto m = parse_media_line(value);
        if (!m) return fail(m.error());
        sd.media.push_back(std::move(*m));
        current = &sd.media.back();
        break;
      }
      case 'a': {
        if (current->attributes.size() >= Limits::kMaxAttributesPerSection)
          return fail("more attributes in one section than the limit (1024)");
        auto a = parse_attribute(value);
        if (!a) return fail(a.error());
        current->attributes.push_back(std::move(*a));
        break;
      }
      default:
        if (current != &sd && type != 'i' && type != 'c' && type != 'b' && type != 'k')
          return fail("line type not allowed in a media section (only i, c, b, k, a)");
        if (current->lines.size() >= Limits::kMaxAttributesPerSection)
          return fail("more lines in one section than the limit (1024)");
        current->lines.push_back({type, std::string(value)});
        break;
    }
  }
  if (sd.session_name.empty()) return fail("description ends before v=, o= and s=");
  return sd;
}

std::string SessionDescription::to_string() const {
  std::string out;
  out.reserve(4096);
  append_line(out, 'v', "0");
  append_line(out, 'o', origin.username + ' ' + origin.session_id + ' ' + origin.session_version + ' ' +
                            origin.net_type + ' ' + origin.addr_type + ' ' + origin.address);
  append_line(out, 's', session_name);
  append_list(out, *this);
  for (const MediaSection& m : media) {
    std::string v = m.media + ' ' + std::to_string(m.port);
    if (m.port_count) v += '/' + std::to_string(*m.port_count);
    v += ' ' + m.proto;
    for (const std::string& f : m.formats) v += ' ' + f;
    append_line(out, 'm', v);
    append_list(out, m);
  }
  return out;
}

}  // namespace tern::sdp
