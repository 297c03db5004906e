// VideoDecoder: the interface every video decoder implements (today: VpxDecoder for VP8 and VP9).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "tern/codecs/encoded_frame.h"
#include "tern/codecs/video_frame.h"
#include "tern/core/result.h"

namespace tern::codecs {

struct VideoDecoderConfig {
  CodecType codec = CodecType::kVp8;
  int threads = 1;  // 1..16
};

class VideoDecoder {
 public:
  virtual ~VideoDecoder() = default;

  // Decodes one complete frame. Errors (corrupt, undecodable, delta frame without a keyframe)
  // return a reason; after an error the decoder waits for the next keyframe. nullopt means the
  // frame decoded but is not for display (for example a hidden VP9 frame).
  virtual Result<std::optional<VideoFrame>> decode(std::span<const uint8_t> data, uint32_t rtp_timestamp) = 0;
  // Convenience: decodes an encoder's output.
  Result<std::optional<VideoFrame>> decode(const EncodedFrame& frame) {
    return decode(std::span<const uint8_t>(frame.data), frame.rtp_timestamp);
  }
  // True until a keyframe has been decoded (and again after an error).
  virtual bool waiting_for_keyframe() const = 0;
  virtual CodecType codec() const = 0;
};

}  // namespace tern::codecs
