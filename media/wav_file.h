// WAV (RIFF WAVE, PCM16 little-endian) writing and reading, plus a pull source that plays a parsed
// file in 10 ms blocks. Byte buffers in and out; load_file/save_file (file_io.h) touch the disk.
// Accepts WAVE_FORMAT_PCM and WAVE_FORMAT_EXTENSIBLE with the PCM sub-format, 16 bits only.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tern/codecs/audio_frame.h"
#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/media/media_source.h"

namespace tern::media {

struct WavData {
  int sample_rate_hz = 0;
  int channels = 0;
  std::vector<int16_t> samples;  // interleaved
  int64_t samples_per_channel() const { return channels > 0 ? static_cast<int64_t>(samples.size()) / channels : 0; }
};

// Parses a whole WAV file. Unknown chunks are skipped; a data size left unset (0 or 0xFFFFFFFF by
// a streaming or interrupted writer) means "to the end of the file"; errors name the first
// malformed part.
Result<WavData> parse_wav(std::span<const uint8_t> file);

class WavWriter {
 public:
  // sample_rate 1..384000, channels 1..8; at most max_bytes of samples are kept (then append fails).
  static Result<WavWriter> Create(int sample_rate_hz, int channels, size_t max_bytes = size_t{1} << 30);

  // Appends a frame of the configured shape; the frame's timestamps are ignored (WAV has none).
  Status append(const codecs::AudioFrame& frame);
  // The complete file (header sizes filled in) for what was appended so far.
  std::vector<uint8_t> finish() const;
  int64_t samples_per_channel() const { return static_cast<int64_t>(samples_.size()) / channels_; }

 private:
  WavWriter(int sample_rate_hz, int channels, size_t max_bytes)
      : sample_rate_hz_(sample_rate_hz), channels_(channels), max_bytes_(max_bytes) {}
  int sample_rate_hz_;
  int channels_;
  size_t max_bytes_;
  std::vector<int16_t> samples_;
};

// Plays WavData as a source of 10 ms blocks (the last block zero-padded), optionally looping.
class WavFileSource : public AudioSource {
 public:
  WavFileSource(WavData data, bool loop) : data_(std::move(data)), loop_(loop) {}
  // The next block stamped with capture_time = now and an RTP timestamp counting samples; nullopt
  // at the end of a non-looping file or for an empty file.
  std::optional<codecs::AudioFrame> next_audio(Timestamp now);
  // Blocks of any length (1..sample rate samples per channel), same rules as next_audio().
  std::optional<codecs::AudioFrame> next_samples(int samples_per_channel, Timestamp now) override;
  int sample_rate_hz() const override { return data_.sample_rate_hz; }
  int channels() const override { return data_.channels; }
  bool ended() const override {
    return data_.samples_per_channel() == 0 || (!loop_ && position_ >= data_.samples_per_channel());
  }

 private:
  WavData data_;
  bool loop_;
  int64_t position_ = 0;  // samples per channel consumed
  uint32_t rtp_timestamp_ = 0;
};

}  // namespace tern::media
