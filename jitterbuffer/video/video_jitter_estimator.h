// Video jitter estimator: a two-state Kalman filter over frame delay, in the spirit of libwebrtc's
// VCMJitterEstimator. The delay of frame i relative to frame i-1,
//   d_i = (receive_i - receive_{i-1}) - (capture_i - capture_{i-1}),
// is modelled as d_i = slope * (size_i - size_{i-1}) + offset + noise: the slope is the inverse of
// the channel capacity (large frames take longer to arrive), the noise is network jitter. The
// jitter estimate is the extra delay a large frame needs, slope * (max size - average size), plus
// about 2.33 standard deviations of the noise (99% one-sided).
#pragma once

#include <cstdint>

#include "tern/core/units.h"

namespace tern::jitterbuffer {

class VideoJitterEstimator {
 public:
  VideoJitterEstimator() { reset(); }

  // One frame's delay relative to the previous frame, and its size.
  void update(TimeDelta frame_delay, DataSize frame_size);
  // Current jitter estimate (>= 0).
  TimeDelta estimate() const;
  void reset();

  double slope_ms_per_byte() const { return theta_[0]; }
  double noise_stddev_ms() const;
  uint64_t samples() const { return samples_; }

 private:
  double theta_[2];      // slope (ms/byte), offset (ms)
  double cov_[2][2];     // state covariance
  double avg_noise_ms_;
  double var_noise_ms2_;
  double avg_frame_size_;
  double max_frame_size_;
  double prev_frame_size_;
  uint64_t samples_;
};

}  // namespace tern::jitterbuffer
