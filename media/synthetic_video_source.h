// SyntheticVideoSource: a deterministic test camera. Each picture has a panning seeded texture
// with a diagonal gradient, coloured striped objects that bounce around (so consecutive frames
// differ and PSNR is meaningful, unlike a flat pattern), and carries its frame number in a
// FrameStamp band at the top so that a receiver can align it with the source.
//
// Cheap by construction (about 460 KB of row copies per 640x480 picture): the textured background
// is rendered once, periodic and larger than the picture, and each frame copies its rows at a
// moving offset; the objects are drawn as precomputed row spans, then the stamp.
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
  // The check Create() makes, without building the background (cheap).
  static Status Validate(const SyntheticVideoConfig& config);

  // The next picture when its capture time (start + n / fps, the first call being the start) has
  // come, else nullopt. A caller that polls late gets the latest due frame; the frames it missed
  // are skipped (their numbers are not reused), as a real camera would drop them.
  std::optional<codecs::VideoFrame> next_frame(Timestamp now);
  // When the next frame will be due (PlusInfinity before the first call).
  Timestamp next_capture_time() const;
  // Renders picture `frame_number` (capture time and RTP timestamp left zero).
  codecs::VideoFrame render(uint32_t frame_number) const;
  // Renders into an existing frame of the configured size, reusing its buffers (reallocates when
  // the size or the buffers do not match).
  void render_into(uint32_t frame_number, codecs::VideoFrame& frame) const;

  TimeDelta frame_interval() const { return TimeDelta::SecondsF(1.0 / config_.fps); }
  const SyntheticVideoConfig& config() const { return config_; }

 private:
  explicit SyntheticVideoSource(const SyntheticVideoConfig& config);

  struct Object {
    double x, y, vx, vy;
    int w, h;
    uint8_t u, v;
    std::vector<uint8_t> stripes;  // two luma rows of w samples: phase 0, then phase 1
  };

  SyntheticVideoConfig config_;
  // Backgrounds periodic with kPeriod (luma) / kPeriod / 2 (chroma) in both directions: one period
  // of rows (read modulo the period), each a period wider than the picture so that any pan offset
  // is a plain row copy. About 300 KB at 640x480, small enough to stay in a core's cache.
  int bg_stride_y_ = 0;
  int bg_stride_c_ = 0;
  std::vector<uint8_t> bg_y_;
  std::vector<uint8_t> bg_u_;
  std::vector<uint8_t> bg_v_;
  std::vector<Object> objects_;
  std::optional<Timestamp> start_;
  int64_t next_index_ = 0;
};

}  // namespace tern::media
