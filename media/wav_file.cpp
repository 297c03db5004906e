#include "tern/media/wav_file.h"

#include <algorithm>
#include <cstring>

#include "tern/media/little_endian.h"

namespace tern::media {
namespace {

constexpr uint16_t kFormatPcm = 1;
constexpr uint16_t kFormatExtensible = 0xFFFE;

bool tag_is(std::span<const uint8_t> b, const char* tag) { return b.size() == 4 && std::memcmp(b.data(), tag, 4) == 0; }

// The RIFF and data sizes of a file whose length is not known yet (read as "to the end").
constexpr uint32_t kUnknownSize = 0xFFFFFFFFu;

// The 44-byte header of a PCM16 file with `data_bytes` of samples (kUnknownSize: unset).
void put_header(std::vector<uint8_t>& out, int rate, int channels, uint32_t data_bytes) {
  put_tag(out, "RIFF");
  put_le32(out, data_bytes == kUnknownSize ? kUnknownSize : 36 + data_bytes);
  put_tag(out, "WAVE");
  put_tag(out, "fmt ");
  put_le32(out, 16);
  put_le16(out, kFormatPcm);
  put_le16(out, static_cast<uint16_t>(channels));
  put_le32(out, static_cast<uint32_t>(rate));
  put_le32(out, static_cast<uint32_t>(rate * channels * 2));
  put_le16(out, static_cast<uint16_t>(channels * 2));
  put_le16(out, 16);
  put_tag(out, "data");
  put_le32(out, data_bytes);
}

void put_samples(std::vector<uint8_t>& out, std::span<const int16_t> samples) {
  for (int16_t s : samples) put_le16(out, static_cast<uint16_t>(s));
}

// Little-endian PCM16 bytes to samples.
void get_samples(std::span<const uint8_t> bytes, int16_t* out) {
  for (size_t i = 0; i < bytes.size() / 2; ++i) {
    out[i] = static_cast<int16_t>(static_cast<uint16_t>(bytes[2 * i] | (bytes[2 * i + 1] << 8)));
  }
}

}  // namespace

Result<WavLayout> parse_wav_layout(std::span<const uint8_t> head, uint64_t file_size) {
  LeReader r(head);
  if (!tag_is(r.bytes(4), "RIFF")) return Error{"wav: not a RIFF file"};
  r.u32();  // RIFF size: often wrong in streamed files, the chunks are trusted instead
  if (!tag_is(r.bytes(4), "WAVE")) return Error{"wav: not a WAVE file"};
  WavLayout out;
  bool have_fmt = false;
  // Bytes of the file after the reader's position (the head may be a prefix of the file).
  const auto file_remaining = [&] { return file_size - std::min<uint64_t>(file_size, r.position()); };
  // Each iteration consumes at least 8 bytes, so the loop is bounded by the head's size.
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
      const uint64_t frame_bytes = 2 * static_cast<uint64_t>(out.channels);
      const uint64_t remaining = file_remaining();
      uint64_t length = size;
      // A writer that streams or was cut short leaves the size unset (0 or all ones): the data
      // then runs to the end of the file, in whole sample frames.
      if (size == 0xFFFFFFFFu || (size == 0 && remaining > 0)) length = remaining / frame_bytes * frame_bytes;
      if (length > remaining) return Error{"wav: data chunk truncated"};
      if (length % frame_bytes != 0) return Error{"wav: data is not whole sample frames"};
      out.data_offset = r.position();
      out.data_bytes = length;
      return out;
    } else {
      const size_t padded = size_t{size} + (size % 2);
      if (padded > file_remaining()) return Error{"wav: chunk length beyond end of file"};
      if (padded > r.remaining()) return Error{"wav: no data chunk near the start of the file"};
      r.skip(padded);
    }
  }
  if (head.size() < file_size) return Error{"wav: no data chunk near the start of the file"};
  return Error{have_fmt ? "wav: no data chunk" : "wav: no fmt chunk"};
}

Result<WavData> parse_wav(std::span<const uint8_t> file) {
  auto layout = parse_wav_layout(file, file.size());
  if (!layout) return Error{layout.error()};
  WavData out;
  out.sample_rate_hz = layout->sample_rate_hz;
  out.channels = layout->channels;
  const auto data = file.subspan(static_cast<size_t>(layout->data_offset), static_cast<size_t>(layout->data_bytes));
  out.samples.resize(data.size() / 2);
  get_samples(data, out.samples.data());
  return out;
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
  put_header(out, sample_rate_hz_, channels_, data_bytes);
  put_samples(out, samples_);
  return out;
}

Result<WavFileWriter> WavFileWriter::Create(const std::string& path) {
  auto file = FileWriter::Create(path);
  if (!file) return Error{file.error()};
  return WavFileWriter(std::move(file.value()));
}

