// Vp9Encoder: libvpx VP9 in real-time mode with 1..3 temporal layers (libvpx's built-in 0-1 and
// 0-2-1-2 patterns, one spatial layer: spatial scalability is not implemented). After each frame
// the encoder asks libvpx which buffers it read and wrote, so frames carry TID, the up-switch (U)
// flag and flexible-mode style P_DIFF references for the RFC 9628 payload descriptor.
#pragma once

#include <array>
#include <memory>

#include "tern/codecs/libvpx_encoder.h"

namespace tern::codecs {

class Vp9Encoder final : public LibvpxEncoder {
 public:
  // Rejects invalid configurations (codec must be kVp9, cpu_used in -9..9; default 7).
  static Result<std::unique_ptr<Vp9Encoder>> Create(const VideoEncoderConfig& config);

 private:
  explicit Vp9Encoder(const VideoEncoderConfig& config) : LibvpxEncoder(config) {}
  void configure_codec(vpx_codec_enc_cfg_t& cfg) override;
  Status apply_controls() override;
  Result<vpx_enc_frame_flags_t> prepare_frame(bool keyframe) override;
  void describe_frame(EncodedFrame& frame) override;

  bool svc() const { return config_.num_temporal_layers > 1; }

  // What each of VP9's 8 reference slots holds.
  struct Slot {
    int temporal_id = 0;
    uint16_t picture_id = 0;
  };
  std::array<Slot, 8> slots_{};
};

}  // namespace tern::codecs
