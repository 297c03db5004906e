// SessionDescription: the SDP (RFC 8866) subset that RTP tools exchange for a fixed session, with
// the RTP attributes of RFC 3551/4566 (rtpmap, fmtp), RFC 4585 (rtcp-fb, RTP/AVPF), RFC 8285
// (extmap), RFC 4568 (crypto), RFC 5576 (ssrc cname, ssrc-group: FID of RFC 4588, FEC-FR of
// RFC 5956 as FlexFEC uses it), RFC 5761 (rtcp-mux) and RFC 3605 (rtcp).
// Enough for ffmpeg/ffplay and GStreamer's sdpdemux to open what tern writes, and for tern to
// open the SDP `ffmpeg -sdp_file` writes. No offer/answer logic: this is a description, not a
// negotiation.
//
// parse() is tolerant of unknown lines and attributes (kept verbatim and written back) and strict
// on malformed known ones: it fails with a static reason and reports the 1-based line number.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/result.h"

namespace tern::transport {

enum class SdpDirection : uint8_t { kSendRecv, kSendOnly, kRecvOnly, kInactive };
std::string_view to_string(SdpDirection d);

struct SdpOrigin {  // o=<username> <sess-id> <sess-version> IN <IP4|IP6> <address>
  std::string username = "-";
  uint64_t session_id = 0;
  uint64_t session_version = 0;
  std::string address_type = "IP4";
  std::string address = "127.0.0.1";
  friend bool operator==(const SdpOrigin&, const SdpOrigin&) = default;
};

struct SdpConnection {  // c=IN <IP4|IP6> <address>[/ttl...] (the suffix is kept in `address`)
  std::string address_type = "IP4";
  std::string address = "127.0.0.1";
  friend bool operator==(const SdpConnection&, const SdpConnection&) = default;
};

struct SdpPayloadType {  // one entry of the m= format list with its a=rtpmap / a=fmtp / a=rtcp-fb
  uint8_t payload_type = 0;
  std::string encoding_name;        // "VP8", "opus"; empty when no rtpmap (static PT)
  uint32_t clock_rate = 0;
  uint16_t channels = 0;            // 0: not written (video); audio defaults to 1 per RFC 4566
  std::string fmtp;                 // parameters after "a=fmtp:<pt> ", verbatim
  std::vector<std::string> rtcp_fb; // "nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"
  friend bool operator==(const SdpPayloadType&, const SdpPayloadType&) = default;
};

struct SdpExtmap {  // a=extmap:<id>[/<direction>] <uri> [<attributes>]
  uint8_t id = 0;
  std::string direction;  // empty when absent
  std::string uri;
  std::string attributes;
  friend bool operator==(const SdpExtmap&, const SdpExtmap&) = default;
};

struct SdpCrypto {  // a=crypto:<tag> <suite> <key-params> [<session-params>]
  uint32_t tag = 1;
  std::string suite;       // "AES_CM_128_HMAC_SHA1_80"
  std::string key_params;  // "inline:<base64>[|lifetime][|mki:len]"; see parse_sdes_key_params
  std::string session_params;
  friend bool operator==(const SdpCrypto&, const SdpCrypto&) = default;
};

struct SdpSsrc {  // a=ssrc:<ssrc> cname:<cname>
  uint32_t ssrc = 0;
  std::string cname;
  friend bool operator==(const SdpSsrc&, const SdpSsrc&) = default;
};

struct SdpSsrcGroup {  // a=ssrc-group:<semantics> <ssrc> ... (RFC 5576 4.2)
  std::string semantics;        // "FID" (media, RTX), "FEC-FR" (media, FlexFEC), ...
  std::vector<uint32_t> ssrcs;  // 1..kMaxSsrcs, in line order
  static constexpr size_t kMaxSsrcs = 16;
  friend bool operator==(const SdpSsrcGroup&, const SdpSsrcGroup&) = default;
};

struct SdpMedia {
  std::string media = "video";      // audio, video, application, ...
  uint16_t port = 0;
  uint16_t port_count = 1;          // "m=video 5004/2 ..." -> 2
  std::string proto = "RTP/AVP";    // RTP/AVP, RTP/SAVP, RTP/AVPF, RTP/SAVPF
  std::vector<SdpPayloadType> payload_types;  // in m= line order
  std::optional<SdpConnection> connection;
  std::optional<uint32_t> bandwidth_as_kbps;  // b=AS:
  std::optional<std::string> mid;
  std::optional<uint16_t> rtcp_port;          // a=rtcp:<port>
  bool rtcp_mux = false;
  std::optional<SdpDirection> direction;
  std::vector<SdpExtmap> extmaps;
  std::vector<SdpCrypto> cryptos;
  std::vector<SdpSsrc> ssrcs;
  std::vector<SdpSsrcGroup> ssrc_groups;  // written after the a=ssrc lines
  std::vector<std::string> other_lines;  // unknown lines ("a=framerate:30", "i=..."), verbatim

  // The entry for `pt`, or null.
  const SdpPayloadType* find_payload_type(uint8_t pt) const;
  SdpPayloadType* find_payload_type(uint8_t pt);
  // The last group with these semantics, or null.
  const SdpSsrcGroup* find_ssrc_group(std::string_view semantics) const;
  bool is_secure() const { return proto.find("SAVP") != std::string::npos; }
  friend bool operator==(const SdpMedia&, const SdpMedia&) = default;
};

struct SessionDescription {
  SdpOrigin origin;
  std::string session_name = "tern";
  std::optional<SdpConnection> connection;
  std::string timing = "0 0";
  std::optional<SdpDirection> direction;
  std::vector<std::string> other_lines;  // unknown session-level lines, verbatim
  std::vector<SdpMedia> media;

  // Serialises with CRLF line endings in RFC 8866 5 order.
  std::string to_string() const;
  // Parses `text` (CRLF or LF). On failure *error_line (if given) is the offending 1-based line.
  static Result<SessionDescription> parse(std::string_view text, size_t* error_line = nullptr);
  friend bool operator==(const SessionDescription&, const SessionDescription&) = default;

  static constexpr size_t kMaxSize = 64 * 1024;  // bytes of SDP text accepted
  static constexpr size_t kMaxMedia = 32;
  static constexpr size_t kMaxPayloadTypes = 64;  // per m= line
};

}  // namespace tern::transport
