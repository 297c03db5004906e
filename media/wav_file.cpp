#include "tern/media/wav_file.h"

#include <algorithm>
#include <cstring>

#include "tern/media/little_endian.h"

namespace tern::media {
namespace {

constexpr uint16_t kFormatPcm = 1;
constexpr uint16_t kFormatExtensible = 0xFFFE;

bool tag_is(std::span<const uint8_t> b, const char* tag) { return b.size() == 4 && std::memcmp(b.data(), tag, 4) == 0; }

}  // namespace

Result<WavData> parse_wav(std::span<const uint8_t> file) {
  LeReader r(file);
  if (!tag_is(r.bytes(4), "RIFF")) return Error{"wav: not a RIFF file"};
  r.u32();  // RIFF size: often wrong in streamed files, the chunks are trusted instead
  if (!tag_is(r.bytes(4), "WAVE")) return Error{"wav: not a WAVE file"};
  WavData out;
  bool have_fmt = false;
  // Each iteration consumes at least 8 bytes, so the loop is bounded by the file size.
  while (r.remaining() >= 8) {
    const auto id = r.bytes(4);
    const uint32_t size = r.u32();
    if (tag_is(id, "fmt ")) {
      if (size < 16 || size > r.remaining()) return Error{"wav: fmt chunk truncated"};
      LeReader f(r.bytes(size));
      uint16_t format = f.u16();
      const uint16_t channels = f.u16();
      const uint32_t rate = f.u32();
      f.u32();  // byte rate
      const uint16_t block_align = f.u16();
      const uint16_t bits = f.u16();
      if (format == kFormatExtensible) {
        if (size < 40) return Error{"wav: extensible fmt chunk truncated"};
        f.u16();  // cbSize
        f.u16();  // valid bits
        f.u32();  // channel mask
        format = f.u16();  // first two bytes of the sub-format GUID
      }
      if (format != kFormatPcm) return Error{"wav: not PCM"};
      if (bits != 16) return Error{"wav: only 16-bit samples are supported"};
      if (channels < 1 || channels > 8) return Error{"wav: channel count out of range"};
      if (rate < 1 || rate > 384000) return Error{"wav: sample rate out of range"};
      if (block_align != channels * 2) return Error{"wav: block align disagrees with channels"};
      out.channels = channels;
      out.sample_rate_hz = static_cast<int>(rate);
      have_fmt = true;
      if (size % 2 == 1) r.skip(1);
    } else if (tag_is(id, "data")) {
      if (!have_fmt) return Error{"wav: data chunk before fmt chunk"};
      const size_t frame_bytes = 2 * static_cast<size_t>(out.channels);
      size_t length = size;
      // A writer that streams or was cut short leaves the size unset (0 or all ones): the data
      // then runs to the end of the file, in whole sample frames.
      if (size == 0xFFFFFFFFu || (size == 0 && r.remaining() > 0)) length = r.remaining() / frame_bytes * frame_bytes;
      if (length > r.remaining()) return Error{"wav: data chunk truncated"};
      if (length % frame_bytes != 0) return Error{"wav: data is not whole sample frames"};
      const auto data = r.bytes(length);
      out.samples.resize(length / 2);
      for (size_t i = 0; i < out.samples.size(); ++i) {
        out.samples[i] = static_cast<int16_t>(static_cast<uint16_t>(data[2 * i] | (data[2 * i + 1] << 8)));
      }
      return out;
    } else {
      const size_t padded = size_t{size} + (size % 2);
      if (padded > r.remaining()) return Error{"wav: chunk length beyond end of file"};
      r.skip(padded);
    }
  }
  return Error{have_fmt ? "wav: no data chunk" : "wav: no fmt chunk"};
}

Result<WavWriter> WavWriter::Create(int sample_rate_hz, int channels, size_t max_bytes) {
  if (sample_rate_hz < 1 || sample_rate_hz > 384000) return Error{"wav writer: sample rate out of range"};
  if (channels < 1 || channels > 8) return Error{"wav writer: channels must be 1..8"};
  // The RIFF size field is 32 bits.
  return WavWriter(sample_rate_hz, channels, std::min<size_t>(max_bytes, 0xFFFFFF00u));
}

Status WavWriter::append(const codecs::AudioFrame& frame) {
  if (frame.sample_rate_hz != sample_rate_hz_ || frame.channels != channels_) {
    return Error{"wav writer: frame shape differs from the file's"};
  }
  const size_t n = static_cast<size_t>(frame.samples_per_channel) * static_cast<size_t>(channels_);
  if (frame.samples_per_channel < 0 || frame.samples.size() < n) return Error{"wav writer: frame has too few samples"};
  if ((samples_.size() + n) * 2 > max_bytes_) return Error{"wav writer: size limit reached"};
  samples_.insert(samples_.end(), frame.samples.begin(), frame.samples.begin() + static_cast<std::ptrdiff_t>(n));
  return Status::Ok();
}

std::vector<uint8_t> WavWriter::finish() const {
  const auto data_bytes = static_cast<uint32_t>(samples_.size() * 2);
  std::vector<uint8_t> out;
  out.reserve(44 + data_bytes);
  put_tag(out, "RIFF");
  put_le32(out, 36 + data_bytes);
  put_tag(out, "WAVE");
  put_tag(out, "fmt ");
  put_le32(out, 16);
  put_le16(out, kFormatPcm);
  put_le16(out, static_cast<uint16_t>(channels_));
  put_le32(out, static_cast<uint32_t>(sample_rate_hz_));
  put_le32(out, static_cast<uint32_t>(sample_rate_hz_ * channels_ * 2));
  put_le16(out, static_cast<uint16_t>(channels_ * 2));
  put_le16(out, 16);
  put_tag(out, "data");
  put_le32(out, data_bytes);
  for (int16_t s : samples_) put_le16(out, static_cast<uint16_t>(s));
  return out;
}

std::optional<codecs::AudioFrame> WavFileSource::next_audio(Timestamp now) {
  return next_samples(std::max(1, data_.sample_rate_hz / 100), now);
}

std::optional<codecs::AudioFrame> WavFileSource::next_samples(int samples_per_channel, Timestamp now) {
  const int64_t total = data_.samples_per_channel();
  if (total == 0 || data_.sample_rate_hz <= 0 || data_.channels <= 0) return std::nullopt;
  if (samples_per_channel < 1 || samples_per_channel > data_.sample_rate_hz) return std::nullopt;
  if (position_ >= total) {
    if (!loop_) return std::nullopt;
    position_ = 0;
  }
  const int block = samples_per_channel;
  codecs::AudioFrame frame = codecs::AudioFrame::Silence(data_.sample_rate_hz, data_.channels, block);
  const int64_t n = std::min<int64_t>(block, total - position_);
  std::copy_n(data_.samples.begin() + static_cast<std::ptrdiff_t>(position_ * data_.channels),
              static_cast<std::ptrdiff_t>(n * data_.channels), frame.samples.begin());
  position_ += n;
  frame.capture_time = now;
  frame.rtp_timestamp = rtp_timestamp_;
  rtp_timestamp_ += static_cast<uint32_t>(block);
  return frame;
}

}  // namespace tern::media
