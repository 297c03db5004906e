// SyntheticVideoSource: a deterministic test camera. Each picture has a panning seeded texture, a
// moving diagonal gradient and coloured objects that bounce around (so consecutive frames differ
// and PSNR is meaningful, unlike a flat pattern), and carries its frame number in a FrameStamp band
// at the top so that a receiver can align it with the source.
//
// Pull-based and sans-I/O: the caller asks next_frame(now) whenever it likes; a frame is produced
// once its capture time has come. Content depends only on (seed, frame number, size).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "tern/codecs/video_frame.h"
#include "tern/core/result.h"
#include "tern/core/units.h"

namespace tern::media {

struct SyntheticVideoConfig {
  int width = 640;    // 64..4096, even
  int height = 480;   // 40..4096, even
  double fps = 30.0;  // 1..120
  uint64_t seed = 1;
  bool stamp = true;  // write the FrameStamp band
};

class SyntheticVideoSource {
 public:
  static Result<SyntheticVideoSource> Create(const SyntheticVideoConfig& config);

  // The next picture when its capture time (start + n / fps, the first call being the start) has
  // come, else nullopt. A caller that polls late gets the latest due frame; the frames it missed
  // are skipped (their numbers are not reused), as a real camera would drop them.
  std::optional<codecs::VideoFrame> next_frame(Timestamp now);
  // When the next frame will be due (PlusInfinity before the first call).
  Timestamp next_capture_time() const;
  // Renders picture `frame_number` (capture time and RTP timestamp left zero).
  codecs::VideoFrame render(uint32_t frame_number) const;
  // Renders into an existing frame of the configured size, reusing its buffers.
  void render_into(uint32_t frame_number, codecs::VideoFrame& frame) const;

  TimeDelta frame_interval() const { return TimeDelta::SecondsF(1.0 / config_.fps); }
  const SyntheticVideoConfig& config() const { return config_; }

 private:
  explicit SyntheticVideoSource(const SyntheticVideoConfig& config);

  struct Object {
    double x, y, vx, vy;
    int w, h;
    uint8_t luma, u, v;
  };

  SyntheticVideoConfig config_;
  std::vector<uint8_t> texture_;  // 256x256 luma detail tile
  std::vector<Object> objects_;
  std::optional<Timestamp> start_;
  int64_t next_index_ = 0;
};

}  // namespace tern::media
