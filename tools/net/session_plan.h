// SessionPlan: what one tern-send -> receiver session carries, in both directions of translation:
// the SDP (RFC 8866) tern-send writes for its receiver (codec, payload type, clock rate, a=ssrc,
// RTX and RED/ULPFEC payload types, FlexFEC (flexfec-03 with ssrc-group:FEC-FR), rtcp-fb, extmap,
// a=crypto, a=rtcp-mux) and the receive side
// tern-recv derives from an SDP (its own, ffmpeg's -sdp_file, or a hand-written one).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tern/core/result.h"
#include "tern/pipeline/pipeline_config.h"
#include "tern/transport/session_description.h"
#include "tern/transport/srtp_key.h"

namespace tern::tools::net {

struct SessionPlan {
  std::string address = "127.0.0.1";  // receiver's address (c=)
  uint16_t port = 0;                  // receiver's RTP port (m=)
  // Audio m= line's port when audio has its own (one port per m= line, as ffmpeg and sdpdemux use);
  // `port` is then the video line's. RTCP follows each line's port (+1 without rtcp_mux).
  std::optional<uint16_t> audio_port;
  bool rtcp_mux = true;
  std::optional<codecs::CodecType> video;  // VP8 or VP9; nullopt: no video line
  std::optional<codecs::CodecType> audio;  // Opus; nullopt: no audio line
  pipeline::PayloadTypes payload_types;
  pipeline::ExtensionIds extension_ids;
  // Sender SSRCs; nullopt when the SDP names none (the receiver learns them from the first packet).
  std::optional<uint32_t> video_ssrc, video_rtx_ssrc, audio_ssrc;
  std::optional<uint32_t> video_fec_ssrc;  // FlexFEC repair stream (set whenever flexfec is)
  bool nack = false;          // RTCP NACK + RTX (video)
  bool fec = false;           // RED + ULPFEC (video)
  bool flexfec = false;       // FlexFEC (RFC 8627) on video_fec_ssrc; never with fec
  bool audio_red = false;     // Opus in RED
  bool transport_cc = false;  // transport-wide feedback (extmap + rtcp-fb)
  bool remb = false;          // goog-remb
  bool use_fir = false;       // the video offers "ccm fir" but not "nack pli": ask for keyframes by FIR
  std::optional<transport::SrtpProfile> srtp_profile;
  std::vector<uint8_t> srtp_key;
  // The audio line's own SRTP suite and key when it has its own port and a different a=crypto
  // (ffmpeg writes one per output); nullopt: the same as the video line.
  struct Srtp {
    transport::SrtpProfile profile;
    std::vector<uint8_t> key;
  };
  std::optional<Srtp> audio_srtp;
  std::string cname = "tern";
  // Features an SDP offered that the plan turned off, each with its reason (for a warning).
  std::vector<std::string> warnings;
};

// The SDP describing the session for its receiver (one m= line per media kind, on plan.port or,
// for audio, plan.audio_port).
transport::SessionDescription build_sdp(const SessionPlan& plan);
// Reads a plan from an SDP: the first video and the first audio m= line, on one port or each on its
// own (audio_port, audio_srtp); codecs by rtpmap name (VP8, VP9, opus, rtx, red, ulpfec, flexfec-03;
// FlexFEC only with its ssrc-group:FEC-FR, and not beside ULPFEC, else off with a warning). Fails with
// a reason for an SDP without a usable media line, with an unusable crypto line, with lines on
// different addresses, or with one port under different keys or only partly under SRTP.
Result<SessionPlan> plan_from_sdp(const transport::SessionDescription& sdp);

}  // namespace tern::tools::net
