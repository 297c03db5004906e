// Typed readings of the SDP attributes WebRTC uses (RFC 9429 JSEP, RFC 8843 BUNDLE, RFC 8829-era
// attributes), each a small struct with parse(<attribute value>) and to_value() so an attribute
// read and written again is the same (modulo whitespace the RFCs do not allow, which parse()
// tolerates where browsers or pion emit it: trailing spaces after rtcp-fb). Unknown attributes
// stay untyped in the model (sdp_description.h) and are never lost.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tern/core/result.h"
#include "tern/ice/candidate.h"
#include "tern/sdp/sdp_description.h"

namespace tern::sdp {

// a=sendrecv / sendonly / recvonly / inactive (RFC 8866 6.7, RFC 3264 5.1).
enum class Direction : uint8_t { kSendRecv, kSendOnly, kRecvOnly, kInactive };
std::string_view to_string(Direction direction);
std::optional<Direction> direction_from_name(std::string_view name);
// The section's direction attribute; sendrecv when it has none (RFC 3264 5.1 default).
Direction direction_of(const AttributeList& list);
bool sends(Direction d);     // sendrecv or sendonly
bool receives(Direction d);  // sendrecv or recvonly
// From the two sides' wishes: sends iff `send`, receives iff `receive`.
Direction make_direction(bool send, bool receive);

// a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>] (RFC 8866 6.6).
struct RtpMap {
  uint8_t payload_type = 0;  // 0..127
  std::string encoding;      // as written ("opus", "VP8"); compare without case
  uint32_t clock_rate = 0;
  uint16_t channels = 0;  // 0: not written (audio defaults to 1)
  static Result<RtpMap> parse(std::string_view value);
  std::string to_value() const;
};

// a=fmtp:<pt> <format parameters> (RFC 8866 6.15); parameters kept as written.
struct Fmtp {
  uint8_t payload_type = 0;
  std::string parameters;  // "minptime=10;useinbandfec=1", "apt=96", "111/111"
  static Result<Fmtp> parse(std::string_view value);
  std::string to_value() const;
  // The value of `key` in a "k=v;k=v" list (keys compared without case, spaces around ';' allowed).
  std::optional<std::string_view> parameter(std::string_view key) const;
};

// a=rtcp-fb:<pt|*> <type> [<parameter>] (RFC 4585 4.2): "nack", "nack pli", "ccm fir",
// "goog-remb", "transport-cc".
struct RtcpFb {
  std::optional<uint8_t> payload_type;  // nullopt for '*'
  std::string type;
  std::string parameter;  // "" when absent
  static Result<RtcpFb> parse(std::string_view value);
  std::string to_value() const;
  bool operator==(const RtcpFb&) const = default;
};

// a=extmap:<id>[/<direction>] <uri> [<extension attributes>] (RFC 8285 5).
struct ExtMap {
  uint16_t id = 0;  // 1..14 (one-byte), 1..255 (two-byte); 4096..4351 are for offers only
  std::optional<Direction> direction;
  std::string uri;
  std::string attributes;  // "" when absent
  static Result<ExtMap> parse(std::string_view value);
  std::string to_value() const;
};

// a=ssrc:<ssrc> <attribute>[:<value>] (RFC 5576 4.1): cname, msid (and legacy mslabel/label).
struct SsrcAttribute {
  uint32_t ssrc = 0;
  std::string attribute;
  std::string value;
  static Result<SsrcAttribute> parse(std::string_view value);
  std::string to_value() const;
};

// a=ssrc-group:<semantics> <ssrc> ... (RFC 5576 4.2): FID (RTX, RFC 4588 8), FEC-FR (RFC 5956).
struct SsrcGroup {
  std::string semantics;
  std::vector<uint32_t> ssrcs;
  static Result<SsrcGroup> parse(std::string_view value);
  std::string to_value() const;
};

// a=msid:<stream id> [<track id>] (RFC 8830 2); a stream id of "-" means no stream.
struct Msid {
  std::string stream_id;
  std::string track_id;  // "" when absent
  static Result<Msid> parse(std::string_view value);
  std::string to_value() const;
};

// a=group:<semantics> <mid> ... (RFC 5888 5): BUNDLE (RFC 8843), LS.
struct Group {
  std::string semantics;
  std::vector<std::string> mids;
  static Result<Group> parse(std::string_view value);
  std::string to_value() const;
};

// a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>
// [raddr <addr>] [rport <port>] *(<name> <value>)   (RFC 8839 5.1). The address is a numeric IP or
// an mDNS "<uuid>.local" name (kept in candidate.hostname); extensions (generation, network-id,
// ufrag, tcptype, ...) are kept in order.
struct SdpCandidate {
  ice::Candidate candidate;
  std::string transport = "udp";  // lower case: "udp" or "tcp" (others refused)
  std::vector<std::pair<std::string, std::string>> extensions;

  static Result<SdpCandidate> parse(std::string_view value);
  std::string to_value() const;
  // "" when there is none.
  std::string_view extension(std::string_view name) const;
};

// a=rid:<rid-id> <send|recv> [<restrictions>] (RFC 8851 4): one RTP stream of a simulcast
// section. rid-id is 1..kMaxRidLength of ALPHA / DIGIT / "-" / "_" (RFC 8851 10; the bound is what
// a one-byte RTP header extension carries, RFC 8285); restrictions ("pt=96;max-width=640") are kept
// as written.
inline constexpr size_t kMaxRidLength = 16;
inline constexpr size_t kMaxRids = 4;  // rids tern accepts per section (more: no simulcast)
bool valid_rid_id(std::string_view id);
struct Rid {
  std::string id;
  bool send = true;  // "send" (true) or "recv"
  std::string restrictions;  // "" when absent
  static Result<Rid> parse(std::string_view value);
  std::string to_value() const;
};

// a=simulcast:<send|recv> <list> [<recv|send> <list>] (RFC 8853 5.1): each list is streams
// separated by ';', each stream alternatives separated by ',', each a rid-id optionally prefixed
// by '~' (paused). At most kMaxRids streams per direction, kMaxRids alternatives per stream.
struct Simulcast {
  struct Id {
    std::string rid;
    bool paused = false;
    bool operator==(const Id&) const = default;
  };
  using Streams = std::vector<std::vector<Id>>;
  Streams send, recv;
  static Result<Simulcast> parse(std::string_view value);
  std::string to_value() const;
};

// ice::TransportAddress's IP alone ("192.0.2.1", "2001:db8::1").
std::string ip_string(const ice::TransportAddress& address);

}  // namespace tern::sdp
