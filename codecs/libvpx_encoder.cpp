#include "tern/codecs/libvpx_encoder.h"

#include <cmath>

namespace tern::codecs {
namespace {

constexpr int kTimebase = 90000;
constexpr int64_t kVpxMinBitrateBps = 10000;
constexpr int64_t kVpxMaxBitrateBps = 100000000;

}  // namespace

LibvpxEncoder::~LibvpxEncoder() {
  if (initialized_) vpx_codec_destroy(&ctx_);
}

Status LibvpxEncoder::Validate(const VideoEncoderConfig& c, int max_speed) {
  if (c.width < 2 || c.height < 2 || c.width > 16384 || c.height > 16384) {
    return Error{"libvpx encoder: width/height outside 2..16384"};
  }
  if (c.start_bitrate.bps() < kVpxMinBitrateBps || c.start_bitrate.bps() > kVpxMaxBitrateBps) {
    return Error{"libvpx encoder: bitrate outside 10 kbps..100 Mbps"};
  }
  if (!(c.max_framerate >= 1.0 && c.max_framerate <= 240.0)) return Error{"libvpx encoder: frame rate outside 1..240"};
  if (c.cpu_used && (*c.cpu_used < -max_speed || *c.cpu_used > max_speed)) {
    return Error{"libvpx encoder: cpu_used out of range for this codec"};
  }
  if (c.num_temporal_layers < 1 || c.num_temporal_layers > 3) return Error{"libvpx encoder: temporal layers must be 1..3"};
  if (c.threads < 1 || c.threads > 16) return Error{"libvpx encoder: threads outside 1..16"};
  if (c.frame_drop_threshold < 0 || c.frame_drop_threshold > 100) {
    return Error{"libvpx encoder: frame drop threshold outside 0..100"};
  }
  if (c.keyframe_interval < 1) return Error{"libvpx encoder: keyframe interval must be positive"};
  if (c.min_qp < 0 || c.max_qp > 63 || c.min_qp > c.max_qp) return Error{"libvpx encoder: qp range invalid"};
  return Status::Ok();
}

int LibvpxEncoder::cumulative_rate_percent(int num_layers, int layer) {
  static constexpr int kTwo[2] = {60, 100};
  static constexpr int kThree[3] = {40, 60, 100};
  if (num_layers <= 1 || layer >= num_layers) return 100;
  return num_layers == 2 ? kTwo[layer] : kThree[layer];
}

void LibvpxEncoder::fill_layer_bitrates(vpx_codec_enc_cfg_t& cfg) const {
  const int64_t kbps = config_.start_bitrate.kbps();
  cfg.rc_target_bitrate = static_cast<unsigned int>(kbps);
  const int n = config_.num_temporal_layers;
  for (int i = 0; i < n; ++i) {
    const auto layer_kbps = static_cast<unsigned int>(kbps * cumulative_rate_percent(n, i) / 100);
    cfg.ts_target_bitrate[i] = layer_kbps;
    cfg.layer_target_bitrate[i] = layer_kbps;  // VP9 SVC: index = spatial * ts_layers + temporal
  }
}

Status LibvpxEncoder::initialize(vpx_codec_iface_t* iface) {
  if (vpx_codec_enc_config_default(iface, &cfg_, 0) != VPX_CODEC_OK) {
    return Error{"libvpx encoder: vpx_codec_enc_config_default failed"};
  }
  cfg_.g_w = static_cast<unsigned int>(config_.width);
  cfg_.g_h = static_cast<unsigned int>(config_.height);
  cfg_.g_threads = static_cast<unsigned int>(config_.threads);
  cfg_.g_timebase = {1, kTimebase};
  cfg_.g_lag_in_frames = 0;  // real time: no lookahead
  cfg_.g_error_resilient = config_.error_resilient ? VPX_ERROR_RESILIENT_DEFAULT : 0;
  cfg_.g_pass = VPX_RC_ONE_PASS;
  cfg_.rc_end_usage = VPX_CBR;
  cfg_.rc_dropframe_thresh = static_cast<unsigned int>(config_.frame_drop_threshold);
  cfg_.rc_resize_allowed = 0;
  cfg_.rc_min_quantizer = static_cast<unsigned int>(config_.min_qp);
  cfg_.rc_max_quantizer = static_cast<unsigned int>(config_.max_qp);
  cfg_.rc_undershoot_pct = 100;
  cfg_.rc_overshoot_pct = 15;
  cfg_.rc_buf_initial_sz = 500;
  cfg_.rc_buf_optimal_sz = 600;
  cfg_.rc_buf_sz = 1000;
  // Keyframes are placed by this wrapper (interval and requests) so that they always start the
  // temporal layer pattern.
  cfg_.kf_mode = VPX_KF_DISABLED;
  cfg_.kf_max_dist = static_cast<unsigned int>(config_.keyframe_interval);
  fill_layer_bitrates(cfg_);
  configure_codec(cfg_);
  if (vpx_codec_enc_init(&ctx_, iface, &cfg_, 0) != VPX_CODEC_OK) {
    return Error{"libvpx encoder: vpx_codec_enc_init rejected the configuration"};
  }
  initialized_ = true;
  iface_ = iface;
  if (initial_width_ == 0) {
    initial_width_ = config_.width;
    initial_height_ = config_.height;
  }
  return apply_controls();
}

Status LibvpxEncoder::set_target_bitrate(DataRate bitrate) {
  if (bitrate.bps() < kVpxMinBitrateBps || bitrate.bps() > kVpxMaxBitrateBps) {
    return Error{"libvpx encoder: bitrate outside 10 kbps..100 Mbps"};
  }
  const DataRate previous = config_.start_bitrate;
  config_.start_bitrate = bitrate;
  vpx_codec_enc_cfg_t cfg = cfg_;
  fill_layer_bitrates(cfg);
  if (vpx_codec_enc_config_set(&ctx_, &cfg) != VPX_CODEC_OK) {
    config_.start_bitrate = previous;
    return Error{"libvpx encoder: vpx_codec_enc_config_set rejected the bitrate"};
  }
  cfg_ = cfg;
  return Status::Ok();
}

Status LibvpxEncoder::set_frame_rate(double fps) {
  if (!(fps >= 1.0 && fps <= 240.0)) return Error{"libvpx encoder: frame rate outside 1..240"};
  // libvpx derives the frame rate from the durations passed to vpx_codec_encode.
  config_.max_framerate = fps;
  return Status::Ok();
}

Status LibvpxEncoder::set_resolution(int width, int height) {
  if (width == config_.width && height == config_.height) return Status::Ok();
  if (width < 2 || height < 2 || width > initial_width_ || height > initial_height_) {
    return Error{"libvpx encoder: size outside 2x2..the size it was created with"};
  }
  // A new context at the new size, as libwebrtc re-initialises its encoder on a resolution change:
  // libvpx can resize in place, but its rate control then carries the buffer debt of the old size
  // (a 640x480 keyframe at 50 kbps kept a 160x120 stream at its highest QP for two seconds). The
  // first frame at the new size is a keyframe either way; the layer pattern restarts with it.
  const VideoEncoderConfig previous = config_;
  vpx_codec_destroy(&ctx_);
  initialized_ = false;
  config_.width = width;
  config_.height = height;
  if (Status s = initialize(iface_); !s) {
    config_ = previous;  // back to the old size (a failure here leaves the encoder unusable)
    if (Status again = initialize(iface_); !again) return Error{again.error()};
    return s;
  }
  keyframe_requested_ = true;
  return Status::Ok();
}

Result<std::optional<EncodedFrame>> LibvpxEncoder::encode(const VideoFrame& frame) {
  if (!initialized_) return Error{"libvpx encoder: no context (re-initialisation failed)"};
  if (!frame.is_valid()) return Error{"libvpx encoder: frame planes inconsistent with its size"};
  if (frame.width != config_.width || frame.height != config_.height) {
    return Error{"libvpx encoder: frame size differs from the configured size"};
  }
  vpx_image_t img;
  // Wrap the caller's planes without copying; libvpx reads them only during vpx_codec_encode.
  if (!vpx_img_wrap(&img, VPX_IMG_FMT_I420, static_cast<unsigned int>(frame.width),
                    static_cast<unsigned int>(frame.height), 1, const_cast<uint8_t*>(frame.y.data()))) {
    return Error{"libvpx encoder: vpx_img_wrap failed"};
  }
  img.planes[VPX_PLANE_Y] = const_cast<uint8_t*>(frame.y.data());
  img.planes[VPX_PLANE_U] = const_cast<uint8_t*>(frame.u.data());
  img.planes[VPX_PLANE_V] = const_cast<uint8_t*>(frame.v.data());
  img.stride[VPX_PLANE_Y] = frame.stride_y;
  img.stride[VPX_PLANE_U] = frame.stride_u;
  img.stride[VPX_PLANE_V] = frame.stride_v;

  const bool keyframe = keyframe_requested_ || frames_since_key_ >= config_.keyframe_interval;
  Result<vpx_enc_frame_flags_t> flags = prepare_frame(keyframe);
  if (!flags.ok()) return Error{flags.error()};
  vpx_enc_frame_flags_t f = *flags;
  if (keyframe) f |= VPX_EFLAG_FORCE_KF;
  const auto duration = static_cast<unsigned long>(std::lround(kTimebase / config_.max_framerate));
  if (vpx_codec_encode(&ctx_, &img, pts_, duration, f, VPX_DL_REALTIME) != VPX_CODEC_OK) {
    return Error{"libvpx encoder: vpx_codec_encode failed"};
  }
  pts_ += static_cast<int64_t>(duration);

  std::optional<EncodedFrame> out;
  vpx_codec_iter_t iter = nullptr;
  const vpx_codec_cx_pkt_t* pkt = nullptr;
  // Bounded: libvpx yields at most one frame packet per input at lag 0 (VP9 superframes are one).
  while ((pkt = vpx_codec_get_cx_data(&ctx_, &iter)) != nullptr) {
    if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
    if (!out) {
      out.emplace();
      out->codec = config_.codec;
      out->width = frame.width;
      out->height = frame.height;
      out->rtp_timestamp = frame.rtp_timestamp;
      out->capture_time = frame.capture_time;
    }
    const auto* bytes = static_cast<const uint8_t*>(pkt->data.frame.buf);
    out->data.insert(out->data.end(), bytes, bytes + pkt->data.frame.sz);
    out->is_keyframe = out->is_keyframe || (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
  }
  if (!out) {
    // Dropped by rate control: a pending keyframe request stays pending.
    return std::optional<EncodedFrame>();
  }
  if (out->is_keyframe) {
    keyframe_requested_ = false;
    frames_since_key_ = 0;
  }
  ++frames_since_key_;
  int qp = -1;
  // VP8E_GET_LAST_QUANTIZER is shared by both libvpx encoders; a failure leaves the QP unknown.
  if (vpx_codec_control(&ctx_, VP8E_GET_LAST_QUANTIZER, &qp) == VPX_CODEC_OK) out->qp = qp;
  describe_frame(*out);
  picture_id_ = static_cast<uint16_t>((picture_id_ + 1) & 0x7FFF);
  return out;
}

}  // namespace tern::codecs
