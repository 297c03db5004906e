// WAV (RIFF WAVE, PCM16 little-endian) writing and reading, plus a pull source that plays a file
// in 10 ms blocks. Byte buffers in and out (parse_wav, WavWriter); WavFileWriter and
// WavFileSource::Open stream to and from disk a block at a time.
// Accepts WAVE_FORMAT_PCM and WAVE_FORMAT_EXTENSIBLE with the PCM sub-format, 16 bits only.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tern/codecs/audio_frame.h"
#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/media/file_io.h"
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

// Where a WAV file's samples are, from its first bytes (`head`, the whole file or a prefix that
// reaches the data chunk) and the file's size; same rules and errors as parse_wav.
struct WavLayout {
  int sample_rate_hz = 0;
  int channels = 0;
  uint64_t data_offset = 0;
  uint64_t data_bytes = 0;  // whole sample frames
};
Result<WavLayout> parse_wav_layout(std::span<const uint8_t> head, uint64_t file_size);

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

// A WAV file written to disk as the blocks come (one write per block, nothing accumulated).
// Create() creates the file; the header is written with the first block, whose shape the file
// takes (a block of another shape is refused: an error, error() stays ok), with its sizes left
// unset (0xFFFFFFFF: "to the end of the file", as parse_wav, ffmpeg and sox read it) so that a file
// cut short by a kill is still readable; close() fills them in. After a write error (error()) the
// file takes nothing more.
class WavFileWriter {
 public:
  static constexpr uint64_t kMaxDataBytes = 0xFFFFFF00u;  // the RIFF sizes are 32 bits
  static Result<WavFileWriter> Create(const std::string& path);
  Status append(const codecs::AudioFrame& frame);
  // Fills in the header's sizes (when a block was written) and closes the file.
  Status close();
  int64_t samples_per_channel() const { return channels_ > 0 ? static_cast<int64_t>(data_bytes_ / 2) / channels_ : 0; }
  bool started() const { return channels_ > 0; }
  const Status& error() const { return error_; }
  size_t buffered_bytes() const { return buffer_.capacity(); }

 private:
  explicit WavFileWriter(FileWriter file) : file_(std::move(file)) {}
  FileWriter file_;
  int sample_rate_hz_ = 0, channels_ = 0;
  uint64_t data_bytes_ = 0;
  std::vector<uint8_t> buffer_;  // one block
  Status error_;
};

// Plays WavData as a source of 10 ms blocks (the last block zero-padded), optionally looping.
// Open() plays a file from disk instead, reading each block as it is asked for (memory: one
// block and stdio's buffer, whatever the file's length); a read error ends the stream (error()).
class WavFileSource : public AudioSource {
 public:
  WavFileSource(WavData data, bool loop) : data_(std::move(data)), loop_(loop) {}
  // The data chunk must start within the first 64 KiB.
  static Result<std::unique_ptr<WavFileSource>> Open(const std::string& path, bool loop);
  // The next block stamped with capture_time = now and an RTP timestamp counting samples; nullopt
  // at the end of a non-looping file or for an empty file.
  std::optional<codecs::AudioFrame> next_audio(Timestamp now);
  // Blocks of any length (1..sample rate samples per channel), same rules as next_audio().
  std::optional<codecs::AudioFrame> next_samples(int samples_per_channel, Timestamp now) override;
  int sample_rate_hz() const override { return data_.sample_rate_hz; }
  int channels() const override { return data_.channels; }
  bool ended() const override {
    return total() == 0 || (!loop_ && position_ >= total()) || !error_.ok();
  }
  // Samples per channel in the file.
  int64_t total() const { return file_ ? file_samples_ : data_.samples_per_channel(); }
  const Status& error() const { return error_; }
  // Memory held for samples (from disk: the read buffer, one block).
  size_t buffered_bytes() const { return file_ ? buffer_.capacity() : data_.samples.capacity() * 2; }

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  // From disk: n sample frames at position_ into `out`.
  Status read(int16_t* out, int64_t n);

  WavData data_;  // in memory: the samples; from disk: the format only
  bool loop_;
  int64_t position_ = 0;  // samples per channel consumed
  uint32_t rtp_timestamp_ = 0;
  std::unique_ptr<std::FILE, FileCloser> file_;  // from disk
  uint64_t data_offset_ = 0;
  int64_t file_samples_ = 0;
  std::vector<uint8_t> buffer_;
  Status error_;
};

}  // namespace tern::media
