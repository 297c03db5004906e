// The SDP model (RFC 8866): a session description as lines, general enough for WebRTC (RFC 9429)
// and strict about size. Session-level and media-level lines are kept in the order they came, and
// every attribute is kept, known or not, so a description parsed and written again loses nothing
// (only line endings are normalised to CRLF). The typed WebRTC readings of the attributes live in
// webrtc_attributes.h; offer/answer in jsep_negotiator.h.
//
// Parsing is strict on structure and bounded (the limits below, each refused with a reason):
// v= first, then o= and s=; every line "<letter>=<value>" with a letter RFC 8866 defines (a
// description with any other letter is refused, RFC 8866 5); no empty line except at the very end;
// CRLF or LF line endings; no control characters in values other than tab.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/result.h"

namespace tern::sdp {

// Bounds of what parse() accepts. Chromium 156's offer with audio, video and data is ~6.5 KB, 180
// lines, 3 sections, at most 140 attributes in one section: the limits leave room for simulcast,
// many candidates and dozens of transceivers, and keep a hostile description's cost small.
struct Limits {
  static constexpr size_t kMaxBytes = 256 * 1024;
  static constexpr size_t kMaxLines = 8192;
  static constexpr size_t kMaxLineLength = 4096;  // bytes of one line without its ending
  static constexpr size_t kMaxMediaSections = 64;
  static constexpr size_t kMaxAttributesPerSection = 1024;  // also for session level
  static constexpr size_t kMaxFormatsPerMedia = 128;  // m= <fmt list>: all 128 RTP payload types
};

// a=<name> (a property attribute, no value) or a=<name>:<value>.
struct Attribute {
  std::string name;
  std::optional<std::string> value;

  bool operator==(const Attribute&) const = default;
};

// Any line other than v=, o=, s=, m= and a=: i=, u=, e=, p=, c=, b=, t=, r=, z=, k= (kept verbatim).
struct Line {
  char type = 0;
  std::string value;

  bool operator==(const Line&) const = default;
};

// o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>
struct Origin {
  std::string username = "-";
  std::string session_id = "0";       // digits, kept as text (browsers use up to 19 digits)
  std::string session_version = "0";  // digits
  std::string net_type = "IN";
  std::string addr_type = "IP4";
  std::string address = "127.0.0.1";

  bool operator==(const Origin&) const = default;
};

// Shared by the session and each media section: lines and attributes in order of appearance.
struct AttributeList {
  std::vector<Line> lines;
  std::vector<Attribute> attributes;

  // The first attribute `name` (exact, attribute names are case-sensitive, RFC 8866 5.13), or null.
  const Attribute* find(std::string_view name) const;
  // Its value: nullopt when absent; "" for a property attribute.
  std::optional<std::string_view> value(std::string_view name) const;
  bool has(std::string_view name) const { return find(name) != nullptr; }
  // Every value of attribute `name` in order (a property attribute gives "").
  std::vector<std::string_view> values(std::string_view name) const;
  // The first line of `type`, or null.
  const Line* line(char type) const;

  void add(std::string name) { attributes.push_back({std::move(name), std::nullopt}); }
  void add(std::string name, std::string value) { attributes.push_back({std::move(name), std::move(value)}); }

  bool operator==(const AttributeList&) const = default;
};

// m=<media> <port>[/<number of ports>] <proto> <fmt> ... and what follows it.
struct MediaSection : AttributeList {
  std::string media;  // "audio", "video", "application", or anything else (kept)
  uint16_t port = 9;  // 0: a rejected (or bundle-only) section
  std::optional<uint16_t> port_count;
  std::string proto;  // "UDP/TLS/RTP/SAVPF", "UDP/DTLS/SCTP", ...
  std::vector<std::string> formats;  // payload types, or "webrtc-datachannel"

  bool operator==(const MediaSection&) const = default;
};

struct SessionDescription : AttributeList {
  Origin origin;
  std::string session_name = "-";
  std::vector<MediaSection> media;

  // Parses `text` (CRLF or LF line endings). On failure, `*error_line` (if given) is the 1-based
  // number of the offending line, 0 when the whole text is at fault.
  static Result<SessionDescription> parse(std::string_view text, size_t* error_line = nullptr);
  // v=0, o=, s=, the session's lines, its attributes, then each media section (m=, its lines, its
  // attributes), every line ending in CRLF.
  std::string to_string() const;

  bool operator==(const SessionDescription&) const = default;
};

}  // namespace tern::sdp
