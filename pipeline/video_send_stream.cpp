#include "tern/pipeline/video_send_stream.h"

#include <algorithm>

#include "tern/codecs/codec_factory.h"
#include "tern/media/frame_stamp.h"
#include "tern/media/video_scaler.h"
#include "tern/recovery/red.h"
#include "tern/recovery/rtp_rewrite.h"

namespace tern::pipeline {
namespace {

constexpr uint32_t kVideoClockRate = 90000;
// FEC floor whenever FEC is sent (with NACK: when the protection policy turns it on; FEC alone:
// always, even on a clean path): ~10% of the media packets.
constexpr uint8_t kMinFecRate = 26;
// Frame dropper: a frame is not encoded while the encoder is this far (in time at the media rate)
// ahead of its rate; a keyframe's excess is spread over this many following frames.
constexpr TimeDelta kMaxEncoderDebt = TimeDelta::Millis(100);
constexpr int kKeyframeSpreadFrames = 15;
// Sender-side drops never make a gap of more than this many frames in a row, the encoder's own
// drops included (a longer gap would be a freeze; the encoder's rate control shrinks frames).
constexpr int kMaxConsecutiveDrops = 2;
// Drops for a pacer backlog stop once the last encoded frame is this old.
constexpr TimeDelta kMaxPacerDropGap = TimeDelta::Millis(300);
// Quality scaler thresholds on libvpx's internal quantizer index (libwebrtc's VP8 29/95 of 0..127,
// VP9 149/205 of 0..255): a mean QP above the high one means the rate is too low for the size.
constexpr int kVp8QpLow = 29;
constexpr int kVp8QpHigh = 95;
constexpr int kVp9QpLow = 149;
constexpr int kVp9QpHigh = 205;

}  // namespace

Result<std::unique_ptr<VideoSendStream>> VideoSendStream::Create(const Config& config,
                                                                 const rtp::ExtensionMap& extensions) {
  if (!codecs::is_video(config.codec)) return Error{"video send stream: not a video codec"};
  if (config.protection.fec && config.protection.flexfec) return Error{"video send stream: ULPFEC and FlexFEC are exclusive"};
  if (config.protection.flexfec && (config.flexfec_ssrc == 0 || config.flexfec_ssrc == config.rtp.ssrc)) {
    return Error{"video send stream: FlexFEC needs an SSRC of its own"};
  }
  media::SyntheticVideoConfig sc;
  sc.width = config.width;
  sc.height = config.height;
  sc.fps = config.fps;
  sc.seed = config.source_seed;
  auto source = media::SyntheticVideoSource::Create(sc);
  if (!source) return Error{source.error()};
  codecs::VideoEncoderConfig ec;
  ec.codec = config.codec;
  ec.width = config.width;
  ec.height = config.height;
  ec.start_bitrate = config.start_rate;
  ec.max_framerate = config.fps;
  ec.num_temporal_layers = config.temporal_layers;
  // Frames are dropped by the stream's own frame dropper (over_budget), which bounds the gap; the
  // encoder's buffer-based dropping on top of it makes long gaps (freezes) at low rates.
  ec.frame_drop_threshold = 0;
  auto encoder = codecs::CreateVideoEncoder(ec);
  if (!encoder) return Error{encoder.error()};
  RtpSender::Config rc = config.rtp;
  rc.clock_rate = kVideoClockRate;
  if (!config.protection.nack) rc.rtx_ssrc.reset();
  const uint8_t media_pt = config.payload_types.of(config.codec);
  rc.rtx_payload_type = config.payload_types.video_rtx;
  rc.rtx_pt_for_media_pt[media_pt] = config.payload_types.video_rtx;
  // With ULPFEC in RED, a retransmission carries the media packet without its RED header, under the
  // codec's RTX payload type (its SDP apt): Chromium read a RED-wrapped retransmission as VP8.
  // Its FEC packets are not retransmitted at all (they share the media's sequence numbers).
  if (config.protection.fec) {
    rc.unwrap_red_payload_type = config.payload_types.red;
    rc.fec_payload_type = config.payload_types.ulpfec;
  }
  auto rtp = RtpSender::Create(rc, extensions);
  if (!rtp) return Error{rtp.error()};
  recovery::ProtectionPolicy::Config pc;
  pc.allow_nack = config.protection.nack;
  pc.allow_fec = config.protection.fec || config.protection.flexfec;
  pc.nack_only_rtt = TimeDelta::Zero();  // FEC was asked for: use it at any RTT
  auto policy = recovery::ProtectionPolicy::Create(pc);
  if (!policy) return Error{policy.error()};
  VideoAdapter::Config ac;
  ac.width = config.width;
  ac.height = config.height;
  ac.fps = config.fps;
  ac.preference = config.degradation;
  const bool vp9 = config.codec == codecs::CodecType::kVp9;
  ac.qp_low = vp9 ? kVp9QpLow : kVp8QpLow;
  ac.qp_high = vp9 ? kVp9QpHigh : kVp8QpHigh;
  auto adapter = VideoAdapter::Create(ac);
  if (!adapter) return Error{adapter.error()};
  return std::unique_ptr<VideoSendStream>(new VideoSendStream(config, std::move(rtp).value(), std::move(source).value(),
                                                              std::move(encoder).value(), std::move(policy).value(),
                                                              std::move(adapter).value()));
}

VideoSendStream::VideoSendStream(const Config& config, RtpSender rtp, media::SyntheticVideoSource source,
                                 std::unique_ptr<codecs::VideoEncoder> encoder, recovery::ProtectionPolicy policy,
                                 VideoAdapter adapter)
    : config_(config),
      rtp_(std::move(rtp)),
      source_(std::move(source)),
      encoder_(std::move(encoder)),
      policy_(policy),
      adapter_(std::move(adapter)),
      media_pt_(config.payload_types.of(config.codec)),
      target_(config.start_rate) {
  if (config_.protection.fec) {
    recovery::UlpfecGenerator::Config fc;
    fc.ulpfec_payload_type = config_.payload_types.ulpfec;
    fc.red_payload_type = config_.payload_types.red;
    fec_.emplace(fc);
  } else if (config_.protection.flexfec) {
    recovery::FlexfecGenerator::Config fc;
    fc.ssrc = config_.flexfec_ssrc;
    fc.payload_type = config_.payload_types.flexfec;
    fc.first_sequence_number = config_.flexfec_first_sequence_number;
    fc.protected_ssrc = config_.rtp.ssrc;
    flexfec_.emplace(fc);
  }
  if (fec_ || flexfec_) on_path_figures(TimeDelta::Millis(100), 0.0);
  counters_.frame_width = config_.width;
  counters_.frame_height = config_.height;
}

Timestamp VideoSendStream::next_capture_time(Timestamp now) const {
  if (!started_) return now;
  return external_source_ != nullptr ? external_source_->next_capture_time() : source_.next_capture_time();
}

void VideoSendStream::set_target(DataRate media_rate, bool suspended) {
  // No keyframe on resume: frames not encoded while suspended reference nothing, so the next delta
  // frame decodes on the last one sent (a receiver that lost something asks with a PLI). A forced
  // keyframe there cost several frames' worth at the minimum rate each time a rate near the
  // minimum made the stream resume (a storm of keyframes at 50 kbps).
  suspended_ = suspended;
  adapter_.set_target(media_rate, suspended);
  const DataRate rate = std::max(media_rate, DataRate::KilobitsPerSec(10));
  if (rate != target_) {
    target_ = rate;
    if (!encoder_->set_target_bitrate(rate).ok()) ++counters_.encoder_config_errors;
  }
}

void VideoSendStream::on_path_figures(TimeDelta rtt, double loss_fraction, bool bursty,
                                      std::optional<TimeDelta> base_rtt) {
  if (!fec_ && !flexfec_) return;
  recovery::StreamFigures stream;
  stream.media_rate = target_;
  stream.fps = adapter_.level().fps;
  stream.base_rtt = base_rtt;
  stream.fec_on = fec_on_;
  stream.fec_rate = target_ * fec_overhead_;
  const recovery::ProtectionDecision d = policy_.decide(rtt, loss_fraction, bursty, &stream);
  fec_on_ = d.use_fec;
  counters_.fec_bursty_masks = d.mask_type == recovery::FecMaskType::kBursty;
  // With NACK, FEC is sent only when the policy asks for it (the floor then applies): a stream the
  // policy leaves to NACK sends none, and its receiver holds the RTT for repairs as without FEC.
  // Without NACK the floor always applies: FEC is the only repair.
  const bool floor = d.use_fec || !config_.protection.nack;
  auto floored = [&](uint8_t rate, uint8_t min) {
    return floor ? std::max(d.use_fec ? rate : uint8_t{0}, min) : uint8_t{0};
  };
  recovery::FecProtection delta;
  delta.fec_rate = floored(d.fec_rate, kMinFecRate);
  delta.max_frames = d.max_frames;
  delta.mask_type = d.mask_type;
  recovery::FecProtection key = delta;
  key.fec_rate = floored(d.key_fec_rate, static_cast<uint8_t>(2 * kMinFecRate));
  fec_overhead_ = static_cast<double>(delta.fec_rate) / 255.0;
  if (fec_) fec_->set_protection(delta, key);
  if (flexfec_) flexfec_->set_protection(delta, key);
}

void VideoSendStream::process(Timestamp now, std::vector<OutgoingPacket>& out) {
  if (started_ && next_capture_time(now) > now) return;
  started_ = true;
  std::optional<codecs::VideoFrame> frame = external_source_ != nullptr ? external_source_->next_frame(now)
                                                                        : source_.next_frame(now);
  if (!frame) return;
  adapt(now);
  ++counters_.frames_captured;
  captures_.on_frame(now);
  CapturedVideoFrame captured;
  captured.ssrc = rtp_.ssrc();
  captured.frame_number = media::FrameStamp::read(*frame).value_or(0);
  captured.capture_time = now;
  // 90 kHz clock from the capture time (RFC 3550 5.1: timestamps follow the sampling instant).
  frame->capture_time = now;
  frame->rtp_timestamp = static_cast<uint32_t>(now.us() * 9 / 100);
  captured.rtp_timestamp = frame->rtp_timestamp;
  captured.picture = &*frame;
  const bool over = over_budget(now);
  const bool may_drop = !keyframe_requested_ && consecutive_drops_ < kMaxConsecutiveDrops;
  // A frame encoded behind a pacer backlog would arrive late anyway: drop for longer, but bounded.
  const bool may_drop_for_pacer =
      !keyframe_requested_ && (!last_encode_time_.is_finite() || now - last_encode_time_ < kMaxPacerDropGap);
  if (suspended_) {
    ++counters_.frames_suspended;
    encoder_debt_ = keyframe_excess_ = DataSize::Zero();
  } else if (pacer_backlog_ && may_drop_for_pacer) {
    ++counters_.frames_dropped_by_pacer;
    ++consecutive_drops_;
  } else if (!keyframe_requested_ && !within_adapted_frame_rate()) {
    ++counters_.frames_dropped_by_adapter;  // planned, not a gap: not in consecutive_drops_
  } else if (over && may_drop) {
    ++counters_.frames_dropped_by_rate;
    ++consecutive_drops_;
  } else {
    if (keyframe_requested_) {
      encoder_->force_keyframe();
      keyframe_requested_ = false;
      frame_credit_ = 1.0;
    }
    std::optional<codecs::EncodedFrame> encoded = encode(*frame);
    if (encoded) {
      codecs::EncodedFrame& ef = *encoded;
      counters_.frame_width = ef.width;
      counters_.frame_height = ef.height;
      ef.capture_time = now;
      ef.rtp_timestamp = frame->rtp_timestamp;
      ++counters_.frames_encoded;
      if (ef.is_keyframe) ++counters_.key_frames_encoded;
      counters_.total_encoded_bytes += static_cast<int64_t>(ef.data.size());
      encodes_.on_frame(now);
      captured.encoded = true;
      consecutive_drops_ = 0;
      last_encode_time_ = now;
      captured.keyframe = ef.is_keyframe;
      captured.encoded_size = DataSize::Bytes(static_cast<int64_t>(ef.data.size()));
      on_encoded(captured.encoded_size, ef.is_keyframe);
      packetize(ef, now, out);
    } else {
      ++counters_.frames_dropped_by_encoder;
      ++consecutive_drops_;  // the encoder's own drops count towards the gap too
    }
  }
  // The listener may take *frame (captured.picture): nothing after this call may use it.
  if (capture_listener_ != nullptr) capture_listener_->on_video_frame_captured(captured);
}

void VideoSendStream::adapt(Timestamp now) {
  const VideoAdaptationLevel before = adapter_.level();
  if (!adapter_.update(now)) return;
  const VideoAdaptationLevel& level = adapter_.level();
  if (level.width != before.width || level.height != before.height) {
    if (!encoder_->set_resolution(level.width, level.height).ok()) ++counters_.resize_errors;
    keyframe_requested_ = true;  // a new size starts with a keyframe (the encoder makes one anyway)
  }
  if (!encoder_->set_frame_rate(level.fps).ok()) ++counters_.encoder_config_errors;
}

bool VideoSendStream::within_adapted_frame_rate() {
  const double ratio = adapter_.level().fps / config_.fps;
  if (ratio >= 1.0) return true;
  frame_credit_ = std::min(frame_credit_ + ratio, 1.0 + ratio);
  if (frame_credit_ < 1.0) return false;
  frame_credit_ -= 1.0;
  return true;
}

std::optional<codecs::EncodedFrame> VideoSendStream::encode(const codecs::VideoFrame& frame) {
  const codecs::VideoEncoderConfig& ec = encoder_->config();
  const codecs::VideoFrame* input = &frame;
  const Timestamp start = config_.encode_clock ? config_.encode_clock() : Timestamp::MinusInfinity();
  if (frame.width != ec.width || frame.height != ec.height) {
    if (!media::scale_stamped_picture(frame, ec.width, ec.height, scaled_).ok()) {
      ++counters_.resize_errors;
      return std::nullopt;
    }
    input = &scaled_;
  }
  auto encoded = encoder_->encode(*input);
  if (!encoded || !encoded->has_value()) return std::nullopt;
  std::optional<TimeDelta> encode_time;
  if (config_.encode_clock) encode_time = config_.encode_clock() - start;
  adapter_.on_frame_encoded((*encoded)->qp, encode_time);
  return std::move(*encoded);
}

bool VideoSendStream::over_budget(Timestamp now) {
  if (last_drain_.is_finite() && now > last_drain_) {
    encoder_debt_ = max(encoder_debt_ - target_ * (now - last_drain_), DataSize::Zero());
  }
  last_drain_ = now;
  const DataSize step = min(keyframe_excess_, keyframe_excess_step_);
  encoder_debt_ += step;
  keyframe_excess_ -= step;
  return encoder_debt_ > target_ * kMaxEncoderDebt;
}

void VideoSendStream::on_encoded(DataSize size, bool keyframe) {
  const DataSize average = target_ * TimeDelta::SecondsF(1.0 / adapter_.level().fps);
  if (keyframe && size > average) {
    encoder_debt_ += average;
    keyframe_excess_ += size - average;
    keyframe_excess_step_ = keyframe_excess_ * (1.0 / kKeyframeSpreadFrames);
  } else {
    encoder_debt_ += size;
  }
}

void VideoSendStream::packetize(const codecs::EncodedFrame& frame, Timestamp now, std::vector<OutgoingPacket>& out) {
  rtp::PayloadLimits limits;
  // RTP header (12) + extensions (~16) + RED header (1) when FEC is on.
  const size_t overhead = 12 + 16 + (fec_ ? 1 : 0);
  limits.max_payload_size = config_.max_packet_size > overhead + 64 ? config_.max_packet_size - overhead : 64;
  size_t count = 0;
  if (config_.codec == codecs::CodecType::kVp9) {
    rtp::Vp9FrameInfo info;
    info.descriptor.picture_id = frame.layers.picture_id;
    info.descriptor.inter_picture_predicted = !frame.is_keyframe;
    info.descriptor.flexible_mode = config_.vp9_flexible_mode;
    if (frame.layers.num_temporal_layers > 1 && config_.vp9_flexible_mode) {
      info.descriptor.layer = rtp::Vp9LayerIndices{static_cast<uint8_t>(frame.layers.temporal_id),
                                                   frame.layers.layer_sync, 0, false};
    }
    if (!frame.is_keyframe && config_.vp9_flexible_mode) {
      const int n = std::clamp(frame.layers.num_ref_pics, 1, 3);
      info.descriptor.num_p_diffs = static_cast<uint8_t>(n);
      for (int i = 0; i < n; ++i) {
        const uint8_t d = frame.layers.num_ref_pics > 0 ? frame.layers.p_diff[static_cast<size_t>(i)] : uint8_t{1};
        info.descriptor.p_diff[static_cast<size_t>(i)] = d == 0 ? uint8_t{1} : d;
      }
    } else if (frame.is_keyframe) {
      rtp::Vp9ScalabilityStructure ss;
      ss.has_resolutions = true;
      ss.width[0] = static_cast<uint16_t>(frame.width);
      ss.height[0] = static_cast<uint16_t>(frame.height);
      info.descriptor.ss = ss;
    }
    if (!vp9_.plan(frame.data, info, limits).ok()) return;
    count = vp9_.num_packets();
  } else {
    rtp::Vp8Descriptor info;
    info.picture_id = frame.layers.picture_id;
    info.non_reference = frame.layers.non_reference;
    if (frame.layers.num_temporal_layers > 1) {
      info.temporal_id = static_cast<uint8_t>(frame.layers.temporal_id);
      info.layer_sync = frame.layers.layer_sync;
      info.tl0_pic_idx = frame.layers.tl0_pic_idx;
    }
    if (!vp8_.plan(frame.data, info, limits).ok()) return;
    count = vp8_.num_packets();
  }
  for (size_t i = 0; i < count; ++i) {
    const size_t size = config_.codec == codecs::CodecType::kVp9 ? vp9_.packet_size(i) : vp8_.packet_size(i);
    payload_buffer_.resize(size);
    auto written = config_.codec == codecs::CodecType::kVp9 ? vp9_.write(i, payload_buffer_) : vp8_.write(i, payload_buffer_);
    if (!written) return;
    const bool marker = config_.codec == codecs::CodecType::kVp9 ? vp9_.marker(i) : vp8_.marker(i);
    auto packet = rtp_.build(media_pt_, frame.rtp_timestamp, marker,
                             std::span<const uint8_t>(payload_buffer_.data(), *written));
    if (!packet) return;
    OutgoingPacket o;
    o.capture_time = frame.capture_time;
    o.media_ssrc = rtp_.ssrc();
    o.priority = congestion::PacketPriority::kVideo;
    if (flexfec_) flexfec_->add_media_packet(*packet, frame.is_keyframe);
    if (fec_) {
      fec_->add_media_packet(*packet, frame.is_keyframe);
      auto red = recovery::wrap_red(*packet, config_.payload_types.red);
      if (!red) return;
      o.packet = std::move(red).value();
    } else {
      o.packet = std::move(packet).value();
    }
    out.push_back(std::move(o));
  }
  take_fec_packets(frame.capture_time, out);
  (void)now;
}

void VideoSendStream::take_fec_packets(Timestamp capture_time, std::vector<OutgoingPacket>& out) {
  const size_t pending = fec_ ? fec_->pending_fec_packets() : flexfec_ ? flexfec_->pending_fec_packets() : 0;
  if (pending == 0 || out.empty()) return;
  // Each FEC packet gets the extension block of the media packets (transport-wide sequence number
  // and abs-send-time slots) so congestion control sees FEC bytes too. A copy, not a reference:
  // push_back below may reallocate `out`.
  const rtp::RtpPacket templ = out.back().packet;
  std::vector<rtp::RtpPacket> repairs;
  if (fec_) {
    // ULPFEC shares the media SSRC and its sequence numbers.
    const uint16_t first = rtp_.allocate_sequence_numbers(static_cast<uint16_t>(pending));
    for (rtp::RtpPacket& fec : fec_->take_fec_packets(first)) {
      auto with_ext = recovery::rewrite_packet(templ, recovery::HeaderFields::Of(fec), {}, fec.payload(), {});
      repairs.push_back(with_ext ? std::move(with_ext).value() : std::move(fec));
    }
  } else {
    repairs = flexfec_->take_fec_packets(&templ);  // its own SSRC and numbering
  }
  for (rtp::RtpPacket& p : repairs) {
    OutgoingPacket o;
    o.packet = std::move(p);
    o.capture_time = capture_time;
    o.media_ssrc = rtp_.ssrc();  // counted on the media stream (outbound-rtp fecPacketsSent)
    o.priority = congestion::PacketPriority::kFec;
    ++counters_.fec_packets_sent;
    out.push_back(std::move(o));
  }
}

}  // namespace tern::pipeline
