// Delay-gradient trend estimator (libwebrtc's TrendlineEstimator, which replaced the Kalman filter
// of draft-ietf-rmcat-gcc-02 section 5.3): accumulates one-way delay variation per packet group,
// smooths it exponentially and fits a least-squares line over the last `window_size` points; the
// slope, scaled by the number of deltas and a gain, is fed to the OveruseDetector.
#pragma once

#include <deque>

#include "tern/congestion/network_types.h"
#include "tern/congestion/overuse_detector.h"
#include "tern/core/units.h"

namespace tern::congestion {

class TrendlineEstimator {
 public:
  struct Config {
    size_t window_size = 20;
    double smoothing = 0.9;
    double threshold_gain = 4.0;
    int max_num_deltas = 60;  // the trend is scaled by min(num_deltas, this)
    OveruseDetector::Config detector;
  };

  TrendlineEstimator() : TrendlineEstimator(Config{}) {}
  explicit TrendlineEstimator(Config config);

  // One group pair from InterArrival: the delay variation is arrival_delta - send_delta.
  // `arrival_time` is the arrival of the newer group. Returns the detector's hypothesis.
  BandwidthUsage update(TimeDelta send_delta, TimeDelta arrival_delta, Timestamp arrival_time,
                        Timestamp now);

  BandwidthUsage state() const { return detector_.state(); }
  double trend() const { return trend_; }               // slope, ms of delay per ms of time
  double modified_trend_ms() const { return modified_trend_ms_; }
  double threshold_ms() const { return detector_.threshold_ms(); }

 private:
  struct Point {
    double x_ms;
    double y_ms;
  };

  Config config_;
  OveruseDetector detector_;
  std::deque<Point> window_;
  Timestamp first_arrival_ = Timestamp::MinusInfinity();
  double accumulated_delay_ms_ = 0;
  double smoothed_delay_ms_ = 0;
  int num_deltas_ = 0;
  double trend_ = 0;
  double modified_trend_ms_ = 0;
};

}  // namespace tern::congestion
