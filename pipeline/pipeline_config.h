// Configuration of a tern call endpoint: which codecs, resolution, frame rate, loss protection and
// congestion control it uses, the SSRCs and payload types of its streams, and the RTP header
// extension ids. Plain structs with defaults; Endpoint::Create validates them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "tern/codecs/codec_type.h"
#include "tern/core/ntp_time.h"
#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/pipeline/video_adapter.h"

namespace tern::pipeline {

// kTransportCc: GCC fed by transport-wide feedback; kRemb: GCC capped by the receiver's REMB (loss
// from RRs); kFixed: no controller, the encoders get fixed_rate.
// kRfc8888: GCC fed by RFC 8888 congestion control feedback (per SSRC and RTP sequence number,
// no header extension needed; the receiver sends it instead of transport-cc).
enum class CongestionControlMode : uint8_t { kTransportCc, kRemb, kFixed, kRfc8888 };

const char* congestion_mode_name(CongestionControlMode mode);

// Loss protection of one direction. NACK: RFC 4585 generic NACK answered with RFC 4588 RTX. FEC:
// ULPFEC (RFC 5109) inside RED (RFC 2198) for video, rate from recovery::ProtectionPolicy with a
// floor. RED: Opus redundancy (RFC 2198, two generations) for audio. FlexFEC: RFC 8627 repair
// packets for video on their own SSRC (StreamSsrcs::video_fec) and payload type (SDP flexfec-03,
// ssrc-group:FEC-FR), the same rate policy and masks as ULPFEC, media sent without RED; either
// ULPFEC or FlexFEC, not both.
struct ProtectionConfig {
  bool nack = true;
  bool fec = false;
  bool red = false;
  bool flexfec = false;
};

// A command line's protection list: schemes nack, fec (ULPFEC in RED), flexfec, red or none,
// separated by ',' or '+', any case ("nack,flexfec"). Everything off but what is named. Fails with
// a reason for an empty list, an unknown scheme, or fec with flexfec.
Result<ProtectionConfig> parse_protection_list(std::string_view list);

// Payload types (dynamic range, as browsers offer them).
struct PayloadTypes {
  uint8_t opus = 111;
  uint8_t audio_red = 63;
  uint8_t vp8 = 96;
  uint8_t vp9 = 98;
  uint8_t video_rtx = 97;  // apt = the video payload type in use
  uint8_t red = 100;       // video RED, wrapping media and ULPFEC
  uint8_t ulpfec = 101;
  // The peer's RTX for RED (apt = red; libwebrtc retransmits RED-wrapped packets under it); 0: none.
  // tern itself retransmits the media block under video_rtx.
  uint8_t red_rtx = 0;
  uint8_t flexfec = 120;    // flexfec-03, on the FlexFEC SSRC

