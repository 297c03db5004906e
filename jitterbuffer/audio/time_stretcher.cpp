#include "tern/jitterbuffer/audio/time_stretcher.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdlib>

namespace tern::jitterbuffer {
namespace {

constexpr int kDecimation = 4;  // coarse lag search at a quarter of the rate, refined at full rate

// Normalised cross-correlation of x[0, lag) and x[lag, 2 lag), stepping by `step` samples.
double correlation(const std::vector<float>& x, int lag, int step) {
  double xy = 0, xx = 0, yy = 0;
  for (int i = 0; i < lag; i += step) {
    const double a = x[static_cast<size_t>(i)];
    const double b = x[static_cast<size_t>(i + lag)];
    xy += a * b;
    xx += a * a;
    yy += b * b;
  }
  if (xx <= 0 || yy <= 0) return 0;
  return xy / std::sqrt(xx * yy);
}

int16_t mix(int16_t a, int16_t b, double w) {
  const double v = static_cast<double>(a) * (1.0 - w) + static_cast<double>(b) * w;
  return static_cast<int16_t>(std::lround(std::clamp(v, -32768.0, 32767.0)));
}

}  // namespace

int TimeStretcher::find_splice_lag(const std::vector<int16_t>& pcm, int channels, int sample_rate_hz) {
  if (channels < 1 || sample_rate_hz < 8000) return 0;
  const int frames = static_cast<int>(pcm.size()) / channels;
  const int min_lag = sample_rate_hz / 400;           // 2.5 ms
  const int max_lag = std::min(sample_rate_hz * 3 / 200, frames / 2);  // 15 ms or half the input
  if (max_lag < min_lag) return 0;

  std::vector<float> mono(static_cast<size_t>(2 * max_lag));
  double level = 0;
  for (int i = 0; i < 2 * max_lag; ++i) {
    int sum = 0;
    for (int c = 0; c < channels; ++c) sum += pcm[static_cast<size_t>(i * channels + c)];
    mono[static_cast<size_t>(i)] = static_cast<float>(sum) / static_cast<float>(channels);
    level += std::abs(mono[static_cast<size_t>(i)]);
  }
  if (level / (2.0 * max_lag) < kSilenceLevel) return max_lag;  // silence: splice the most we may

  // Coarse search on every kDecimation-th lag and sample, then refine around the winner.
  int best = 0;
  double best_corr = -2;
  for (int lag = min_lag; lag <= max_lag; lag += kDecimation) {
    const double c = correlation(mono, lag, kDecimation);
    if (c > best_corr) {
      best_corr = c;
      best = lag;
    }
  }
  const int lo = std::max(min_lag, best - kDecimation + 1);
  const int hi = std::min(max_lag, best + kDecimation - 1);
  best_corr = -2;
  for (int lag = lo; lag <= hi; ++lag) {
    const double c = correlation(mono, lag, 1);
    if (c > best_corr) {
      best_corr = c;
      best = lag;
    }
  }
  return best_corr >= kCorrelationThreshold ? best : 0;
}

int TimeStretcher::accelerate(std::vector<int16_t>& pcm, int channels, int sample_rate_hz) {
  const int lag = find_splice_lag(pcm, channels, sample_rate_hz);
  if (lag == 0) return 0;
  // x[0, L) fades into x[L, 2L): the result starts like x[0] and ends like x[2L - 1], so both
  // seams continue the waveform; x[2L, ...) follows unchanged.
  for (int i = 0; i < lag; ++i) {
    const double w = static_cast<double>(i) / lag;
    for (int c = 0; c < channels; ++c) {
      const size_t a = static_cast<size_t>(i * channels + c);
      const size_t b = static_cast<size_t>((i + lag) * channels + c);
      pcm[a] = mix(pcm[a], pcm[b], w);
    }
  }
  const auto first = pcm.begin() + static_cast<ptrdiff_t>(lag) * channels;
  pcm.erase(first, first + static_cast<ptrdiff_t>(lag) * channels);
  return lag;
}

int TimeStretcher::preemptive_expand(std::vector<int16_t>& pcm, int channels, int sample_rate_hz) {
  const int lag = find_splice_lag(pcm, channels, sample_rate_hz);
  if (lag == 0) return 0;
  // Inserted between x[0, L) and x[L, 2L): a period fading from x[L + i] (continuing x[L - 1])
  // into x[i] (which x[L] continues).
  std::vector<int16_t> inserted(static_cast<size_t>(lag) * static_cast<size_t>(channels));
  for (int i = 0; i < lag; ++i) {
    const double w = static_cast<double>(i + 1) / lag;
    for (int c = 0; c < channels; ++c) {
      inserted[static_cast<size_t>(i * channels + c)] =
          mix(pcm[static_cast<size_t>((i + lag) * channels + c)], pcm[static_cast<size_t>(i * channels + c)], w);
    }
  }
  pcm.insert(pcm.begin() + static_cast<ptrdiff_t>(lag) * channels, inserted.begin(), inserted.end());
  return lag;
}

}  // namespace tern::jitterbuffer
