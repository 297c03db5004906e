#include "tern/tools/loopback/reference_frame_cache.h"

#include <algorithm>
#include <utility>

#include "tern/media/frame_stamp.h"

namespace tern::tools {

ReferenceFrameCache::ReferenceFrameCache(size_t max_frames, size_t max_bytes)
    : max_frames_(std::max<size_t>(1, max_frames)), max_bytes_(max_bytes) {}

ReferenceFrameCache::Slot& ReferenceFrameCache::slot_for(uint32_t number, const codecs::VideoFrame& picture) {
  if (slots_.empty()) {
    const size_t bytes = picture.y.size() + picture.u.size() + picture.v.size();
    slots_.resize(std::clamp<size_t>(max_bytes_ / std::max<size_t>(1, bytes), 1, max_frames_));
  }
  Slot& s = slots_[number % slots_.size()];
  s.used = true;
  s.frame_number = number;
  return s;
}

void ReferenceFrameCache::store(uint32_t frame_number, const codecs::VideoFrame& picture) {
  if (!picture.is_valid()) return;
  const uint32_t number = frame_number & media::FrameStamp::kMaxFrameNumber;
  slot_for(number, picture).frame = picture;  // copy assignment reuses buffers large enough
}

void ReferenceFrameCache::take(uint32_t frame_number, codecs::VideoFrame& picture) {
  if (!picture.is_valid()) return;
  const uint32_t number = frame_number & media::FrameStamp::kMaxFrameNumber;
  std::swap(slot_for(number, picture).frame, picture);
}

void ReferenceFrameCache::on_video_frame_captured(const pipeline::CapturedVideoFrame& frame) {
  if (frame.picture != nullptr) take(frame.frame_number, *frame.picture);
}

const codecs::VideoFrame* ReferenceFrameCache::reference_frame(uint32_t frame_number) {
  const uint32_t number = frame_number & media::FrameStamp::kMaxFrameNumber;
  if (!slots_.empty()) {
    const Slot& s = slots_[number % slots_.size()];
    if (s.used && s.frame_number == number) {
      ++hits_;
      return &s.frame;
    }
  }
  ++misses_;
  return nullptr;
}

}  // namespace tern::tools