Status WavFileWriter::append(const codecs::AudioFrame& frame) {
  if (!error_.ok()) return error_;
  const bool first = channels_ == 0;
  if (first && (frame.sample_rate_hz < 1 || frame.sample_rate_hz > 384000 || frame.channels < 1 || frame.channels > 8)) {
    return Error{"wav writer: sample rate or channels out of range"};
  }
  if (!first && (frame.sample_rate_hz != sample_rate_hz_ || frame.channels != channels_)) {
    return Error{"wav writer: frame shape differs from the file's"};
  }
  const size_t n = static_cast<size_t>(frame.samples_per_channel) * static_cast<size_t>(frame.channels);
  if (frame.samples_per_channel < 0 || frame.samples.size() < n) return Error{"wav writer: frame has too few samples"};
  if (data_bytes_ + 2 * n > kMaxDataBytes) {
    error_ = Error{"wav writer: the 4 GiB WAV size limit is reached"};
    return error_;
  }
  buffer_.clear();
  buffer_.reserve((first ? 44 : 0) + 2 * n);  // exactly one block (and the header)
  if (first) put_header(buffer_, frame.sample_rate_hz, frame.channels, kUnknownSize);
  put_samples(buffer_, std::span(frame.samples).first(n));
  if (Status st = file_.write(buffer_); !st.ok()) {
    error_ = st;
    return st;
  }
  if (first) {
    sample_rate_hz_ = frame.sample_rate_hz;
    channels_ = frame.channels;
  }
  data_bytes_ += 2 * n;
  return Status::Ok();
}

Status WavFileWriter::close() {
  if (channels_ > 0 && error_.ok()) {
    std::vector<uint8_t> header;
    put_header(header, sample_rate_hz_, channels_, static_cast<uint32_t>(data_bytes_));
    if (Status st = file_.write_at(0, header); !st.ok()) {
      error_ = st;
      (void)file_.close();  // the write error is the one to report
      return st;
    }
  }
  return file_.close();
}

std::optional<codecs::AudioFrame> WavFileSource::next_audio(Timestamp now) {
  return next_samples(std::max(1, data_.sample_rate_hz / 100), now);
}

Result<std::unique_ptr<WavFileSource>> WavFileSource::Open(const std::string& path, bool loop) {
  constexpr size_t kMaxHead = 64 * 1024;
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) return Error{"wav: cannot open the file"};
  if (std::fseek(f.get(), 0, SEEK_END) != 0) return Error{"wav: cannot seek in the file"};
  const long size = std::ftell(f.get());
  if (size < 0 || std::fseek(f.get(), 0, SEEK_SET) != 0) return Error{"wav: cannot seek in the file"};
  std::vector<uint8_t> head(std::min<size_t>(kMaxHead, static_cast<size_t>(size)));
  if (std::fread(head.data(), 1, head.size(), f.get()) != head.size()) return Error{"wav: read error"};
  auto layout = parse_wav_layout(head, static_cast<uint64_t>(size));
  if (!layout) return Error{layout.error()};
  WavData format;
  format.sample_rate_hz = layout->sample_rate_hz;
  format.channels = layout->channels;
  std::unique_ptr<WavFileSource> src(new WavFileSource(std::move(format), loop));
  src->data_offset_ = layout->data_offset;
  src->file_samples_ = static_cast<int64_t>(layout->data_bytes / (2 * static_cast<uint64_t>(layout->channels)));
  if (std::fseek(f.get(), static_cast<long>(layout->data_offset), SEEK_SET) != 0) return Error{"wav: cannot seek in the file"};
  src->file_ = std::move(f);
  return src;
}

Status WavFileSource::read(int16_t* out, int64_t n) {
  if (position_ == 0 && std::fseek(file_.get(), static_cast<long>(data_offset_), SEEK_SET) != 0) {
    return Error{"wav: cannot seek in the file"};
  }
  buffer_.resize(static_cast<size_t>(n) * static_cast<size_t>(data_.channels) * 2);
  if (std::fread(buffer_.data(), 1, buffer_.size(), file_.get()) != buffer_.size()) {
    return Error{std::ferror(file_.get()) ? "wav: read error" : "wav: the file is shorter than its header says"};
  }
  get_samples(buffer_, out);
  return Status::Ok();
}

std::optional<codecs::AudioFrame> WavFileSource::next_samples(int samples_per_channel, Timestamp now) {
  const int64_t all = total();
  if (all == 0 || data_.sample_rate_hz <= 0 || data_.channels <= 0 || !error_.ok()) return std::nullopt;
  if (samples_per_channel < 1 || samples_per_channel > data_.sample_rate_hz) return std::nullopt;
  if (position_ >= all) {
    if (!loop_) return std::nullopt;
    position_ = 0;
  }
  const int block = samples_per_channel;
  codecs::AudioFrame frame = codecs::AudioFrame::Silence(data_.sample_rate_hz, data_.channels, block);
  const int64_t n = std::min<int64_t>(block, all - position_);
  if (file_) {
    if (Status st = read(frame.samples.data(), n); !st.ok()) {
      error_ = st;
      return std::nullopt;
    }
  } else {
    std::copy_n(data_.samples.begin() + static_cast<std::ptrdiff_t>(position_ * data_.channels),
                static_cast<std::ptrdiff_t>(n * data_.channels), frame.samples.begin());
  }
  position_ += n;
  frame.capture_time = now;
  frame.rtp_timestamp = rtp_timestamp_;
  rtp_timestamp_ += static_cast<uint32_t>(block);
  return frame;
}

}  // namespace tern::media
