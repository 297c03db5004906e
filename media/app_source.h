// AppSource: a source the host application pushes frames into (from its own camera, microphone or
// decoder) and the pipeline pulls from, like the synthetic and file sources. Bounded: when full, the
// oldest frame is dropped (live media prefers fresh frames) and counted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

#include "tern/codecs/audio_frame.h"
#include "tern/codecs/video_frame.h"
#include "tern/core/units.h"
#include "tern/media/media_source.h"

namespace tern::media {

template <typename Frame>
class AppSource {
 public:
  // capacity >= 1 frames (values below 1 are raised to 1).
  explicit AppSource(size_t capacity = 8) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Queues a frame. Returns false when the queue was full and the oldest frame was dropped.
  bool push(Frame frame) {
    bool kept_all = true;
    if (queue_.size() >= capacity_) {
      queue_.pop_front();
      ++dropped_;
      kept_all = false;
    }
    queue_.push_back(std::move(frame));
    return kept_all;
  }
  // The oldest queued frame whose capture_time is not after `now` (frames stamped zero are always
  // due), or nullopt.
  std::optional<Frame> next(Timestamp now) {
    if (queue_.empty()) return std::nullopt;
    if (!queue_.front().capture_time.is_zero() && queue_.front().capture_time > now) return std::nullopt;
    Frame f = std::move(queue_.front());
    queue_.pop_front();
    return f;
  }

  // The oldest queued frame, or nullptr.
  const Frame* front() const { return queue_.empty() ? nullptr : &queue_.front(); }
  size_t size() const { return queue_.size(); }
  size_t capacity() const { return capacity_; }
  uint64_t dropped() const { return dropped_; }

 private:
  size_t capacity_;
  std::deque<Frame> queue_;
  uint64_t dropped_ = 0;
};

// Usable as a send stream's VideoSource: next_capture_time() is the oldest queued frame's
// capture time (an empty queue: PlusInfinity, so the host calls process() after a push).
class AppVideoSource : public AppSource<codecs::VideoFrame>, public VideoSource {
 public:
  using AppSource::AppSource;
  std::optional<codecs::VideoFrame> next_frame(Timestamp now) override { return next(now); }
  Timestamp next_capture_time() const override {
    return front() == nullptr ? Timestamp::PlusInfinity() : front()->capture_time;
  }
};

class AppAudioSource : public AppSource<codecs::AudioFrame> {
 public:
  using AppSource::AppSource;
  std::optional<codecs::AudioFrame> next_audio(Timestamp now) { return next(now); }
};

}  // namespace tern::media
