// JSEP offer/answer (RFC 9429 5.2, 5.3, 5.10) over the SDP model, sans-I/O pure functions: build
// an offer from tern's local capabilities, answer a remote offer, and read what an exchange
// negotiated (NegotiatedSession), which the PeerConnection maps onto pipeline::EndpointConfig
// (endpoint_mapping.h).
//
// Policy (what tern can carry: Opus, VP8, VP9 profile 0, RTX, RED/ULPFEC, the three header
// extensions pipeline/ stamps, SCTP data channels, one BUNDLE transport with rtcp-mux):
//  - Answers keep the offerer's payload type numbers and order, prune every payload type tern does
//    not implement (and RTX/RED whose apt was pruned), keep only the rtcp-fb tern acts on and the
//    extensions it writes, and reject (port 0, same mid and proto, no other attributes) a section
//    with nothing usable, never failing on a well-formed offer.
//  - One extmap id per URI across the bundle (RFC 8843 9.2): an offered mapping that reuses an id
//    already taken by another URI (or a URI already at another id) in an earlier accepted section is
//    left out of the answer.
//  - BUNDLE (RFC 8843 7.3): the answer's group lists the offered group's accepted mids in the
//    offered order; rejected sections leave it. Transport attributes are written in every accepted
//    section (as Chromium and pion do), candidates only in the first section of the group.
//  - setup: the answer answers actpass with active (RFC 8842 5.3, JSEP 5.3.1); the offer is actpass.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tern/codecs/codec_type.h"
#include "tern/core/result.h"
#include "tern/dtls/certificate_fingerprint.h"
#include "tern/dtls/dtls_setup.h"
#include "tern/ice/candidate.h"
#include "tern/sdp/sdp_description.h"
#include "tern/sdp/webrtc_attributes.h"

namespace tern::sdp {

enum class MediaKind : uint8_t { kAudio, kVideo, kApplication, kOther };
MediaKind media_kind(std::string_view media);

// Payload types tern offers (the dynamic numbers browsers use; pipeline::PayloadTypes' defaults).
struct OfferPayloadTypes {
  uint8_t opus = 111;
  uint8_t audio_red = 63;
  uint8_t vp8 = 96;
  uint8_t vp8_rtx = 97;
  uint8_t vp9 = 98;
  uint8_t vp9_rtx = 99;
  uint8_t red = 100;
  uint8_t ulpfec = 101;
  uint8_t red_rtx = 102;  // rtx apt=red: the peer's retransmissions of RED-wrapped packets (libwebrtc)
};

// Extension ids tern offers (pipeline::ExtensionIds' defaults, Chromium's numbers).
struct OfferExtensionIds {
  uint8_t abs_send_time = 2;
  uint8_t transport_cc = 3;
  uint8_t mid = 4;
};

// What this side can do and who it is: the source of offers and the bound of answers.
struct LocalCapabilities {
  bool audio = true;  // offer / accept an audio section
  bool video = true;
  bool data = true;   // an application section for data channels
  bool send_audio = true;  // a track to send (else recvonly)
  bool send_video = true;
  bool vp8 = true;
  bool vp9 = true;      // profile-id 0 only
  bool rtx = true;      // RFC 4588 for video
  bool video_fec = false;  // red/90000 + ulpfec/90000
  bool audio_red = false;  // red/48000/2 over Opus (RFC 2198)
  // RTCP feedback tern acts on.
  bool nack = true;
  bool pli = true;
  bool fir = true;
  bool remb = true;
  bool transport_cc = true;
  // Answers accept a video section's simulcast (RFC 8853): `a=simulcast:recv` mirroring the
  // offer's send streams (the first alternative of each; paused ones count as present), `a=rid:<id>
  // recv` for each, the rtp-stream-id and repaired-rtp-stream-id extensions kept. At most kMaxRids
  // streams, each with its `a=rid:<id> send` line; otherwise the section is answered without it.
  bool simulcast_receive = false;
  OfferPayloadTypes payload_types;
  OfferExtensionIds extension_ids;

  // Transport.
  std::string ice_ufrag;  // 4..256 ice-chars (RFC 8839 5.4)
  std::string ice_pwd;    // 22..256
  bool ice_trickle = true;
  std::vector<ice::Candidate> candidates;  // UDP candidates gathered so far
  bool end_of_candidates = false;
  dtls::CertificateFingerprint fingerprint;

  // Identity of what this side sends.
  std::string cname = "tern";
  std::string stream_id = "tern";
  std::string audio_track_id = "tern-audio";
  std::string video_track_id = "tern-video";
  uint32_t audio_ssrc = 0x1000'0001;
  uint32_t video_ssrc = 0x1000'0002;
  uint32_t video_rtx_ssrc = 0x1000'0003;

