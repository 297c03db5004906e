// VideoSendStream: capture -> encoder -> packetizer -> RTP (+ ULPFEC in RED, or FlexFEC on its own
// SSRC) for one video SSRC.
// The synthetic camera is pulled at its frame cadence inside process(); the congestion side sets
// the media rate (or suspends the stream) and the protection level; PLI/FIR ask for a keyframe.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "tern/codecs/video_encoder.h"
#include "tern/core/result.h"
#include "tern/media/media_source.h"
#include "tern/media/synthetic_video_source.h"
#include "tern/pipeline/frame_rate_meter.h"
#include "tern/pipeline/listeners.h"
#include "tern/pipeline/outgoing_packet.h"
#include "tern/pipeline/pipeline_config.h"
#include "tern/pipeline/rtp_sender.h"
#include "tern/pipeline/video_adapter.h"
#include "tern/recovery/flexfec.h"
#include "tern/recovery/protection_policy.h"
#include "tern/recovery/ulpfec.h"
#include "tern/rtp/payload/vp8_payload.h"
#include "tern/rtp/payload/vp9_payload.h"

namespace tern::pipeline {

// webrtc-stats outbound-rtp (video) members kept by the stream itself.
struct VideoSendCounters {
  int64_t frames_captured = 0;
  int64_t frames_encoded = 0;
  int64_t key_frames_encoded = 0;
  int64_t frames_dropped_by_encoder = 0;
  int64_t frames_suspended = 0;      // captured while the allocator had suspended the stream
  int64_t frames_dropped_by_pacer = 0;  // not encoded: the pacer queue was too long (see set_pacer_backlog)
  int64_t frames_dropped_by_rate = 0;   // not encoded: the encoder had overshot its rate (frame dropper)
  int64_t frames_dropped_by_adapter = 0;  // not encoded: above the adapted frame rate
  int64_t resize_errors = 0;              // sizes the encoder or scaler refused (frame then dropped)
  int64_t total_encoded_bytes = 0;
  int64_t fec_packets_sent = 0;
  bool fec_bursty_masks = false;     // the FEC masks in use are the bursty family
  int64_t nack_count = 0;            // NACK packets received
  int64_t pli_count = 0;
  int64_t fir_count = 0;
  // Rate changes the encoder refused (kept at its previous rate; not expected: the rate is clamped
  // into the encoder's range first, so a non-zero count points at an encoder or libvpx problem).
  int64_t encoder_config_errors = 0;
  int frame_width = 0;   // of the last encoded frame (the configured size before the first)
  int frame_height = 0;
};

class VideoSendStream {
 public:
  struct Config {
    codecs::CodecType codec = codecs::CodecType::kVp8;  // VP8 or VP9
    int width = 640;
    int height = 480;
    double fps = 30.0;
    uint64_t source_seed = 1;
    DataRate start_rate = DataRate::KilobitsPerSec(300);
    ProtectionConfig protection;
    PayloadTypes payload_types;
    size_t max_packet_size = 1200;
    // VP9 descriptor mode: flexible (F=1 with P_DIFFs, RFC 9628 4.2) or non-flexible without
    // layer indices (F=0: what ffmpeg's RTP VP9 depacketizer reads correctly).
    bool vp9_flexible_mode = true;
    int temporal_layers = 1;  // 1..3 (MediaConfig::temporal_layers)
    RtpSender::Config rtp;
    // protection.flexfec: the FlexFEC stream's SSRC (non-zero, payload type payload_types.flexfec)
    // and its first sequence number (its numbering is its own).
    uint32_t flexfec_ssrc = 0;
    uint16_t flexfec_first_sequence_number = 0;
    // Resolution and frame-rate adaptation (VideoAdapter): what gives way when the rate is short,
    // QP is high or encoding overuses its time.
    DegradationPreference degradation = DegradationPreference::kBalanced;
    // Encode-time clock for the overuse detector (a monotonic CPU or wall clock, read around each
    // encode); empty: encode time is not measured and only rate and QP adapt (simulated calls stay
    // deterministic).
    std::function<Timestamp()> encode_clock;
  };
  static Result<std::unique_ptr<VideoSendStream>> Create(const Config& config, const rtp::ExtensionMap& extensions);

  // When the next frame is due.
  Timestamp next_capture_time(Timestamp now) const;
  // Captures, encodes and packetizes a due frame; appends its packets to `out`.
  void process(Timestamp now, std::vector<OutgoingPacket>& out);

