// Helpers shared by the codecs tests: a synthetic moving picture, PSNR, a sine source and signal
// comparison with delay search.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "tern/codecs/audio_frame.h"
#include "tern/codecs/video_frame.h"

namespace tern::codecs::test {

// A textured gradient background with a bright square moving across it, frame `index`.
inline VideoFrame MovingPattern(int width, int height, int index) {
  VideoFrame f = VideoFrame::Allocate(width, height);
  const int sq = height / 4;
  const int sx = (index * 4) % std::max(1, width - sq);
  const int sy = (index * 2) % std::max(1, height - sq);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      int v = (x + y + index) % 200 + 16;
      v += ((x / 8 + y / 8) % 2) * 20;  // checkerboard texture
      if (x >= sx && x < sx + sq && y >= sy && y < sy + sq) v = 230;
      f.y[static_cast<std::size_t>(y * f.stride_y + x)] = static_cast<uint8_t>(std::min(v, 255));
    }
  }
  for (int y = 0; y < f.chroma_height(); ++y) {
    for (int x = 0; x < f.chroma_width(); ++x) {
      f.u[static_cast<std::size_t>(y * f.stride_u + x)] = static_cast<uint8_t>(96 + (x + index) % 64);
      f.v[static_cast<std::size_t>(y * f.stride_v + x)] = static_cast<uint8_t>(96 + (y + index) % 64);
    }
  }
  f.rtp_timestamp = static_cast<uint32_t>(index * 3000);
  return f;
}

// PSNR of the luma plane in dB (99 for identical pictures).
inline double LumaPsnr(const VideoFrame& a, const VideoFrame& b) {
  if (a.width != b.width || a.height != b.height) return 0.0;
  double sse = 0;
  for (int y = 0; y < a.height; ++y) {
    for (int x = 0; x < a.width; ++x) {
      const double d = double(a.y[static_cast<std::size_t>(y * a.stride_y + x)]) -
                       double(b.y[static_cast<std::size_t>(y * b.stride_y + x)]);
      sse += d * d;
    }
  }
  const double mse = sse / (double(a.width) * a.height);
  return mse <= 1e-9 ? 99.0 : 10.0 * std::log10(255.0 * 255.0 / mse);
}

// `count` mono or stereo frames of a sine at `hz`, amplitude `amp`, starting at sample `start`.
inline AudioFrame SineFrame(int sample_rate, int channels, int samples, int64_t start, double hz, double amp) {
  AudioFrame f = AudioFrame::Silence(sample_rate, channels, samples);
  for (int i = 0; i < samples; ++i) {
    const double t = double(start + i) / sample_rate;
    const auto s = static_cast<int16_t>(std::lround(amp * std::sin(2 * 3.14159265358979 * hz * t)));
    for (int c = 0; c < channels; ++c) f.samples[static_cast<std::size_t>(i * channels + c)] = s;
  }
  f.rtp_timestamp = static_cast<uint32_t>(start);
  return f;
}

// Speech-like mono frame: a 140 Hz voiced buzz (12 harmonics) with a 3 Hz syllable envelope and
// a little noise, so that SILK's voice activity detection treats it as speech.
inline AudioFrame SpeechLikeFrame(int samples, int64_t start, uint64_t seed) {
  AudioFrame f = AudioFrame::Silence(48000, 1, samples);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(start);
  for (int i = 0; i < samples; ++i) {
    const double t = double(start + i) / 48000.0;
    const double env = 0.6 + 0.4 * std::sin(2 * 3.14159265358979 * 3 * t);
    double s = 0;
    for (int h = 1; h <= 12; ++h) s += std::sin(2 * 3.14159265358979 * 140 * h * t) / h;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const double noise = double(x % 600) - 300.0;
    f.samples[static_cast<std::size_t>(i)] = static_cast<int16_t>(std::lround(env * 3000 * s + noise));
  }
  f.rtp_timestamp = static_cast<uint32_t>(start);
  return f;
}

inline double Energy(const std::vector<int16_t>& s) {
  double e = 0;
  for (int16_t v : s) e += double(v) * v;
  return s.empty() ? 0.0 : e / double(s.size());
}

// Best normalised correlation of `out` against `ref` delayed by min_lag..max_lag samples, over
// `len` samples starting at `from` in ref; reports the lag found.
inline double BestCorrelation(const std::vector<int16_t>& ref, const std::vector<int16_t>& out, int from, int len,
                              int min_lag, int max_lag, int* lag_out) {
  double best = -1.0;
  for (int lag = min_lag; lag <= max_lag; ++lag) {
    if (static_cast<std::size_t>(from + lag + len) > out.size() || static_cast<std::size_t>(from + len) > ref.size()) break;
    double xy = 0, xx = 0, yy = 0;
    for (int i = 0; i < len; ++i) {
      const double x = ref[static_cast<std::size_t>(from + i)];
      const double y = out[static_cast<std::size_t>(from + lag + i)];
      xy += x * y;
      xx += x * x;
      yy += y * y;
    }
    const double c = (xx > 0 && yy > 0) ? xy / std::sqrt(xx * yy) : 0.0;
    if (c > best) {
      best = c;
      if (lag_out) *lag_out = lag;
    }
  }
  return best;
}

}  // namespace tern::codecs::test