  // Data channels (RFC 8841).
  uint16_t sctp_port = 5000;
  uint32_t max_message_size = 262144;

  std::string session_id = "1";  // o= session id (digits)

  // Refuses what would write a description peers reject: ICE credentials outside RFC 8839 5.4
  // (ufrag 4..256, pwd 22..256 ice-chars), a fingerprint parse() would refuse, payload types
  // outside 35..63 and 96..127 (RFC 5761 4) or shared, SSRCs zero or shared, sctp_port 0, a
  // session id that is not 1..20 digits.
  Status validate() const;
};

// RTCP feedback negotiated for a codec (rtcp-fb lines present in the answer).
struct FeedbackSet {
  bool nack = false;
  bool pli = false;
  bool fir = false;
  bool remb = false;
  bool transport_cc = false;
  bool operator==(const FeedbackSet&) const = default;
};

struct NegotiatedCodec {
  uint8_t payload_type = 0;
  std::optional<codecs::CodecType> codec;  // set for the codecs tern implements
  RtpMap rtpmap;
  std::string fmtp;  // "" when none
  std::optional<uint8_t> rtx_payload_type;  // RTX with apt = payload_type
  FeedbackSet feedback;
};

struct NegotiatedMedia {
  std::string mid;
  MediaKind kind = MediaKind::kOther;
  bool accepted = false;  // false: port 0 in the answer (or the offer)
  Direction direction = Direction::kInactive;  // this side's view: sends() = this side sends
  std::vector<NegotiatedCodec> codecs;  // media codecs in the answer's order (first = preferred)
  std::optional<uint8_t> red_payload_type;     // video red/90000 or audio red/48000/2
  std::optional<uint8_t> ulpfec_payload_type;  // video
  std::optional<uint8_t> red_rtx_payload_type;  // video: rtx with apt = the RED (the peer's RED retransmissions)
  std::vector<ExtMap> extensions;  // as the answer maps them
  bool rtcp_mux = false;
  bool rtcp_rsize = false;
  // What the peer said it sends (a=ssrc, a=ssrc-group FID and FEC-FR, a=msid).
  std::optional<uint32_t> remote_ssrc;
  std::optional<uint32_t> remote_rtx_ssrc;
  std::optional<uint32_t> remote_fec_ssrc;
  std::string remote_cname;
  std::optional<Msid> remote_msid;
  // The rids the peer sends as simulcast streams (the answer's a=simulcast), in its order.
  std::vector<std::string> remote_rids;
  // Application sections: the peer's SCTP port and max-message-size (RFC 8841 6: 65536 when absent).
  uint16_t remote_sctp_port = 0;
  uint32_t remote_max_message_size = 0;
};

struct NegotiatedSession {
  std::vector<NegotiatedMedia> media;  // in m= order
  std::vector<std::string> bundle;     // the answer's BUNDLE group, tagged mid first; empty: none
  std::string remote_ice_ufrag;
  std::string remote_ice_pwd;
  bool remote_ice_trickle = false;
  bool remote_ice_lite = false;
  std::vector<ice::Candidate> remote_candidates;  // UDP ones from the peer's description
  size_t remote_candidates_skipped = 0;  // TCP, RTCP (component 2), unparseable or beyond the bound
  bool remote_end_of_candidates = false;
  dtls::CertificateFingerprint remote_fingerprint;
  dtls::DtlsRole dtls_role = dtls::DtlsRole::kClient;  // this side's role
  bool ice_controlling = false;  // the offerer controls (RFC 8445 6.1.1, both full agents)
  bool extmap_allow_mixed = false;

  // The first accepted section of `kind`, or null.
  const NegotiatedMedia* find(MediaKind kind) const;
};

// Candidates read from one description are bounded; the rest are counted in remote_candidates_skipped.
inline constexpr size_t kMaxRemoteCandidates = 64;

// An offer with an audio, a video and an application section as `local` allows, BUNDLE over all.
// `local` must pass validate() (the PeerConnection checks it once, at creation).
SessionDescription create_offer(const LocalCapabilities& local);

struct Answer {
  SessionDescription description;
  NegotiatedSession negotiated;
};
// The answer to `offer`. Fails when `local` does not validate(), or when the offer breaks JSEP (no mid, no ICE credentials or
// fingerprint on an accepted section, setup holdconn, duplicate mids).
Result<Answer> create_answer(const SessionDescription& offer, const LocalCapabilities& local);

// What the exchange negotiated, from our offer and the peer's answer. Refuses an answer that
// does not match the offer (section count or mids differ, a payload type or extension id the offer
// did not have, setup actpass, a missing fingerprint or ICE credentials).
Result<NegotiatedSession> apply_answer(const SessionDescription& offer, const SessionDescription& answer);

}  // namespace tern::sdp
