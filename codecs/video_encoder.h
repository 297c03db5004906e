// VideoEncoder: the interface every video encoder implements (today: Vp8Encoder, Vp9Encoder), and
// its configuration, shaped for real-time use (constant bitrate, no lookahead, frame dropping).
#pragma once

#include <optional>

#include "tern/codecs/encoded_frame.h"
#include "tern/codecs/video_frame.h"
#include "tern/core/result.h"
#include "tern/core/units.h"

namespace tern::codecs {

struct VideoEncoderConfig {
  CodecType codec = CodecType::kVp8;
  int width = 640;   // 2..16384
  int height = 480;  // 2..16384
  DataRate start_bitrate = DataRate::KilobitsPerSec(500);
  double max_framerate = 30.0;  // 1..240
  // libvpx speed: VP8 -16..16 (higher magnitude = faster), VP9 -9..9. Real-time use: VP8 -6, VP9 7.
  std::optional<int> cpu_used;
  int num_temporal_layers = 1;  // VP8 1..3, VP9 1..3
  int threads = 1;              // 1..16
  bool error_resilient = true;  // no entropy/context carried across frames
  // Rate-control frame dropping: drop when the buffer falls below this percent (0 disables).
  int frame_drop_threshold = 30;
  int keyframe_interval = 3000;  // maximum frames between keyframes
  int min_qp = 2;                // 0..63
  int max_qp = 56;               // min_qp..63
};

class VideoEncoder {
 public:
  virtual ~VideoEncoder() = default;

  // Encodes one frame of the configured size. Returns nullopt when rate control dropped the
  // frame (no bits spent); the caller simply moves on to the next frame.
  virtual Result<std::optional<EncodedFrame>> encode(const VideoFrame& frame) = 0;
  // The next encoded frame will be a keyframe (also restarts the temporal layer pattern).
  virtual void force_keyframe() = 0;
  // Takes effect from the next frame; split across temporal layers like libwebrtc (60/40, 40/20/40).
  virtual Status set_target_bitrate(DataRate bitrate) = 0;
  // Expected input frame rate, 1..240; used by rate control to size frames.
  virtual Status set_frame_rate(double fps) = 0;
  // Encodes frames of width x height from the next frame on (no larger than the size the encoder
  // was created with), starting with a keyframe. Resolution adaptation; same size: no-op.
  virtual Status set_resolution(int width, int height) = 0;
  virtual const VideoEncoderConfig& config() const = 0;
};

}  // namespace tern::codecs
