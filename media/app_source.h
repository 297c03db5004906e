// AppSource: a source the host application pushes frames into (from its own camera, microphone or
// decoder) and the pipeline pulls from, like the synthetic and file sources. Bounded: when full, the
// oldest frame is dropped (live media prefers fresh frames) and counted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

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

// Usable as a send stream's AudioSource: the host pushes blocks of any length (10 ms from a sound
// card, odd sizes from a game engine) in one format, and next_samples() re-blocks them into what
// the encoder asks for, stamped with the pull time. Bounded: `capacity` pushed blocks (oldest
// dropped, counted) plus under one block of re-blocking remainder. An underrun (fewer samples queued
// than asked) returns nullopt and consumes nothing; the send stream then skips that frame and its
// RTP clock moves on, so the receiver sees a gap, not compressed time. close() ends the stream: the
// last partial block comes out zero-padded, then ended() is true.
class AppAudioSource : public AppSource<codecs::AudioFrame>, public AudioSource {
 public:
  explicit AppAudioSource(size_t capacity = 8, int sample_rate_hz = 48000, int channels = 1)
      : AppSource(capacity), rate_(sample_rate_hz), channels_(channels) {}

  // Queues a block. False when it was refused (another rate or channel count, or a sample count
  // that does not match samples_per_channel x channels: counted in rejected()) or when the queue was
  // full and the oldest block was dropped.
  bool push(codecs::AudioFrame frame);
  // No more blocks will come.
  void close() { closed_ = true; }

  std::optional<codecs::AudioFrame> next_samples(int samples_per_channel, Timestamp now) override;
  int sample_rate_hz() const override { return rate_; }
  int channels() const override { return channels_; }
  bool ended() const override { return closed_ && size() == 0 && pending_.empty(); }
  uint64_t rejected() const { return rejected_; }

 private:
  int rate_;
  int channels_;
  std::vector<int16_t> pending_;  // interleaved samples taken from the queue, not yet handed out
  bool closed_ = false;
  uint64_t rejected_ = 0;
};

}  // namespace tern::media
