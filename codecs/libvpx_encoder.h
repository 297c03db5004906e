// LibvpxEncoder: what the VP8 and VP9 encoders share: an RAII libvpx encoder context set up for
// real-time use (deadline realtime, CBR, no lookahead, error resilience, frame dropping), rate and
// frame-rate updates between frames, keyframe requests and output collection. Vp8Encoder and
// Vp9Encoder add the codec controls and the per-frame layer logic through the hooks below.
#pragma once

#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include <cstdint>

#include "tern/codecs/video_encoder.h"

namespace tern::codecs {

class LibvpxEncoder : public VideoEncoder {
 public:
  ~LibvpxEncoder() override;
  LibvpxEncoder(const LibvpxEncoder&) = delete;
  LibvpxEncoder& operator=(const LibvpxEncoder&) = delete;

  Result<std::optional<EncodedFrame>> encode(const VideoFrame& frame) override;
  void force_keyframe() override { keyframe_requested_ = true; }
  Status set_target_bitrate(DataRate bitrate) override;
  Status set_frame_rate(double fps) override;
  Status set_resolution(int width, int height) override;
  const VideoEncoderConfig& config() const override { return config_; }

 protected:
  explicit LibvpxEncoder(const VideoEncoderConfig& config) : config_(config) {}

  // Checks the codec-independent part of a configuration.
  static Status Validate(const VideoEncoderConfig& config, int max_speed);
  // Creates the libvpx context: fills the common settings, lets the codec adjust them
  // (configure_codec), initialises, then applies codec controls (apply_controls).
  Status initialize(vpx_codec_iface_t* iface);

  // Codec hooks.
  virtual void configure_codec(vpx_codec_enc_cfg_t& cfg) = 0;
  virtual Status apply_controls() = 0;
  // Called before each vpx_codec_encode: returns extra encode flags (VP8 reference flags).
  virtual Result<vpx_enc_frame_flags_t> prepare_frame(bool keyframe) = 0;
  // Called for each produced frame: fills the layer information.
  virtual void describe_frame(EncodedFrame& frame) = 0;

  // Fills cfg's temporal layer bitrates (cumulative kbps) from the total bitrate.
  void fill_layer_bitrates(vpx_codec_enc_cfg_t& cfg) const;
  static int cumulative_rate_percent(int num_layers, int layer);

  vpx_codec_ctx_t ctx_{};
  vpx_codec_enc_cfg_t cfg_{};
  VideoEncoderConfig config_;
  uint16_t picture_id_ = 0;  // 15-bit, of the frame being described
  uint8_t tl0_pic_idx_ = 255;

 private:
  bool initialized_ = false;
  vpx_codec_iface_t* iface_ = nullptr;  // for re-initialising at a new size
  int initial_width_ = 0;  // the size at creation: the largest set_resolution() accepts
  int initial_height_ = 0;
  bool keyframe_requested_ = true;  // the first frame is a keyframe
  int64_t pts_ = 0;             // in 1/90000 s
  int64_t frames_since_key_ = 0;
};

}  // namespace tern::codecs
