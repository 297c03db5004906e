// ReceiveOutputs: what tern-recv writes from the Endpoint's rendered pictures and 10 ms playout,
// straight to disk as they come (media::Y4mFileWriter, media::WavFileWriter: memory of one
// picture and one block, whatever the length of the run).
// - Create() creates the files, so an unwritable path fails before the first packet.
// - The Y4M file gets every rendered picture; the file takes the first picture's size and later
//   pictures of another size (the sender changed resolution) are scaled to it and counted.
// - The WAV file starts at the first audible block and leaves out a trailing run of concealment
//   or silence (the stream's end, or the idle timeout), kept pending until a later decoded block
//   shows it was a gap inside the stream (bounded: kMaxPendingBlocks; beyond, the gap is written).
// - A write error (a full disk) stops that file for good: failed() turns true, the error is
//   kept, and the pictures and blocks not written are counted; tern-recv then stops and exits 1.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "tern/codecs/audio_decoder.h"
#include "tern/core/result.h"
#include "tern/media/wav_file.h"
#include "tern/media/y4m_file.h"
#include "tern/pipeline/endpoint.h"

namespace tern::tools::net {

class ReceiveOutputs : public pipeline::VideoRenderListener, public pipeline::AudioPlayoutListener {
 public:
  static constexpr size_t kMaxPendingBlocks = 1000;  // 10 s

  // Creates the files asked for (an empty path: none); the error names the path and the reason.
  static Result<std::unique_ptr<ReceiveOutputs>> Create(const std::string& y4m_path, const std::string& wav_path,
                                                        int fps);
  void on_video_frame_rendered(const pipeline::RenderedVideoFrame& frame) override;
  void on_audio_playout(const pipeline::AudioPlayoutEvent& event) override;

  int64_t frames() const { return frames_; }  // pictures rendered (decoded and handed out)
  int width() const { return width_; }        // the last picture's size
  int height() const { return height_; }
  int64_t y4m_frames() const { return y4m_ ? y4m_->frames() : 0; }  // pictures written
  int64_t resolution_changes() const { return y4m_ ? y4m_->resolution_changes() : 0; }
  int64_t scaled_frames() const { return y4m_ ? y4m_->scaled_frames() : 0; }
  int64_t wav_samples_per_channel() const { return wav_ ? wav_->samples_per_channel() : 0; }
  // Audio blocks of another shape than the file's: left out (the Endpoint plays one shape).
  uint64_t refused_blocks() const { return refused_blocks_; }
  // Pictures and blocks a write error kept out of the files (each file stops at its first error).
  uint64_t lost_to_write_errors() const { return lost_; }
  // Files that hit a write error (0..2), and the first error.
  int write_errors() const;
  bool failed() const { return write_errors() > 0; }
  Status write_error() const;
  // Memory held for pictures and samples (bounded: about one picture, one block, the pending gap).
  size_t buffered_bytes() const;
  // Fills in the WAV header and closes the files; returns the first write or close error.
  // A file that got nothing (no picture decoded, no audio played) is removed and said so in
  // not_written() (not an error). Idempotent.
  Status close();
  const std::string& not_written() const { return not_written_; }

 private:
  ReceiveOutputs() = default;
  void append_wav(const codecs::AudioFrame& block);

  std::string y4m_path_, wav_path_;
  int64_t frames_ = 0;
  int width_ = 0, height_ = 0;
  std::optional<media::Y4mFileWriter> y4m_;
  std::optional<media::WavFileWriter> wav_;
  std::deque<codecs::AudioFrame> pending_;
  uint64_t refused_blocks_ = 0, lost_ = 0;
  bool closed_ = false;
  Status close_status_;
  std::string not_written_;
};

}  // namespace tern::tools::net
