// ReceiveOutputs: what tern-recv writes from the Endpoint's rendered pictures and 10 ms playout.
// The Y4M file gets every rendered picture; the WAV file starts at the first audible block and
// leaves out a trailing run of concealment or silence (the stream's end, or the idle timeout),
// kept pending until a later decoded block shows it was a gap inside the stream (bounded:
// kMaxPendingBlocks; beyond, the gap is written).
#pragma once

#include <cstdint>
#include <deque>
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

  ReceiveOutputs(bool y4m, bool wav, int fps) : want_y4m_(y4m), want_wav_(wav), fps_(fps) {}
  void on_video_frame_rendered(const pipeline::RenderedVideoFrame& frame) override;
  void on_audio_playout(const pipeline::AudioPlayoutEvent& event) override;

  int64_t frames() const { return frames_; }
  int width() const { return width_; }
  int height() const { return height_; }
  int64_t wav_samples_per_channel() const { return wav_ ? wav_->samples_per_channel() : 0; }
  // Pictures and audio blocks a writer refused (a picture size or audio shape other than the
  // first, or a file over its 1 GiB cap): left out of the files. Counted, not printed, so that
  // tern-recv's output stays what it was.
  uint64_t write_failures() const { return write_failures_; }
  // Writes the files asked for; the last failure (or a file with nothing to write) is returned.
  Status save(const std::string& y4m_path, const std::string& wav_path) const;

 private:
  bool want_y4m_, want_wav_;
  int fps_;
  int64_t frames_ = 0;
  int width_ = 0, height_ = 0;
  std::optional<media::Y4mWriter> y4m_;
  std::optional<media::WavWriter> wav_;
  std::deque<codecs::AudioFrame> pending_;
  uint64_t write_failures_ = 0;

  void append_wav(const codecs::AudioFrame& block);
};

}  // namespace tern::tools::net
