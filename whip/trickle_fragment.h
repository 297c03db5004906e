// IceFragment: an SDP fragment of media type "application/trickle-ice-sdpfrag" (RFC 8840 4.4, 9),
// the body of a WHIP/WHEP PATCH (RFC 9725 4.3.1): ICE credentials, options and, per media section
// (identified by its a=mid), trickled candidates and end-of-candidates. Example:
//   a=ice-ufrag:EsAw
//   a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1
//   m=audio 9 UDP/TLS/RTP/SAVPF 0
//   a=mid:0
//   a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host
//   a=end-of-candidates
//
// Parsing is strict on structure and bounded: lines end with CRLF or LF; only "a=" and "m=" lines
// (a=group is kept, other attributes are skipped and counted in `ignored_attributes`); a candidate
// or end-of-candidates outside a media section, a media section without a=mid, a malformed
// candidate, ICE credentials with characters outside ice-char (RFC 8839 5.4) or of the wrong length,
// and anything above the limits below are refused with a reason. Nothing is partially applied: the
// caller gets a whole fragment or an error.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/result.h"
#include "tern/sdp/webrtc_attributes.h"

namespace tern::whip {

struct FragmentMedia {
  std::string kind;  // the m= line's media ("audio", "video", "application")
  std::string mid;
  std::vector<sdp::SdpCandidate> candidates;
  bool end_of_candidates = false;
};

struct IceFragment {
  static constexpr size_t kMaxSize = 16 * 1024;  // bytes of text
  static constexpr size_t kMaxLineLength = 1024;
  static constexpr size_t kMaxMedia = 16;
  static constexpr size_t kMaxCandidates = 64;  // over all media sections

  std::optional<std::string> ufrag;  // a=ice-ufrag (session level or in a section; one value)
  std::optional<std::string> pwd;    // a=ice-pwd
  std::vector<std::string> ice_options;
  std::vector<std::string> bundle_mids;  // a=group:BUNDLE, when present
  std::vector<FragmentMedia> media;
  size_t ignored_attributes = 0;

  static Result<IceFragment> parse(std::string_view text);
  // The fragment as text, CRLF line ends, credentials at session level. A section's m= line is
  // "m=<kind> 9 UDP/TLS/RTP/SAVPF 0" (RFC 8840 9: the values are placeholders the peer ignores).
  std::string to_string() const;

  size_t candidate_count() const;
  // True when the fragment carries new credentials: an ICE restart (RFC 9725 4.4).
  bool is_restart(std::string_view current_ufrag) const { return ufrag && *ufrag != current_ufrag; }
};

}  // namespace tern::whip
