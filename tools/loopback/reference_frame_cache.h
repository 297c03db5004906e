// ReferenceFrameCache: keeps the pictures a sending endpoint's camera captured so that the
// receiving endpoint's quality measurement (PSNR/SSIM) reads them instead of rendering the
// synthetic picture a second time. Fed by the sender's capture listener, read by the receiver
// through pipeline::ReferenceFrameProvider.
//
// Bounded ring keyed by frame number: slot = number mod capacity, capacity = kMaxFrames (64, about
// 2 s at 30 fps, far more than a picture spends between capture and render unless the call is
// badly frozen) or fewer when that many pictures would exceed kMaxBytes. A new picture overwrites
// the slot's previous one (the one `capacity` numbers older). Fed by a capture listener, the cache
// takes the picture by swapping buffers with the send stream's discarded frame (no copy; the
// evicted picture's buffers go back to the stream, which frees them). A lookup of a picture no longer kept returns nullptr, and the
// receiver then regenerates it (same result, more CPU).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tern/codecs/video_frame.h"
#include "tern/pipeline/listeners.h"

namespace tern::tools {

class ReferenceFrameCache final : public pipeline::ReferenceFrameProvider, public pipeline::VideoCaptureListener {
 public:
  static constexpr size_t kMaxFrames = 64;
  static constexpr size_t kMaxBytes = size_t{64} << 20;

  // `max_frames` and `max_bytes` bound the ring (at least one picture is always kept).
  explicit ReferenceFrameCache(size_t max_frames = kMaxFrames, size_t max_bytes = kMaxBytes);

  // Copies `picture` (a valid frame) under `frame_number` (mod 2^24, the FrameStamp range),
  // reusing the slot's buffers.
  void store(uint32_t frame_number, const codecs::VideoFrame& picture);
  // Keeps `picture` under `frame_number` without copying: swaps it with the evicted slot's frame
  // (left in `picture`, possibly empty).
  void take(uint32_t frame_number, codecs::VideoFrame& picture);
  // VideoCaptureListener: takes the captured picture (see take()) when the event carries one.
  void on_video_frame_captured(const pipeline::CapturedVideoFrame& frame) override;
  // ReferenceFrameProvider: the kept picture of `frame_number`, or nullptr. Valid until the next
  // store() or take().
  const codecs::VideoFrame* reference_frame(uint32_t frame_number) override;

  // Pictures the ring holds at most (0 before the first store: fixed by the first picture's size).
  size_t capacity() const { return slots_.size(); }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  struct Slot {
    bool used = false;
    uint32_t frame_number = 0;
    codecs::VideoFrame frame;
  };
  size_t max_frames_;
  size_t max_bytes_;
  Slot& slot_for(uint32_t number, const codecs::VideoFrame& picture);

  std::vector<Slot> slots_;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace tern::tools
