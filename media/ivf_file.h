// IVF: libvpx's minimal container for VP8/VP9 (a 32-byte "DKIF" file header, then a 12-byte
// header per frame: size and 64-bit pts). The writer stamps each frame with its unwrapped 90 kHz
// RTP timestamp (time base 1/90000, first frame at 0) so a recording plays with the received timing.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tern/codecs/encoded_frame.h"
#include "tern/core/result.h"
#include "tern/core/seq_num.h"

namespace tern::media {

struct IvfFrame {
  int64_t pts = 0;  // in time base units
  std::vector<uint8_t> data;
};

struct IvfData {
  codecs::CodecType codec = codecs::CodecType::kVp8;
  int width = 0;
  int height = 0;
  uint32_t timebase_num = 1;  // seconds per tick = num / den
  uint32_t timebase_den = 90000;
  std::vector<IvfFrame> frames;
};

// Parses a whole IVF file (VP80/VP90 only); at most max_frames frames; frames larger than
// max_frame_bytes are rejected.
Result<IvfData> parse_ivf(std::span<const uint8_t> file, size_t max_frames = 1000000,
                          size_t max_frame_bytes = 16 * 1024 * 1024);

class IvfWriter {
 public:
  // codec kVp8 or kVp9, size 1..65535; at most max_bytes are buffered.
  static Result<IvfWriter> Create(codecs::CodecType codec, int width, int height, size_t max_bytes = size_t{1} << 30);
  // Appends one encoded frame; pts = its RTP timestamp unwrapped, relative to the first frame
  // (reordered or repeated timestamps are written as they come).
  Status add_frame(std::span<const uint8_t> data, uint32_t rtp_timestamp);
  Status add_frame(const codecs::EncodedFrame& frame) { return add_frame(frame.data, frame.rtp_timestamp); }
  // The complete file so far (frame count filled in).
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  uint32_t frames() const { return frames_; }

 private:
  explicit IvfWriter(size_t max_bytes) : max_bytes_(max_bytes) {}
  size_t max_bytes_;
  std::vector<uint8_t> bytes_;
  uint32_t frames_ = 0;
  RtpTimestampUnwrapper unwrapper_;
  int64_t first_ = 0;
};

}  // namespace tern::media
