#include "tern/media/synthetic_video_source.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "tern/core/random.h"
#include "tern/media/frame_stamp.h"

namespace tern::media {
namespace {

constexpr int kPeriod = 256;  // luma background period (a power of two: offsets by masking)
constexpr int kMask = kPeriod - 1;
constexpr int kChromaPeriod = kPeriod / 2;

// Bounces a coordinate moving at constant speed between 0 and `span` (a triangle wave).
double bounce(double start, double speed, double t, double span) {
  if (span <= 0) return 0;
  double p = std::fmod(start + speed * t, 2 * span);
  if (p < 0) p += 2 * span;
  return p <= span ? p : 2 * span - p;
}

// Triangle wave 0..255..0 over `period` steps (a power of two up to 512).
int triangle(int i, int period) {
  const int g = (i * (512 / period)) & 511;
  return g < 256 ? g : 511 - g;
}

void copy_row(uint8_t* dst, const uint8_t* src, int n) { std::memcpy(dst, src, static_cast<size_t>(n)); }

}  // namespace

Status SyntheticVideoSource::Validate(const SyntheticVideoConfig& config) {
  if (config.width < 64 || config.width > 4096 || config.width % 2 != 0) {
    return Error{"synthetic video: width must be even, 64..4096"};
  }
  if (config.height < 40 || config.height > 4096 || config.height % 2 != 0) {
    return Error{"synthetic video: height must be even, 40..4096"};
  }
  if (!(config.fps >= 1.0 && config.fps <= 120.0)) return Error{"synthetic video: fps must be 1..120"};
  return Status();
}

Result<SyntheticVideoSource> SyntheticVideoSource::Create(const SyntheticVideoConfig& config) {
  if (Status s = Validate(config); !s.ok()) return Error{s.error()};
  return SyntheticVideoSource(config);
}

SyntheticVideoSource::SyntheticVideoSource(const SyntheticVideoConfig& config) : config_(config) {
  Random rng(config.seed);
  // One period of texture: random values smoothed (3x3 box) plus coarse 8x8 blobs and a few sharp
  // lines: detail at several scales that an encoder must spend bits on, without per-frame noise.
  std::vector<uint8_t> raw(kPeriod * kPeriod);
  for (auto& v : raw) v = static_cast<uint8_t>(rng.uniform_int(0, 255));
  std::vector<uint8_t> coarse((kPeriod / 8) * (kPeriod / 8));
  for (auto& v : coarse) v = static_cast<uint8_t>(rng.uniform_int(0, 255));
  std::vector<uint8_t> tile(kPeriod * kPeriod);
  for (int y = 0; y < kPeriod; ++y) {
    for (int x = 0; x < kPeriod; ++x) {
      int sum = 0;
      for (int dy = -1; dy <= 1; ++dy) {
        for (int dx = -1; dx <= 1; ++dx) sum += raw[static_cast<size_t>(((y + dy) & kMask) * kPeriod + ((x + dx) & kMask))];
      }
      int v = (sum / 9 + coarse[static_cast<size_t>((y / 8) * (kPeriod / 8) + x / 8)]) / 2;
      if (x % 32 == 0 || y % 64 == 0) v = 255 - v / 2;
      tile[static_cast<size_t>(y * kPeriod + x)] = static_cast<uint8_t>(v);
    }
  }
  // Luma background: texture averaged with a diagonal gradient, both periodic in kPeriod.
  const int w = config.width;
  const int h = config.height;
  bg_stride_y_ = w + kPeriod;
  const int bg_h = kPeriod;  // periodic in y too: one period of rows, read modulo kPeriod
  bg_y_.resize(static_cast<size_t>(bg_stride_y_) * static_cast<size_t>(bg_h));
  for (int y = 0; y < bg_h; ++y) {
    uint8_t* row = bg_y_.data() + static_cast<size_t>(y) * static_cast<size_t>(bg_stride_y_);
    const uint8_t* t = tile.data() + static_cast<size_t>((y & kMask) * kPeriod);
    for (int x = 0; x < bg_stride_y_; ++x) row[x] = static_cast<uint8_t>((t[x & kMask] + triangle(x + y, kPeriod)) >> 1);
  }
  // Chroma background: slow colour ramps with a little of the texture, periodic in kPeriod / 2.
  const int cw = (w + 1) / 2;
  bg_stride_c_ = cw + kChromaPeriod;
  const int bg_ch = kChromaPeriod;
  bg_u_.resize(static_cast<size_t>(bg_stride_c_) * static_cast<size_t>(bg_ch));
  bg_v_.resize(bg_u_.size());
  for (int y = 0; y < bg_ch; ++y) {
    const size_t off = static_cast<size_t>(y) * static_cast<size_t>(bg_stride_c_);
    const int ty = (2 * y) & kMask;
    for (int x = 0; x < bg_stride_c_; ++x) {
      const int detail = tile[static_cast<size_t>(ty * kPeriod + ((2 * x) & kMask))] >> 4;  // 0..15
      bg_u_[off + static_cast<size_t>(x)] = static_cast<uint8_t>(88 + (triangle(x, kChromaPeriod) >> 2) + detail);
      bg_v_[off + static_cast<size_t>(x)] = static_cast<uint8_t>(88 + (triangle(y + kChromaPeriod / 4, kChromaPeriod) >> 2) + 15 - detail);
    }
  }
  const int n_objects = 4;
  for (int i = 0; i < n_objects; ++i) {
    Object o{};
    o.w = std::max(2, static_cast<int>(w * rng.uniform(0.08, 0.2)));
    o.h = std::max(2, static_cast<int>(h * rng.uniform(0.08, 0.2)));
    o.x = rng.uniform(0, w - o.w);
    o.y = rng.uniform(0, h - o.h);
    o.vx = rng.uniform(-4, 4) * w / 320.0;  // pixels per frame
    o.vy = rng.uniform(-3, 3) * h / 240.0;
    const auto luma = static_cast<uint8_t>(rng.uniform_int(40, 220));
    o.u = static_cast<uint8_t>(rng.uniform_int(60, 200));
    o.v = static_cast<uint8_t>(rng.uniform_int(60, 200));
    // 4x4 checker stripes keep the object textured (edges for SSIM, motion for the encoder).
    o.stripes.resize(static_cast<size_t>(2 * o.w));
    for (int x = 0; x < o.w; ++x) {
      const bool odd = (x / 4) % 2 != 0;
      o.stripes[static_cast<size_t>(x)] = odd ? luma : static_cast<uint8_t>(luma / 2);
      o.stripes[static_cast<size_t>(o.w + x)] = odd ? static_cast<uint8_t>(luma / 2) : luma;
    }
    objects_.push_back(std::move(o));
  }
}

Timestamp SyntheticVideoSource::next_capture_time() const {
  if (!start_) return Timestamp::PlusInfinity();
  return *start_ + TimeDelta::SecondsF(static_cast<double>(next_index_) / config_.fps);
}

std::optional<codecs::VideoFrame> SyntheticVideoSource::next_frame(Timestamp now) {
  if (!start_) start_ = now;
  if (now < next_capture_time()) return std::nullopt;
  // Latest due index: floor((now - start) * fps), never behind next_index_.
  const int64_t due = static_cast<int64_t>(std::floor((now - *start_).seconds_f() * config_.fps + 1e-9));
  const int64_t index = std::max(next_index_, due);
  next_index_ = index + 1;
  codecs::VideoFrame frame = render(static_cast<uint32_t>(index));
  const TimeDelta offset = TimeDelta::SecondsF(static_cast<double>(index) / config_.fps);
  frame.capture_time = *start_ + offset;
  frame.rtp_timestamp = static_cast<uint32_t>((offset.us() * 9 + 50) / 100);  // 90 kHz
  return frame;
}

codecs::VideoFrame SyntheticVideoSource::render(uint32_t frame_number) const {
  codecs::VideoFrame frame = codecs::VideoFrame::Allocate(config_.width, config_.height);
  render_into(frame_number, frame);
  return frame;
}

void SyntheticVideoSource::render_into(uint32_t frame_number, codecs::VideoFrame& frame) const {
  if (frame.width != config_.width || frame.height != config_.height || !frame.is_valid()) {
    frame = codecs::VideoFrame::Allocate(config_.width, config_.height);
  }
  const int w = config_.width;
  const int h = config_.height;
  const int cw = frame.chroma_width();
  const int ch = frame.chroma_height();
  // Pan of 3 px right and 1 px down per frame, within one background period.
  const uint64_t t = frame_number;
  const int ox = static_cast<int>((3 * t) & kMask);
  const int oy = static_cast<int>(t & kMask);
  for (int y = 0; y < h; ++y) {
    copy_row(frame.y.data() + static_cast<size_t>(y) * static_cast<size_t>(frame.stride_y),
             bg_y_.data() + static_cast<size_t>((y + oy) & kMask) * static_cast<size_t>(bg_stride_y_) + static_cast<size_t>(ox), w);
  }
  const int cox = ox / 2;
  const int coy = oy / 2;
  for (int y = 0; y < ch; ++y) {
    const size_t src = static_cast<size_t>((y + coy) & (kChromaPeriod - 1)) * static_cast<size_t>(bg_stride_c_) +
                       static_cast<size_t>(cox);
    copy_row(frame.u.data() + static_cast<size_t>(y) * static_cast<size_t>(frame.stride_u), bg_u_.data() + src, cw);
    copy_row(frame.v.data() + static_cast<size_t>(y) * static_cast<size_t>(frame.stride_v), bg_v_.data() + src, cw);
  }
  for (const Object& o : objects_) {
    const int x0 = static_cast<int>(bounce(o.x, o.vx, static_cast<double>(t), w - o.w));
    const int y0 = static_cast<int>(bounce(o.y, o.vy, static_cast<double>(t), h - o.h));
    const int span = std::min(o.w, w - x0);
    for (int y = y0; y < y0 + o.h && y < h; ++y) {
      const int phase = ((y - y0) / 4) % 2;
      copy_row(frame.y.data() + static_cast<size_t>(y) * static_cast<size_t>(frame.stride_y) + static_cast<size_t>(x0),
               o.stripes.data() + static_cast<size_t>(phase * o.w), span);
    }
    const int cspan = std::min(o.w / 2, cw - x0 / 2);
    for (int y = y0 / 2; y < (y0 + o.h) / 2 && y < ch; ++y) {
      std::fill_n(frame.u.data() + static_cast<size_t>(y) * static_cast<size_t>(frame.stride_u) + x0 / 2, cspan, o.u);
      std::fill_n(frame.v.data() + static_cast<size_t>(y) * static_cast<size_t>(frame.stride_v) + x0 / 2, cspan, o.v);
    }
  }
  if (config_.stamp) FrameStamp::write(frame, frame_number);
}

}  // namespace tern::media
