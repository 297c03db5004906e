// Vp8TemporalPattern: which reference buffers (last, golden, altref) each VP8 frame may read and
// write so that temporal layers stay independently decodable, in the manner of libwebrtc's default
// temporal layers. TL0 frames see only TL0 frames; TL1 sees TL0 and TL1; TL2 sees everything.
// Dropping every frame above a layer never breaks the frames below it (RFC 7741 TID / Y bit).
//
//   2 layers (ids 0 1 0 1 ...):       last <- TL0, golden <- TL1
//   3 layers (ids 0 2 1 2 ...):       last <- TL0, golden <- TL1, altref <- TL2
//
// The pattern repeats every 8 frames; the first enhancement frame of each repetition references
// only TL0 (a layer sync frame) so a receiver can join a higher layer there.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "tern/core/result.h"

namespace tern::codecs {

struct Vp8FrameConfig {
  enum Use : uint8_t { kNone = 0, kReference = 1, kUpdate = 2, kReferenceAndUpdate = 3 };
  int temporal_id = 0;
  std::array<Use, 3> buffers{};  // [last, golden, altref]

  bool references(int b) const { return (buffers[static_cast<std::size_t>(b)] & kReference) != 0; }
  bool updates(int b) const { return (buffers[static_cast<std::size_t>(b)] & kUpdate) != 0; }
};

class Vp8TemporalPattern {
 public:
  static constexpr int kMaxLayers = 3;
  static constexpr int kLength = 8;

  // num_layers 1..3.
  static Result<Vp8TemporalPattern> Create(int num_layers);

  int num_layers() const { return num_layers_; }
  // libvpx ts_periodicity and ts_layer_id: the short layer id cycle (1, 2 or 4 frames).
  int periodicity() const;
  int layer_id_at(int index) const;
  // libvpx ts_rate_decimator for layer i: how many frames per TL-i frame.
  int rate_decimator(int layer) const;

  // Configuration of the next frame; advances the pattern. A keyframe restarts the pattern.
  Vp8FrameConfig next_frame(bool keyframe);
  // Records what an encoded (not dropped) frame wrote so that sync flags stay exact.
  void on_encoded(const Vp8FrameConfig& config, bool keyframe);
  // True when the frame (tid > 0) references only buffers holding TL0 frames (RFC 7741 Y bit).
  bool is_layer_sync(const Vp8FrameConfig& config) const;

 private:
  explicit Vp8TemporalPattern(int num_layers) : num_layers_(num_layers) {}

  int num_layers_ = 1;
  int index_ = 0;
  std::array<int, 3> buffer_tid_{};  // temporal id of the frame each buffer holds
};

}  // namespace tern::codecs
