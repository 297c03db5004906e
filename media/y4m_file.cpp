#include "tern/media/y4m_file.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

#include "tern/media/video_scaler.h"

namespace tern::media {
namespace {

constexpr std::string_view kMagic = "YUV4MPEG2";

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
  const size_t end = std::min(file.size(), pos + kMaxY4mLine);
  for (size_t i = pos; i < end; ++i) {
    if (file[i] == '\n') return std::string_view(reinterpret_cast<const char*>(file.data()) + pos, i - pos);
  }
  return std::nullopt;
}

// Reads one line (without its '\n') of at most kMaxY4mLine bytes: 1 read, 0 end of file before
// any byte, -1 a line cut short or too long.
int read_line(std::FILE* f, std::string& line) {
  line.clear();
  // Bounded by kMaxY4mLine.
  while (line.size() <= kMaxY4mLine) {
    const int c = std::fgetc(f);
    if (c == EOF) return line.empty() ? 0 : -1;
    if (c == '\n') return 1;
    line.push_back(static_cast<char>(c));
  }
  return -1;
}

void copy_plane(std::vector<uint8_t>& out, const uint8_t* src, int stride, int w, int h) {
  for (int y = 0; y < h; ++y) {
    const uint8_t* row = src + static_cast<size_t>(y) * static_cast<size_t>(stride);
    out.insert(out.end(), row, row + w);
  }
}

}  // namespace

size_t Y4mFormat::frame_bytes() const {
  const size_t cw = static_cast<size_t>((width + 1) / 2);
  const size_t ch = static_cast<size_t>((height + 1) / 2);
  return static_cast<size_t>(width) * static_cast<size_t>(height) + 2 * cw * ch;
}

Result<Y4mFormat> parse_y4m_header(std::string_view header) {
  if (header.substr(0, kMagic.size()) != kMagic) return Error{"y4m: bad magic"};
  Y4mFormat out;
  size_t p = kMagic.size();
  // Tokens are separated by single spaces; each iteration consumes one token.
  while (p < header.size()) {
    if (header[p] != ' ') return Error{"y4m: malformed header"};
    ++p;
    const size_t end = std::min(header.find(' ', p), header.size());
    const std::string_view tok = header.substr(p, end - p);
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
  return out;
}

namespace {

// The stream's format from its header line, without pictures.
Result<Y4mData> data_of_header(std::string_view line) {
  auto format = parse_y4m_header(line);
  if (!format) return Error{format.error()};
  Y4mData out;
  out.width = format->width;
  out.height = format->height;
  out.fps_num = format->fps_num;
  out.fps_den = format->fps_den;
  return out;
}

}  // namespace

Result<Y4mData> parse_y4m(std::span<const uint8_t> file, size_t max_frames) {
  const auto header = line_at(file, 0);
  if (!header) return Error{"y4m: no header line"};
  auto parsed = data_of_header(*header);
  if (!parsed) return Error{parsed.error()};
  Y4mData out = std::move(parsed.value());
  const size_t cw = static_cast<size_t>((out.width + 1) / 2);
  const size_t ch = static_cast<size_t>((out.height + 1) / 2);
  const size_t luma = static_cast<size_t>(out.width) * static_cast<size_t>(out.height);
  const size_t frame_bytes = Y4mFormat{out.width, out.height, out.fps_num, out.fps_den}.frame_bytes();
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
  bytes_.reserve(bytes_.size() + need);  // exactly: a writer emptied after each picture holds one
  bytes_.insert(bytes_.end(), kFrame, kFrame + 6);
  copy_plane(bytes_, frame.y.data(), frame.stride_y, width_, height_);
  copy_plane(bytes_, frame.u.data(), frame.stride_u, frame.chroma_width(), frame.chroma_height());
  copy_plane(bytes_, frame.v.data(), frame.stride_v, frame.chroma_width(), frame.chroma_height());
  ++frames_;
  return Status::Ok();
}

Result<Y4mFileWriter> Y4mFileWriter::Create(const std::string& path, int fps_num, int fps_den) {
  if (fps_num < 1 || fps_den < 1) return Error{"y4m writer: frame rate must be positive"};
  auto file = FileWriter::Create(path);
  if (!file) return Error{file.error()};
  return Y4mFileWriter(std::move(file.value()), fps_num, fps_den);
}

Status Y4mFileWriter::append(const codecs::VideoFrame& frame) {
  if (!error_.ok()) return error_;
  if (!frame.is_valid()) return Error{"y4m writer: invalid picture"};
  if (!writer_) {
    auto w = Y4mWriter::Create(frame.width, frame.height, fps_num_, fps_den_);
    if (!w) return Error{w.error()};
    writer_.emplace(std::move(w.value()));
    width_ = last_width_ = frame.width;
    height_ = last_height_ = frame.height;
  }
  if (frame.width != last_width_ || frame.height != last_height_) {
    ++changes_;
    last_width_ = frame.width;
    last_height_ = frame.height;
  }
  const codecs::VideoFrame* picture = &frame;
  if (frame.width != width_ || frame.height != height_) {
    if (Status sc = scale_picture(frame, width_, height_, scaled_picture_); !sc) {
      return Error{"y4m writer: cannot scale the picture"};
    }
    picture = &scaled_picture_;
  }
  Status st = writer_->append(*picture);
  if (st.ok()) st = file_.write(writer_->bytes());
  writer_->clear();
  if (!st.ok()) {
    error_ = st;
    return st;
  }
  ++frames_;
  if (picture != &frame) ++scaled_;
  return Status::Ok();
}

size_t Y4mFileWriter::buffered_bytes() const {
  const codecs::VideoFrame& s = scaled_picture_;
  return (writer_ ? writer_->bytes().capacity() : 0) + s.y.capacity() + s.u.capacity() + s.v.capacity();
}

Result<std::unique_ptr<Y4mFileSource>> Y4mFileSource::Open(const std::string& path, bool loop) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) return Error{"y4m: cannot open the file"};
  std::string line;
  if (read_line(f.get(), line) != 1) return Error{"y4m: no header line"};
  auto data = data_of_header(line);
  if (!data) return Error{data.error()};
  const size_t frame_bytes = Y4mFormat{data->width, data->height, 1, 1}.frame_bytes();
  std::unique_ptr<Y4mFileSource> src(new Y4mFileSource(std::move(data.value()), loop));
  src->data_start_ = std::ftell(f.get());
  if (src->data_start_ < 0 || std::fseek(f.get(), 0, SEEK_END) != 0) return Error{"y4m: cannot seek in the file"};
  const long size = std::ftell(f.get());
  if (size < 0 || std::fseek(f.get(), src->data_start_, SEEK_SET) != 0) return Error{"y4m: cannot seek in the file"};
  src->file_frames_ = (size - src->data_start_) / static_cast<long>(frame_bytes + 6);
  src->file_size_ = size;
  src->frame_bytes_ = frame_bytes;
  src->file_ = std::move(f);
  if (Status st = src->read_next(); !st.ok()) return Error{st.error()};
  if (!src->next_) return Error{"y4m: no frames"};
  return src;
}

