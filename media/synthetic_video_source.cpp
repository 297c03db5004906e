#include "tern/media/synthetic_video_source.h"

#include <algorithm>
#include <cmath>

#include "tern/core/random.h"
#include "tern/media/frame_stamp.h"

namespace tern::media {
namespace {

constexpr int kTile = 256;

// Bounces a coordinate moving at constant speed between 0 and `span` (a triangle wave).
double bounce(double start, double speed, double t, double span) {
  if (span <= 0) return 0;
  double p = std::fmod(start + speed * t, 2 * span);
  if (p < 0) p += 2 * span;
  return p <= span ? p : 2 * span - p;
}

}  // namespace

Result<SyntheticVideoSource> SyntheticVideoSource::Create(const SyntheticVideoConfig& config) {
  if (config.width < 64 || config.width > 4096 || config.width % 2 != 0) {
    return Error{"synthetic video: width must be even, 64..4096"};
  }
  if (config.height < 40 || config.height > 4096 || config.height % 2 != 0) {
    return Error{"synthetic video: height must be even, 40..4096"};
  }
  if (!(config.fps >= 1.0 && config.fps <= 120.0)) return Error{"synthetic video: fps must be 1..120"};
  return SyntheticVideoSource(config);
}

SyntheticVideoSource::SyntheticVideoSource(const SyntheticVideoConfig& config) : config_(config) {
  Random rng(config.seed);
  // Texture: random values smoothed once (3x3 box) plus a few sharp lines: detail at several
  // scales that an encoder must spend bits on, without per-frame noise.
  std::vector<uint8_t> raw(kTile * kTile);
  for (auto& v : raw) v = static_cast<uint8_t>(rng.uniform_int(0, 255));
  texture_.resize(kTile * kTile);
  for (int y = 0; y < kTile; ++y) {
    for (int x = 0; x < kTile; ++x) {
      int sum = 0;
      for (int dy = -1; dy <= 1; ++dy) {
        for (int dx = -1; dx <= 1; ++dx) sum += raw[static_cast<size_t>(((y + dy) & 255) * kTile + ((x + dx) & 255))];
      }
      int v = sum / 9;
      if (x % 32 == 0 || y % 48 == 0) v = 255 - v / 2;
      texture_[static_cast<size_t>(y * kTile + x)] = static_cast<uint8_t>(v);
    }
  }
  const int n_objects = 4;
  for (int i = 0; i < n_objects; ++i) {
    Object o{};
    o.w = static_cast<int>(config.width * rng.uniform(0.08, 0.2));
    o.h = static_cast<int>(config.height * rng.uniform(0.08, 0.2));
    o.x = rng.uniform(0, config.width - o.w);
    o.y = rng.uniform(0, config.height - o.h);
    o.vx = rng.uniform(-4, 4) * config.width / 320.0;  // pixels per frame
    o.vy = rng.uniform(-3, 3) * config.height / 240.0;
    o.luma = static_cast<uint8_t>(rng.uniform_int(40, 220));
    o.u = static_cast<uint8_t>(rng.uniform_int(60, 200));
    o.v = static_cast<uint8_t>(rng.uniform_int(60, 200));
    objects_.push_back(o);
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
  const auto t = static_cast<int>(frame_number);
  const int ox = t * 3;  // texture pan, pixels per frame
  const int oy = t;
  const int grad = t * 4;
  for (int y = 0; y < h; ++y) {
    uint8_t* row = frame.y.data() + static_cast<size_t>(y) * static_cast<size_t>(frame.stride_y);
    const uint8_t* tex = texture_.data() + static_cast<size_t>(((y + oy) & 255) * kTile);
    for (int x = 0; x < w; ++x) {
      int g = (x + y + grad) & 511;
      g = g < 256 ? g : 511 - g;  // triangle gradient 0..255
      row[x] = static_cast<uint8_t>((tex[(x + ox) & 255] + g) >> 1);
    }
  }
  const int cw = frame.chroma_width();
  const int ch = frame.chroma_height();
  for (int y = 0; y < ch; ++y) {
    uint8_t* u = frame.u.data() + static_cast<size_t>(y) * static_cast<size_t>(frame.stride_u);
    uint8_t* v = frame.v.data() + static_cast<size_t>(y) * static_cast<size_t>(frame.stride_v);
    for (int x = 0; x < cw; ++x) {
      u[x] = static_cast<uint8_t>(96 + ((x * 64 / cw + t) & 63));
      v[x] = static_cast<uint8_t>(96 + ((y * 64 / ch + 2 * t) & 63));
    }
  }
  for (const Object& o : objects_) {
    const int x0 = static_cast<int>(bounce(o.x, o.vx, t, w - o.w));
    const int y0 = static_cast<int>(bounce(o.y, o.vy, t, h - o.h));
    for (int y = y0; y < y0 + o.h && y < h; ++y) {
      uint8_t* row = frame.y.data() + static_cast<size_t>(y) * static_cast<size_t>(frame.stride_y);
      for (int x = x0; x < x0 + o.w && x < w; ++x) {
        // Stripes inside the object keep it textured (edges for SSIM, motion for the encoder).
        row[x] = static_cast<uint8_t>(((x - x0) / 4 + (y - y0) / 4) % 2 ? o.luma : o.luma / 2);
      }
    }
    for (int y = y0 / 2; y < (y0 + o.h) / 2 && y < ch; ++y) {
      std::fill_n(frame.u.data() + static_cast<size_t>(y) * static_cast<size_t>(frame.stride_u) + x0 / 2,
                  std::min(o.w / 2, cw - x0 / 2), o.u);
      std::fill_n(frame.v.data() + static_cast<size_t>(y) * static_cast<size_t>(frame.stride_v) + x0 / 2,
                  std::min(o.w / 2, cw - x0 / 2), o.v);
    }
  }
  if (config_.stamp) FrameStamp::write(frame, frame_number);
}

}  // namespace tern::media
