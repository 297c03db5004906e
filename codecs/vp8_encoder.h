// Vp8Encoder: libvpx VP8 (RFC 6386) in real-time mode with 1..3 temporal layers whose per-frame
// reference flags come from Vp8TemporalPattern, so each layer decodes without the ones above it.
// Output frames carry TID, layer sync (Y) and TL0PICIDX for the RFC 7741 payload descriptor.
#pragma once

#include <memory>

#include "tern/codecs/libvpx_encoder.h"
#include "tern/codecs/vp8_temporal_pattern.h"

namespace tern::codecs {

class Vp8Encoder final : public LibvpxEncoder {
 public:
  // Rejects invalid configurations (codec must be kVp8, cpu_used in -16..16; default -6).
  static Result<std::unique_ptr<Vp8Encoder>> Create(const VideoEncoderConfig& config);

 private:
  Vp8Encoder(const VideoEncoderConfig& config, Vp8TemporalPattern pattern)
      : LibvpxEncoder(config), pattern_(pattern) {}
  void configure_codec(vpx_codec_enc_cfg_t& cfg) override;
  Status apply_controls() override;
  Result<vpx_enc_frame_flags_t> prepare_frame(bool keyframe) override;
  void describe_frame(EncodedFrame& frame) override;

  Vp8TemporalPattern pattern_;
  Vp8FrameConfig current_;
};

}  // namespace tern::codecs
