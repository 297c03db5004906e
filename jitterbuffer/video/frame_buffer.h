// The frame buffer: holds reference-resolved frames and gives them out only when decodable (a
// keyframe, or every reference already given out since the last keyframe) and in decode order
// (increasing id). Giving out a frame drops every older frame still held.
//
// Memory: at most `max_frames` frames; inserting into a full buffer drops all of them and reports
// it (the caller asks for a keyframe). The history of given-out ids is kept for the last
// `max_history` frames; a reference older than that counts as missing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>

#include "tern/jitterbuffer/video/encoded_video_frame.h"

namespace tern::jitterbuffer {

class FrameBuffer {
 public:
  enum class InsertOutcome { kInserted, kTooOld, kDuplicate, kCleared };

  explicit FrameBuffer(size_t max_frames = 300, size_t max_history = 512)
      : max_frames_(max_frames == 0 ? 1 : max_frames), max_history_(max_history == 0 ? 1 : max_history) {}

  // Takes a frame whose id and references are set. kCleared: the buffer was full and emptied
  // first (this frame is then held).
  InsertOutcome insert(EncodedVideoFrame frame);
  // The first decodable frame in decode order, or null. Valid until the next non-const call.
  const EncodedVideoFrame* next_decodable() const;
  // Removes and returns next_decodable() (which must exist); `*dropped` receives the number of
  // older frames thrown away with it.
  EncodedVideoFrame pop_next_decodable(size_t* dropped);
  // Drops every frame held; the decode history stays.
  size_t clear();
  // Drops every frame held and the decode history: frames of any id are taken again (from a
  // keyframe on), as at the start. Returns the frames dropped.
  size_t reset();

  size_t size() const { return frames_.size(); }
  std::optional<int64_t> last_released() const { return last_released_; }

 private:
  bool decodable(const EncodedVideoFrame& f) const;

  size_t max_frames_;
  size_t max_history_;
  std::map<int64_t, EncodedVideoFrame> frames_;
  std::set<int64_t> released_;  // since the last released keyframe, bounded by max_history_
  std::optional<int64_t> last_released_;
};

}  // namespace tern::jitterbuffer
