// YUV4MPEG2 (Y4M) writing and reading for 8-bit I420 (C420, C420jpeg, C420paldv, C420mpeg2), plus
// a pull source that plays a parsed file at its frame rate. Byte buffers in and out.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tern/codecs/video_frame.h"
#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/media/media_source.h"

namespace tern::media {

struct Y4mData {
  int width = 0;
  int height = 0;
  int fps_num = 30;  // frame rate fps_num / fps_den
  int fps_den = 1;
  std::vector<codecs::VideoFrame> frames;  // tightly packed
};

// Parses a whole file; at most max_frames frames are kept (later ones are ignored).
Result<Y4mData> parse_y4m(std::span<const uint8_t> file, size_t max_frames = 100000);

class Y4mWriter {
 public:
  // width/height 2..16384, fps_num/fps_den >= 1; at most max_bytes are buffered.
  static Result<Y4mWriter> Create(int width, int height, int fps_num, int fps_den,
                                  size_t max_bytes = size_t{1} << 30);
  // Appends one picture of the configured size (any strides).
  Status append(const codecs::VideoFrame& frame);
  // The complete file so far.
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  int frames() const { return frames_; }

 private:
  Y4mWriter(int width, int height, size_t max_bytes) : width_(width), height_(height), max_bytes_(max_bytes) {}
  int width_;
  int height_;
  size_t max_bytes_;
  int frames_ = 0;
  std::vector<uint8_t> bytes_;
};

// Plays Y4mData: next_frame(now) returns frame i once now >= start + i / fps (start = first call),
// with capture_time and a 90 kHz RTP timestamp; nullopt when not yet due or at the end. A caller
// that polls late gets every frame in turn (none is skipped).
class Y4mFileSource : public VideoSource {
 public:
  Y4mFileSource(Y4mData data, bool loop) : data_(std::move(data)), loop_(loop) {}
  std::optional<codecs::VideoFrame> next_frame(Timestamp now) override;
  // PlusInfinity before the first next_frame() call and after the end.
  Timestamp next_capture_time() const override;
  bool ended() const override { return data_.frames.empty() || (!loop_ && index_ >= frame_count()); }

  int width() const { return data_.width; }
  int height() const { return data_.height; }
  double fps() const { return static_cast<double>(data_.fps_num) / data_.fps_den; }
  int64_t frame_count() const { return static_cast<int64_t>(data_.frames.size()); }

 private:
  TimeDelta offset(int64_t index) const {
    return TimeDelta::Micros(index * 1000000 * data_.fps_den / data_.fps_num);
  }

  Y4mData data_;
  bool loop_;
  std::optional<Timestamp> start_;
  int64_t index_ = 0;  // frames produced
};

}  // namespace tern::media
