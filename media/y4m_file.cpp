#include "tern/media/y4m_file.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

namespace tern::media {
namespace {

constexpr std::string_view kMagic = "YUV4MPEG2";
constexpr size_t kMaxHeaderLine = 4096;

// Reads a decimal integer that must fill `s`; false on anything else or overflow.
bool parse_int(std::string_view s, int& out) {
  if (s.empty() || s.size() > 9) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

// The line starting at pos (without '\n'), or nullopt when no '\n' follows within the limit.
std::optional<std::string_view> line_at(std::span<const uint8_t> file, size_t pos) {
  const size_t end = std::min(file.size(), pos + kMaxHeaderLine);
  for (size_t i = pos; i < end; ++i) {
    if (file[i] == '\n') return std::string_view(reinterpret_cast<const char*>(file.data()) + pos, i - pos);
  }
  return std::nullopt;
}

void copy_plane(std::vector<uint8_t>& out, const uint8_t* src, int stride, int w, int h) {
  for (int y = 0; y < h; ++y) {
    const uint8_t* row = src + static_cast<size_t>(y) * static_cast<size_t>(stride);
    out.insert(out.end(), row, row + w);
  }
}

}  // namespace

Result<Y4mData> parse_y4m(std::span<const uint8_t> file, size_t max_frames) {
  const auto header = line_at(file, 0);
  if (!header) return Error{"y4m: no header line"};
  if (header->substr(0, kMagic.size()) != kMagic) return Error{"y4m: bad magic"};
  Y4mData out;
  size_t p = kMagic.size();
  // Tokens are separated by single spaces; each iteration consumes one token.
  while (p < header->size()) {
    if ((*header)[p] != ' ') return Error{"y4m: malformed header"};
    ++p;
    const size_t end = std::min(header->find(' ', p), header->size());
    const std::string_view tok = header->substr(p, end - p);
    p = end;
    if (tok.empty()) return Error{"y4m: empty header token"};
    const std::string_view value = tok.substr(1);
    switch (tok[0]) {
      case 'W':
        if (!parse_int(value, out.width)) return Error{"y4m: bad width"};
        break;
      case 'H':
        if (!parse_int(value, out.height)) return Error{"y4m: bad height"};
        break;
      case 'F': {
        const size_t colon = value.find(':');
        if (colon == std::string_view::npos || !parse_int(value.substr(0, colon), out.fps_num) ||
            !parse_int(value.substr(colon + 1), out.fps_den) || out.fps_num < 1 || out.fps_den < 1) {
          return Error{"y4m: bad frame rate"};
        }
        break;
      }
      case 'I':
        if (value != "p" && value != "?") return Error{"y4m: interlaced video is not supported"};
        break;
      case 'C':
        if (value != "420" && value != "420jpeg" && value != "420paldv" && value != "420mpeg2") {
          return Error{"y4m: only 8-bit 4:2:0 is supported"};
        }
        break;
      default:  // A (aspect), X (extensions) and unknown tags are ignored
        break;
    }
  }
  if (out.width < 2 || out.width > 16384 || out.height < 2 || out.height > 16384) {
    return Error{"y4m: missing or out-of-range size"};
  }
  const size_t cw = static_cast<size_t>((out.width + 1) / 2);
  const size_t ch = static_cast<size_t>((out.height + 1) / 2);
  const size_t luma = static_cast<size_t>(out.width) * static_cast<size_t>(out.height);
  const size_t frame_bytes = luma + 2 * cw * ch;
  size_t pos = header->size() + 1;
  // Each iteration consumes at least one frame of payload, bounded by the file size.
  while (pos < file.size() && out.frames.size() < max_frames) {
    const auto line = line_at(file, pos);
    if (!line || line->substr(0, 5) != "FRAME") return Error{"y4m: bad frame header"};
    pos += line->size() + 1;
    if (file.size() - pos < frame_bytes) return Error{"y4m: frame truncated"};
    codecs::VideoFrame f = codecs::VideoFrame::Allocate(out.width, out.height);
    std::memcpy(f.y.data(), file.data() + pos, luma);
    std::memcpy(f.u.data(), file.data() + pos + luma, cw * ch);
    std::memcpy(f.v.data(), file.data() + pos + luma + cw * ch, cw * ch);
    pos += frame_bytes;
    out.frames.push_back(std::move(f));
  }
  return out;
}

Result<Y4mWriter> Y4mWriter::Create(int width, int height, int fps_num, int fps_den, size_t max_bytes) {
  if (width < 2 || width > 16384 || height < 2 || height > 16384) return Error{"y4m writer: size out of range"};
  if (fps_num < 1 || fps_den < 1) return Error{"y4m writer: frame rate must be positive"};
  Y4mWriter w(width, height, max_bytes);
  const std::string header = "YUV4MPEG2 W" + std::to_string(width) + " H" + std::to_string(height) + " F" +
                             std::to_string(fps_num) + ":" + std::to_string(fps_den) + " Ip A1:1 C420jpeg\n";
  w.bytes_.assign(header.begin(), header.end());
  return w;
}

Status Y4mWriter::append(const codecs::VideoFrame& frame) {
  if (!frame.is_valid() || frame.width != width_ || frame.height != height_) {
    return Error{"y4m writer: frame size differs from the file's"};
  }
  const size_t need = 6 + static_cast<size_t>(width_) * static_cast<size_t>(height_) +
                      2 * static_cast<size_t>(frame.chroma_width()) * static_cast<size_t>(frame.chroma_height());
  if (bytes_.size() + need > max_bytes_) return Error{"y4m writer: size limit reached"};
  static constexpr char kFrame[] = "FRAME\n";
  bytes_.insert(bytes_.end(), kFrame, kFrame + 6);
  copy_plane(bytes_, frame.y.data(), frame.stride_y, width_, height_);
  copy_plane(bytes_, frame.u.data(), frame.stride_u, frame.chroma_width(), frame.chroma_height());
  copy_plane(bytes_, frame.v.data(), frame.stride_v, frame.chroma_width(), frame.chroma_height());
  ++frames_;
  return Status::Ok();
}

std::optional<codecs::VideoFrame> Y4mFileSource::next_frame(Timestamp now) {
  if (data_.frames.empty()) return std::nullopt;
  if (!start_) start_ = now;
  const int64_t n = frame_count();
  if (!loop_ && index_ >= n) return std::nullopt;
  if (now < *start_ + offset(index_)) return std::nullopt;
  codecs::VideoFrame f = data_.frames[static_cast<size_t>(index_ % n)];
  f.capture_time = *start_ + offset(index_);
  f.rtp_timestamp = static_cast<uint32_t>(index_ * 90000 * data_.fps_den / data_.fps_num);
  ++index_;
  return f;
}

Timestamp Y4mFileSource::next_capture_time() const {
  if (!start_ || ended()) return Timestamp::PlusInfinity();
  return *start_ + offset(index_);
}

}  // namespace tern::media
