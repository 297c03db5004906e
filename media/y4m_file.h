// YUV4MPEG2 (Y4M) writing and reading for 8-bit I420 (C420, C420jpeg, C420paldv, C420mpeg2), plus
// a pull source that plays a file at its frame rate. Byte buffers in and out (parse_y4m,
// Y4mWriter); Y4mFileWriter and Y4mFileSource::Open stream to and from disk a picture at a time.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tern/codecs/video_frame.h"
#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/media/file_io.h"
#include "tern/media/media_source.h"

namespace tern::media {

struct Y4mData {
  int width = 0;
  int height = 0;
  int fps_num = 30;  // frame rate fps_num / fps_den
  int fps_den = 1;
  std::vector<codecs::VideoFrame> frames;  // tightly packed
};

// What the stream header line says.
struct Y4mFormat {
  int width = 0;
  int height = 0;
  int fps_num = 30;
  int fps_den = 1;
  // Bytes of one picture (I420, tightly packed), without its FRAME line.
  size_t frame_bytes() const;
};
// The longest header or FRAME line accepted.
inline constexpr size_t kMaxY4mLine = 4096;
// Parses the stream header line (without its '\n').
Result<Y4mFormat> parse_y4m_header(std::string_view line);

// Parses a whole file; at most max_frames frames are kept (later ones are ignored).
Result<Y4mData> parse_y4m(std::span<const uint8_t> file, size_t max_frames = 100000);

class Y4mWriter {
 public:
  // width/height 2..16384, fps_num/fps_den >= 1; at most max_bytes are buffered.
  static Result<Y4mWriter> Create(int width, int height, int fps_num, int fps_den,
                                  size_t max_bytes = size_t{1} << 30);
  // Appends one picture of the configured size (any strides).
  Status append(const codecs::VideoFrame& frame);
  // The complete file so far, or since the last clear().
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  // Forgets the bytes written out so far (the capacity is kept: one picture when emptied after
  // every append).
  void clear() { bytes_.clear(); }
  int frames() const { return frames_; }

 private:
  Y4mWriter(int width, int height, size_t max_bytes) : width_(width), height_(height), max_bytes_(max_bytes) {}
  int width_;
  int height_;
  size_t max_bytes_;
  int frames_ = 0;
  std::vector<uint8_t> bytes_;
};

// A Y4M file written to disk as the pictures come, holding one picture in memory. Create()
// creates the file; the stream header is written with the first picture, whose size the file
// takes; a later picture of another size (the sender changed resolution) is scaled to it
// (libyuv, box filter) and counted. Each picture is one write, so a file cut short by a kill
// ends on a whole frame. After a write error the file takes nothing more (the error is kept).
class Y4mFileWriter {
 public:
  static Result<Y4mFileWriter> Create(const std::string& path, int fps_num, int fps_den);
  // Writes one picture; an error when it was not written (a write error, now or earlier).
  Status append(const codecs::VideoFrame& frame);
  Status close() { return file_.close(); }
  int64_t frames() const { return frames_; }              // written
  int64_t scaled_frames() const { return scaled_; }       // of them, scaled to the file's size
  int64_t resolution_changes() const { return changes_; }  // picture size changes seen
  int width() const { return writer_ ? width_ : 0; }      // the file's size (0 before the first)
  int height() const { return writer_ ? height_ : 0; }
  const Status& error() const { return error_; }          // the first write error
  uint64_t bytes_written() const { return file_.size(); }
  // Memory held for pictures: the serialising buffer and the scaling buffer.
  size_t buffered_bytes() const;

 private:
  Y4mFileWriter(FileWriter file, int fps_num, int fps_den)
      : file_(std::move(file)), fps_num_(fps_num), fps_den_(fps_den) {}
  FileWriter file_;
  int fps_num_, fps_den_;
  std::optional<Y4mWriter> writer_;
  int width_ = 0, height_ = 0;           // the file's size
  int last_width_ = 0, last_height_ = 0;  // the previous picture's size
  codecs::VideoFrame scaled_picture_;
  int64_t frames_ = 0, scaled_ = 0, changes_ = 0;
  Status error_;
};

// Plays Y4mData: next_frame(now) returns frame i once now >= start + i / fps (start = first call),
// with capture_time and a 90 kHz RTP timestamp; nullopt when not yet due or at the end. A caller
// that polls late gets every frame in turn (none is skipped).
//
// Open() plays a file from disk instead, reading one picture at a time (memory: one picture and
// stdio's buffer, whatever the file's length); looping seeks back to the first picture. A file
// that ends inside a picture, or a malformed FRAME line, ends the stream there: error() says why.
class Y4mFileSource : public VideoSource {
 public:
  Y4mFileSource(Y4mData data, bool loop) : data_(std::move(data)), loop_(loop) {}
  // Reads the header and the first picture (a file without one is an error).
  static Result<std::unique_ptr<Y4mFileSource>> Open(const std::string& path, bool loop);
  std::optional<codecs::VideoFrame> next_frame(Timestamp now) override;
  // PlusInfinity before the first next_frame() call and after the end.
  Timestamp next_capture_time() const override;
  bool ended() const override {
    return frame_count() == 0 || (!loop_ && index_ >= frame_count()) || !error_.ok();
  }

  int width() const { return data_.width; }
  int height() const { return data_.height; }
  double fps() const { return static_cast<double>(data_.fps_num) / data_.fps_den; }
  // Pictures in the file (from disk: its size over the size of a picture with a bare FRAME line).
  int64_t frame_count() const { return file_ ? file_frames_ : static_cast<int64_t>(data_.frames.size()); }
  // Why a file played from disk stopped early (ok otherwise).
  const Status& error() const { return error_; }
  // Memory held for pictures (from disk: the one picture read ahead).
  size_t buffered_bytes() const;

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  // From disk: reads the next picture into next_ (at the end: back to the first when looping).
  Status read_next();

  TimeDelta offset(int64_t index) const {
    return TimeDelta::Micros(index * 1000000 * data_.fps_den / data_.fps_num);
  }

  Y4mData data_;  // in memory: every picture; from disk: the format only
  bool loop_;
  std::optional<Timestamp> start_;
  int64_t index_ = 0;  // frames produced
  std::unique_ptr<std::FILE, FileCloser> file_;  // from disk
  long data_start_ = 0;                          // offset of the first FRAME line
  long file_size_ = 0;
  size_t frame_bytes_ = 0;  // one picture, without its FRAME line
  int64_t file_frames_ = 0;
  std::optional<codecs::VideoFrame> next_;  // from disk: the picture next_frame() hands out next
  Status error_;
};

}  // namespace tern::media