Status Y4mFileSource::read_next() {
  next_.reset();
  std::string line;
  int got = read_line(file_.get(), line);
  if (got == 0 && loop_) {  // the end: from the first picture again (still nothing: no pictures)
    if (std::fseek(file_.get(), data_start_, SEEK_SET) != 0) return Error{"y4m: cannot seek in the file"};
    got = read_line(file_.get(), line);
  }
  if (got == 0) {
    if (std::ferror(file_.get())) return Error{"y4m: read error"};
    file_frames_ = loop_ ? file_frames_ : index_ + 1;  // the pictures there were (after this one)
    return Status::Ok();
  }
  if (got < 0 || line.substr(0, 5) != "FRAME") return Error{"y4m: bad frame header"};
  // A picture the file cannot hold is refused before its memory is taken (a lying header).
  const long at = std::ftell(file_.get());
  if (at < 0 || static_cast<uint64_t>(file_size_ - at) < frame_bytes_) return Error{"y4m: frame truncated"};
  codecs::VideoFrame f = codecs::VideoFrame::Allocate(data_.width, data_.height);
  for (std::vector<uint8_t>* plane : {&f.y, &f.u, &f.v}) {
    if (std::fread(plane->data(), 1, plane->size(), file_.get()) != plane->size()) {
      return Error{std::ferror(file_.get()) ? "y4m: read error" : "y4m: frame truncated"};
    }
  }
  next_ = std::move(f);
  return Status::Ok();
}

size_t Y4mFileSource::buffered_bytes() const {
  if (!next_) return 0;
  return next_->y.capacity() + next_->u.capacity() + next_->v.capacity();
}

std::optional<codecs::VideoFrame> Y4mFileSource::next_frame(Timestamp now) {
  if (frame_count() == 0 || !error_.ok()) return std::nullopt;
  if (!start_) start_ = now;
  const int64_t n = frame_count();
  if (!loop_ && index_ >= n) return std::nullopt;
  if (now < *start_ + offset(index_)) return std::nullopt;
  codecs::VideoFrame f;
  if (file_) {
    if (!next_) return std::nullopt;
    f = std::move(*next_);
    // A read that fails (a picture cut short) ends the stream after this one, with the reason.
    if (Status st = read_next(); !st.ok()) error_ = st;
  } else {
    f = data_.frames[static_cast<size_t>(index_ % n)];
  }
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
