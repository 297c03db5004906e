// Reference finder: gives every assembled frame a decode-order id and the ids of the frames it is
// predicted from, from the payload descriptors (RFC 7741 VP8 PictureID / TL0PICIDX / TID / Y;
// RFC 9628 VP9 flexible-mode P_DIFFs and non-flexible TL0PICIDX / TID / U).
//
// Rules (conservative: a frame may wait for more than it needs, never for less):
//  - keyframe: no references.
//  - no picture id: id = last sequence number; a delta frame references the frame that ends just
//    before its first packet (libwebrtc's sequence-number mode).
//  - VP9 flexible: references picture_id - P_DIFF for the P_DIFFs of every spatial layer.
//  - base temporal layer (TID 0) with TL0PICIDX: references the base-layer frame of TL0PICIDX - 1.
//  - upper layer with the sync flag (VP8 Y, VP9 U): references the base frame of its TL0PICIDX.
//  - any other delta frame: references picture_id - 1.
// A frame whose base-layer reference is not known yet is stashed (bounded; oldest dropped, and
// those older than a new keyframe).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "tern/jitterbuffer/video/encoded_video_frame.h"

namespace tern::jitterbuffer {

class ReferenceFinder {
 public:
  static constexpr size_t kDefaultMaxStashed = 100;
  static constexpr size_t kMaxTl0History = 64;

  explicit ReferenceFinder(size_t max_stashed = kDefaultMaxStashed) : max_stashed_(max_stashed) {}

  // Resolves `frame` and any stashed frames it unblocks; returns them ready for the frame buffer.
  std::vector<EncodedVideoFrame> manage(EncodedVideoFrame frame);
  // Forgets stashed frames and layer history (after a buffer clear).
  void clear();

  size_t stashed() const { return stash_.size(); }
  uint64_t dropped() const { return dropped_; }  // stash overflow

 private:
  enum class Outcome { kResolved, kStash };
  Outcome resolve(EncodedVideoFrame& frame);
  int64_t unwrap_picture_id(uint16_t pid, bool fifteen_bit);
  int64_t unwrap_tl0(uint8_t tl0);
  void retry_stash(std::vector<EncodedVideoFrame>& out);

  size_t max_stashed_;
  std::deque<EncodedVideoFrame> stash_;
  std::map<int64_t, int64_t> tl0_to_picture_;  // unwrapped TL0PICIDX -> id of its base frame
  std::optional<int64_t> last_picture_id_;
  std::optional<int64_t> last_tl0_;
  uint64_t dropped_ = 0;
};

}  // namespace tern::jitterbuffer
