#include "tern/media/ivf_file.h"

#include <cstring>

#include "tern/media/little_endian.h"

namespace tern::media {
namespace {
constexpr size_t kHeaderBytes = 32;
constexpr size_t kFrameHeaderBytes = 12;
}  // namespace

Result<IvfData> parse_ivf(std::span<const uint8_t> file, size_t max_frames, size_t max_frame_bytes) {
  LeReader r(file);
  const auto magic = r.bytes(4);
  if (magic.size() != 4 || std::memcmp(magic.data(), "DKIF", 4) != 0) return Error{"ivf: bad signature"};
  const uint16_t version = r.u16();
  const uint16_t header_size = r.u16();
  const auto fourcc = r.bytes(4);
  IvfData out;
  out.width = r.u16();
  out.height = r.u16();
  out.timebase_den = r.u32();
  out.timebase_num = r.u32();
  r.u32();  // frame count: often 0 in live captures; frames are counted instead
  r.u32();  // unused
  if (!r.ok()) return Error{"ivf: header truncated"};
  if (version != 0) return Error{"ivf: unknown version"};
  if (header_size < kHeaderBytes) return Error{"ivf: header size too small"};
  if (!r.skip(header_size - kHeaderBytes)) return Error{"ivf: header truncated"};
  if (std::memcmp(fourcc.data(), "VP80", 4) == 0) {
    out.codec = codecs::CodecType::kVp8;
  } else if (std::memcmp(fourcc.data(), "VP90", 4) == 0) {
    out.codec = codecs::CodecType::kVp9;
  } else {
    return Error{"ivf: unsupported codec"};
  }
  if (out.timebase_den == 0 || out.timebase_num == 0) return Error{"ivf: zero time base"};
  // Each iteration consumes a 12-byte header, bounded by the file size.
  while (r.remaining() > 0 && out.frames.size() < max_frames) {
    if (r.remaining() < kFrameHeaderBytes) return Error{"ivf: frame header truncated"};
    const uint32_t size = r.u32();
    const uint64_t pts = r.u64();
    if (size > max_frame_bytes) return Error{"ivf: frame too large"};
    if (size > r.remaining()) return Error{"ivf: frame truncated"};
    const auto data = r.bytes(size);
    out.frames.push_back(IvfFrame{static_cast<int64_t>(pts), std::vector<uint8_t>(data.begin(), data.end())});
  }
  return out;
}

Result<IvfWriter> IvfWriter::Create(codecs::CodecType codec, int width, int height, size_t max_bytes) {
  if (codec != codecs::CodecType::kVp8 && codec != codecs::CodecType::kVp9) return Error{"ivf writer: VP8 or VP9 only"};
  if (width < 1 || width > 65535 || height < 1 || height > 65535) return Error{"ivf writer: size out of range"};
  IvfWriter w(max_bytes);
  put_tag(w.bytes_, "DKIF");
  put_le16(w.bytes_, 0);
  put_le16(w.bytes_, kHeaderBytes);
  put_tag(w.bytes_, codec == codecs::CodecType::kVp8 ? "VP80" : "VP90");
  put_le16(w.bytes_, static_cast<uint16_t>(width));
  put_le16(w.bytes_, static_cast<uint16_t>(height));
  put_le32(w.bytes_, 90000);  // time base denominator (rate)
  put_le32(w.bytes_, 1);      // numerator (scale)
  put_le32(w.bytes_, 0);      // frame count, patched as frames arrive
  put_le32(w.bytes_, 0);
  return w;
}

Status IvfWriter::add_frame(std::span<const uint8_t> data, uint32_t rtp_timestamp) {
  if (data.empty()) return Error{"ivf writer: empty frame"};
  if (data.size() > 0xFFFFFFFFu || bytes_.size() + kFrameHeaderBytes + data.size() > max_bytes_) {
    return Error{"ivf writer: size limit reached"};
  }
  const int64_t unwrapped = unwrapper_.unwrap(rtp_timestamp);
  if (frames_ == 0) first_ = unwrapped;
  put_le32(bytes_, static_cast<uint32_t>(data.size()));
  put_le64(bytes_, static_cast<uint64_t>(unwrapped - first_));
  bytes_.insert(bytes_.end(), data.begin(), data.end());
  ++frames_;
  for (int i = 0; i < 4; ++i) bytes_[24 + static_cast<size_t>(i)] = static_cast<uint8_t>(frames_ >> (8 * i));
  return Status::Ok();
}

}  // namespace tern::media