  // The payload type of `codec`'s media (opus, vp8 or vp9 above).
  const uint8_t& of(codecs::CodecType codec) const;
  uint8_t& of(codecs::CodecType codec);
};

// RFC 8285 one-byte header extension ids.
struct ExtensionIds {
  uint8_t abs_send_time = 2;
  uint8_t transport_sequence_number = 3;
  uint8_t mid = 4;
};

// The SSRCs one side sends on.
struct StreamSsrcs {
  uint32_t audio = 0x1000'0001;
  uint32_t video = 0x1000'0002;
  uint32_t video_rtx = 0x1000'0003;
  std::string audio_mid = "0";
  std::string video_mid = "1";
  uint32_t video_fec = 0x1000'0004;  // FlexFEC repair stream (used with ProtectionConfig::flexfec)
};

// What one side sends (and, for the peer, what it should expect).
struct MediaConfig {
  // nullopt: no video (audio: no audio) in this direction. A video codec in `audio` or the
  // reverse is rejected by EndpointConfig::validate().
  std::optional<codecs::CodecType> video = codecs::CodecType::kVp8;
  int width = 640;
  int height = 480;
  double fps = 30.0;
  std::optional<codecs::CodecType> audio = codecs::CodecType::kOpus;
  DataRate audio_bitrate = DataRate::KilobitsPerSec(32);
  DataRate video_min_rate = DataRate::KilobitsPerSec(50);
  DataRate video_max_rate = DataRate::KilobitsPerSec(2500);
  ProtectionConfig protection;
  uint64_t source_seed = 1;  // synthetic camera and microphone content
  // VP9 payload descriptor: flexible mode (F=1, P_DIFFs) or non-flexible without layer indices
  // (single-layer, what ffmpeg 5.1's RTP VP9 depacketizer reads). Both are RFC 9628.
  bool vp9_flexible_mode = true;
  // Temporal layers the video encoder makes (1..3; VP8 TID/Y/TL0PICIDX, VP9 TID/U in flexible
  // mode): a media server can then thin the stream per receiver (pipeline/layer_selector.h).
  int temporal_layers = 1;
  // What gives way when video is short of rate, QP or encode time (pipeline/video_adapter.h):
  // the sender lowers resolution and/or frame rate; the receiver follows the sizes it decodes.
  DegradationPreference degradation = DegradationPreference::kBalanced;
};

struct EndpointConfig {
  std::string cname = "tern";
  MediaConfig send;     // what this endpoint sends (no codec: nothing of that kind)
  MediaConfig receive;  // what the peer sends
  StreamSsrcs local;
  StreamSsrcs remote{0x2000'0001, 0x2000'0002, 0x2000'0003, "0", "1", 0x2000'0004};
  PayloadTypes payload_types;
  ExtensionIds extension_ids;
  CongestionControlMode congestion = CongestionControlMode::kTransportCc;
  DataRate start_rate = DataRate::KilobitsPerSec(300);
  DataRate min_rate = DataRate::KilobitsPerSec(30);
  DataRate max_rate = DataRate::KilobitsPerSec(3000);
  DataRate fixed_rate = DataRate::KilobitsPerSec(1000);  // kFixed: the whole send budget
  // Ask the peer for keyframes with FIR (RFC 5104; SDP "ccm fir") instead of PLI (RFC 4585).
  bool use_fir = false;
  // Score each rendered frame against the peer's source picture: from the ReferenceFrameProvider
  // given to Endpoint::set_reference_frame_provider, else regenerated from the synthetic camera
  // (costs about 0.02 ms per 640x480 frame). PSNR on every frame (about 0.06 ms at 640x480).
  bool measure_quality = true;
  // SSIM (about 3 ms per 640x480 frame, libyuv) only on frames whose FrameStamp number is a
  // multiple of this (sampled: every 2 s at 30 fps by default); 1 = every frame, 0 = never.
  int ssim_every = 60;
  // Delay the earlier of audio and video so they play in sync (RFC 3550 6.4.1 NTP/RTP mapping).
  bool av_sync = true;
  size_t max_packet_size = 1200;  // RTP packet bytes
  TimeDelta rtcp_interval = TimeDelta::Seconds(1);  // RFC 3550 Tmin of regular reports
  // While sending nothing, put an RFC 3611 Receiver Reference Time in each report so the peer's
  // DLRR answer gives this receiver the RTT its NACK timing and video delay need (a receiver
  // otherwise never learns it). DLRR answers to a peer's RRTR are always sent.
  bool receiver_rtt = true;
  TimeDelta feedback_interval = TimeDelta::Millis(50);  // transport-cc reports
  TimeDelta network_sample_interval = TimeDelta::Millis(100);  // time series for listeners
  NtpClock ntp_clock;
  uint64_t seed = 1;  // RTCP timing, initial sequence numbers
  // Clock read around each video encode for the overuse detector (a real-time driver gives a
  // monotonic clock); empty: encode time not measured, so simulated calls stay deterministic.
  std::function<Timestamp()> encode_clock;

  // Rejects inconsistent values (sizes, rates, duplicate SSRCs) with a reason.
  Status validate() const;
  // The peer's configuration for a point-to-point call with this one: send/receive and
  // local/remote swapped.
  EndpointConfig mirrored() const;
};

}  // namespace tern::pipeline
