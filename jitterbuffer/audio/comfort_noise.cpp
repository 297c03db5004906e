#include "tern/jitterbuffer/audio/comfort_noise.h"

#include <algorithm>
#include <cmath>

namespace tern::jitterbuffer {

void ComfortNoise::update_level(std::span<const int16_t> pcm) {
  if (pcm.empty()) return;
  double energy = 0;
  for (int16_t s : pcm) energy += static_cast<double>(s) * s;
  const double rms = std::sqrt(energy / static_cast<double>(pcm.size()));
  // Comfort noise imitates the background, so track the quiet end: fall fast, rise slowly.
  rms_ = rms < rms_ ? rms : rms_ * 0.9 + rms * 0.1;
  rms_ = std::clamp(rms_, 3.0, 100.0);  // -80 .. -50 dBFS
}

void ComfortNoise::generate(std::span<int16_t> out, int channels, int sample_rate_hz, int16_t last_sample) {
  const int fade = active_ ? 0 : std::max(1, sample_rate_hz / 400);
  const size_t frames = out.size() / static_cast<size_t>(std::max(channels, 1));
  for (size_t i = 0; i < frames; ++i) {
    state_ = state_ * 1664525u + 1013904223u;  // LCG: plenty for noise
    const double white = (static_cast<double>(state_ >> 8) / 8388608.0 - 1.0) * 1.7 * rms_;
    lowpass_ = 0.6 * lowpass_ + 0.4 * white;
    double v = lowpass_ * 1.6;
    if (static_cast<int>(i) < fade) {
      const double w = static_cast<double>(i) / fade;
      v = static_cast<double>(last_sample) * (1.0 - w) + v * w;
    }
    const auto s = static_cast<int16_t>(std::lround(std::clamp(v, -32768.0, 32767.0)));
    for (int c = 0; c < channels; ++c) out[i * static_cast<size_t>(channels) + static_cast<size_t>(c)] = s;
  }
  active_ = true;
}

}  // namespace tern::jitterbuffer
