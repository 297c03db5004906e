#include "tern/jitterbuffer/video/frame_buffer.h"

#include <utility>

namespace tern::jitterbuffer {

FrameBuffer::InsertOutcome FrameBuffer::insert(EncodedVideoFrame frame) {
  if (last_released_ && frame.id <= *last_released_) return InsertOutcome::kTooOld;
  if (frames_.count(frame.id) != 0) return InsertOutcome::kDuplicate;
  InsertOutcome outcome = InsertOutcome::kInserted;
  if (frames_.size() >= max_frames_) {
    frames_.clear();
    outcome = InsertOutcome::kCleared;
  }
  const int64_t id = frame.id;
  frames_.emplace(id, std::move(frame));
  return outcome;
}

bool FrameBuffer::decodable(const EncodedVideoFrame& f) const {
  if (f.keyframe) return true;
  if (!last_released_ || f.references.empty()) return false;
  for (int64_t r : f.references) {
    if (released_.count(r) == 0) return false;
  }
  return true;
}

const EncodedVideoFrame* FrameBuffer::next_decodable() const {
  for (const auto& [id, f] : frames_) {
    if (decodable(f)) return &f;
  }
  return nullptr;
}

EncodedVideoFrame FrameBuffer::pop_next_decodable(size_t* dropped) {
  size_t n = 0;
  auto it = frames_.begin();
  while (it != frames_.end() && !decodable(it->second)) {
    it = frames_.erase(it);
    ++n;
  }
  if (dropped != nullptr) *dropped = n;
  if (it == frames_.end()) return EncodedVideoFrame{};  // contract broken: nothing was decodable
  EncodedVideoFrame f = std::move(it->second);
  frames_.erase(it);
  if (f.keyframe) released_.clear();  // a keyframe resets every reference buffer of the decoder
  released_.insert(f.id);
  while (released_.size() > max_history_) released_.erase(released_.begin());
  last_released_ = f.id;
  return f;
}

size_t FrameBuffer::reset() {
  released_.clear();
  last_released_.reset();
  return clear();
}

size_t FrameBuffer::clear() {
  const size_t n = frames_.size();
  frames_.clear();
  return n;
}

}  // namespace tern::jitterbuffer
