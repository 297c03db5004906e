// Over-use detector with an adaptive threshold (draft-ietf-rmcat-gcc-02 sections 5.4-5.5;
// libwebrtc's trendline detector). Compares the (gain-scaled) delay trend against a threshold
// gamma that follows |trend| slowly (k_up when above, k_down when below) so that GCC neither
// starves against loss-based flows nor ignores real queue build-up.
#pragma once

#include "tern/congestion/network_types.h"
#include "tern/core/units.h"

namespace tern::congestion {

class OveruseDetector {
 public:
  struct Config {
    double k_up = 0.0087;
    double k_down = 0.039;
    double initial_threshold_ms = 12.5;
    double min_threshold_ms = 6.0;
    double max_threshold_ms = 600.0;
    double max_adapt_jump_ms = 15.0;  // |trend| this far above gamma does not move gamma
    TimeDelta max_adapt_step = TimeDelta::Millis(100);
    TimeDelta overusing_time_threshold = TimeDelta::Millis(10);
  };

  OveruseDetector() : OveruseDetector(Config{}) {}
  explicit OveruseDetector(Config config);

  // `modified_trend_ms` is the gain-scaled trend; `group_delta` the send delta of the group that
  // produced it; `num_deltas` how many deltas the trend has seen. Returns the new hypothesis.
  BandwidthUsage detect(double modified_trend_ms, double raw_trend, TimeDelta group_delta,
                        int num_deltas, Timestamp now);

  BandwidthUsage state() const { return state_; }
  double threshold_ms() const { return threshold_ms_; }

 private:
  void update_threshold(double modified_trend_ms, Timestamp now);

  Config config_;
  double threshold_ms_;
  Timestamp last_update_ = Timestamp::MinusInfinity();
  double time_over_using_ms_ = -1;
  int overuse_counter_ = 0;
  double prev_trend_ = 0;
  BandwidthUsage state_ = BandwidthUsage::kNormal;
};

}  // namespace tern::congestion