  // Media rate for the encoder; `suspended` stops encoding (the resume continues with a delta
  // frame: nothing encoded in between, the reference chain is whole).
  void set_target(DataRate media_rate, bool suspended);
  // While `backlogged` (the pacer queue takes too long to drain), captured frames are dropped
  // before the encoder so the sender does not queue delay behind them; a pending keyframe
  // request waits for the next encoded frame.
  void set_pacer_backlog(bool backlogged) { pacer_backlog_ = backlogged; }
  // The policy deciding the FEC level (its thresholds: a caller judging a path by them).
  const recovery::ProtectionPolicy& protection_policy() const { return policy_; }
  // Path figures for the FEC level (recovery::ProtectionPolicy).
  // `bursty`: losses come in runs (the protection policy then picks bursty FEC masks); `base_rtt`:
  // the path's least RTT (recovery::StreamFigures::base_rtt).
  void on_path_figures(TimeDelta rtt, double loss_fraction, bool bursty = false,
                       std::optional<TimeDelta> base_rtt = std::nullopt);
  // FEC rate of delta frames as a share of the media (0 when none is sent), from the last
  // on_path_figures: what the allocator reserves for it.
  double fec_overhead() const { return fec_overhead_; }
  void request_keyframe() { keyframe_requested_ = true; }
  void on_pli() { ++counters_.pli_count; keyframe_requested_ = true; }
  void on_fir() { ++counters_.fir_count; keyframe_requested_ = true; }
  void on_nack_received() { ++counters_.nack_count; }

  void set_capture_listener(VideoCaptureListener* listener) { capture_listener_ = listener; }
  // Pull pictures from `source` (not owned; nullptr: the synthetic camera) instead. Pictures of
  // another size than the encoder's are scaled to it.
  void set_source(media::VideoSource* source) { external_source_ = source; }
  // Resolution/frame-rate adaptation state (level, qualityLimitation* stats).
  const VideoAdapter& adapter() const { return adapter_; }
  RtpSender& rtp() { return rtp_; }
  const RtpSender& rtp() const { return rtp_; }
  const VideoSendCounters& counters() const { return counters_; }
  DataRate target() const { return target_; }
  bool suspended() const { return suspended_; }
  // Encoded frames in the last second (outbound-rtp framesPerSecond).
  double frames_per_second(Timestamp now) const { return encodes_.frames_per_second(now); }
  // Captured frames in the last second (media-source framesPerSecond), measured.
  double capture_frames_per_second(Timestamp now) const { return captures_.frames_per_second(now); }
  uint8_t payload_type() const { return media_pt_; }
  const char* mime_type() const { return codecs::mime_type(config_.codec); }

 private:
  VideoSendStream(const Config& config, RtpSender rtp, media::SyntheticVideoSource source,
                  std::unique_ptr<codecs::VideoEncoder> encoder, recovery::ProtectionPolicy policy, VideoAdapter adapter);
  // Takes the adapter's level (encoder size and frame rate) when it changed.
  void adapt(Timestamp now);
  // Frame-rate adaptation: false when this captured frame is above the level's frame rate.
  bool within_adapted_frame_rate();
  // Encodes `frame` (scaled to the level's size first when it differs); nullopt: not encoded.
  std::optional<codecs::EncodedFrame> encode(const codecs::VideoFrame& frame);
  void packetize(const codecs::EncodedFrame& frame, Timestamp now, std::vector<OutgoingPacket>& out);
  // Frame dropper: true when the encoder's output since the last frames is too far ahead of the
  // media rate and this frame should not be encoded.
  bool over_budget(Timestamp now);
  void on_encoded(DataSize size, bool keyframe);
  // The pending repair packets of either generator, after the frame's media packets in `out`.
  void take_fec_packets(Timestamp capture_time, std::vector<OutgoingPacket>& out);

  Config config_;
  RtpSender rtp_;
  media::SyntheticVideoSource source_;
  media::VideoSource* external_source_ = nullptr;
  std::unique_ptr<codecs::VideoEncoder> encoder_;
  recovery::ProtectionPolicy policy_;
  double fec_overhead_ = 0.0;
  bool fec_on_ = false;  // the protection policy turned FEC on (its rule 7 keeps it on)
  VideoAdapter adapter_;
  codecs::VideoFrame scaled_;  // the captured picture at the adapted size, reused
  double frame_credit_ = 1.0;  // frame-rate adaptation: a frame is encoded per whole credit
  std::optional<recovery::UlpfecGenerator> fec_;
  std::optional<recovery::FlexfecGenerator> flexfec_;
  rtp::Vp8Packetizer vp8_;
  rtp::Vp9Packetizer vp9_;
  uint8_t media_pt_;
  DataRate target_;
  bool suspended_ = false;
  bool pacer_backlog_ = false;
  // Frame dropper (a leaky bucket, like libwebrtc's media_opt FrameDropper): encoded bytes go in,
  // the media rate drains it; a keyframe's excess over an average frame enters over the next
  // frames instead of at once.
  DataSize encoder_debt_ = DataSize::Zero();
  DataSize keyframe_excess_ = DataSize::Zero();
  DataSize keyframe_excess_step_ = DataSize::Zero();
  Timestamp last_drain_ = Timestamp::MinusInfinity();
  int consecutive_drops_ = 0;  // by the frame dropper or the encoder
  Timestamp last_encode_time_ = Timestamp::MinusInfinity();
  bool keyframe_requested_ = false;
  bool started_ = false;
  VideoSendCounters counters_;
  VideoCaptureListener* capture_listener_ = nullptr;
  std::vector<uint8_t> payload_buffer_;
  FrameRateMeter encodes_;
  FrameRateMeter captures_;
};

}  // namespace tern::pipeline
