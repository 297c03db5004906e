// VpxDecoder: an RAII wrapper over libvpx's VP8 and VP9 decoders that turns every failure
// (vpx_codec_decode errors, frames libvpx marks corrupt, delta frames without a keyframe) into an
// error status instead of a crash, and copies each picture out into an owned I420 VideoFrame.
#pragma once

#include <vpx/vpx_decoder.h>

#include <memory>

#include "tern/codecs/video_decoder.h"

namespace tern::codecs {

class VpxDecoder final : public VideoDecoder {
 public:
  // codec must be kVp8 or kVp9; threads 1..16.
  static Result<std::unique_ptr<VpxDecoder>> Create(const VideoDecoderConfig& config);
  ~VpxDecoder() override;
  VpxDecoder(const VpxDecoder&) = delete;
  VpxDecoder& operator=(const VpxDecoder&) = delete;

  using VideoDecoder::decode;
  Result<std::optional<VideoFrame>> decode(std::span<const uint8_t> data, uint32_t rtp_timestamp) override;
  bool waiting_for_keyframe() const override { return waiting_for_keyframe_; }
  CodecType codec() const override { return config_.codec; }

  // Largest frame accepted (bytes); bigger input is rejected before it reaches libvpx.
  static constexpr size_t kMaxFrameBytes = 8 * 1024 * 1024;

 private:
  explicit VpxDecoder(const VideoDecoderConfig& config) : config_(config) {}
  bool is_keyframe(std::span<const uint8_t> data) const;
  Error fail(const char* reason);

  VideoDecoderConfig config_;
  vpx_codec_ctx_t ctx_{};
  bool initialized_ = false;
  bool waiting_for_keyframe_ = true;
};

}  // namespace tern::codecs
