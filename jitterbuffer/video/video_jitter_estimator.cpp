#include "tern/jitterbuffer/video/video_jitter_estimator.h"

#include <algorithm>
#include <cmath>

namespace tern::jitterbuffer {
namespace {

constexpr double kProcessNoise[2] = {2.5e-10, 1e-10};  // slope, offset
constexpr double kNoiseStdDevs = 2.33;
constexpr double kOutlierStdDevs = 3.0;
constexpr double kMinNoiseVar = 1.0;        // ms^2: the estimate never trusts a perfect network
constexpr double kNoiseAlphaMax = 0.998;    // ~500 frames memory once warmed up
constexpr double kSizeAlpha = 0.97;
// The largest recent frame halves its weight in about 70 frames (~2 s at 30 fps): one big frame
// does not keep its extra transmission time in the target for minutes.
constexpr double kMaxSizeDecay = 0.99;
// A frame this many times the average size (a keyframe) is a one-off: it may arrive late once
// (a stutter) rather than every frame being held for it; it stays out of the size statistics.
constexpr double kSizeOutlierRatio = 3.0;
constexpr double kMaxJitterMs = 10000.0;

}  // namespace

void VideoJitterEstimator::reset() {
  // Start from a nearly free channel (libwebrtc's 1 / (512e3 / 8) in ms per byte): the size term
  // grows only when large frames really arrive late.
  theta_[0] = 1.0 / (512e3 / 8.0);
  theta_[1] = 0.0;
  cov_[0][0] = 1e-4;
  cov_[0][1] = cov_[1][0] = 0.0;
  cov_[1][1] = 1e2;
  avg_noise_ms_ = 0.0;
  var_noise_ms2_ = 4.0;
  avg_frame_size_ = 0.0;
  max_frame_size_ = 0.0;
  prev_frame_size_ = 0.0;
  samples_ = 0;
}

double VideoJitterEstimator::noise_stddev_ms() const { return std::sqrt(std::max(var_noise_ms2_, kMinNoiseVar)); }

void VideoJitterEstimator::update(TimeDelta frame_delay, DataSize frame_size) {
  const double size = static_cast<double>(frame_size.bytes());
  const double d = std::clamp(frame_delay.ms_f(), -kMaxJitterMs, kMaxJitterMs);
  if (samples_ == 0) {
    avg_frame_size_ = size;
    max_frame_size_ = size;
    prev_frame_size_ = size;
    ++samples_;
    return;
  }
  ++samples_;
  if (size <= kSizeOutlierRatio * avg_frame_size_) {
    avg_frame_size_ = kSizeAlpha * avg_frame_size_ + (1 - kSizeAlpha) * size;
    max_frame_size_ = std::max(kMaxSizeDecay * max_frame_size_, size);
  } else {
    max_frame_size_ *= kMaxSizeDecay;
  }
  const double ds = size - prev_frame_size_;
  prev_frame_size_ = size;

  // Predict.
  cov_[0][0] += kProcessNoise[0];
  cov_[1][1] += kProcessNoise[1];
  // Measurement h = [ds, 1].
  double residual = d - (theta_[0] * ds + theta_[1]);
  const double std_dev = noise_stddev_ms();
  const bool outlier = std::fabs(residual) > kOutlierStdDevs * std_dev;
  if (outlier) residual = std::copysign(kOutlierStdDevs * std_dev, residual);

  // Noise statistics (fast start: plain average over the first samples).
  const double alpha = std::min(kNoiseAlphaMax, static_cast<double>(samples_ - 1) / static_cast<double>(samples_));
  avg_noise_ms_ = alpha * avg_noise_ms_ + (1 - alpha) * residual;
  const double dev = residual - avg_noise_ms_;
  var_noise_ms2_ = std::max(alpha * var_noise_ms2_ + (1 - alpha) * dev * dev, kMinNoiseVar);

  // Kalman gain and update.
  const double ph0 = cov_[0][0] * ds + cov_[0][1];
  const double ph1 = cov_[1][0] * ds + cov_[1][1];
  const double s = ds * ph0 + ph1 + var_noise_ms2_;
  if (s < 1e-9) return;
  const double k0 = ph0 / s;
  const double k1 = ph1 / s;
  theta_[0] += k0 * residual;
  theta_[1] += k1 * residual;
  theta_[0] = std::max(theta_[0], 1e-6);  // a non-positive slope means an infinite capacity
  const double c00 = cov_[0][0] - k0 * (ds * cov_[0][0] + cov_[1][0]);
  const double c01 = cov_[0][1] - k0 * (ds * cov_[0][1] + cov_[1][1]);
  const double c10 = cov_[1][0] - k1 * (ds * cov_[0][0] + cov_[1][0]);
  const double c11 = cov_[1][1] - k1 * (ds * cov_[0][1] + cov_[1][1]);
  cov_[0][0] = std::max(c00, 0.0);
  cov_[0][1] = c01;
  cov_[1][0] = c10;
  cov_[1][1] = std::max(c11, 0.0);
}

TimeDelta VideoJitterEstimator::estimate() const {
  const double size_term = theta_[0] * std::max(max_frame_size_ - avg_frame_size_, 0.0);
  const double ms = std::clamp(size_term + kNoiseStdDevs * noise_stddev_ms(), 0.0, kMaxJitterMs);
  return TimeDelta::MillisF(ms);
}

}  // namespace tern::jitterbuffer
