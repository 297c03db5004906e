// Throughput of the packets the receiver acknowledged (libwebrtc's AcknowledgedBitrateEstimator
// over BitrateEstimator): acked bytes are summed in fixed windows (500 ms for the first sample,
// 150 ms after) and each window's rate is blended into a Bayesian estimate whose variance grows
// with the disagreement between sample and estimate. AIMD decreases relative to this rate.
#pragma once

#include <optional>
#include <vector>

#include "tern/congestion/network_types.h"
#include "tern/core/units.h"

namespace tern::congestion {

class AcknowledgedBitrateEstimator {
 public:
  struct Config {
    TimeDelta initial_window = TimeDelta::Millis(500);
    TimeDelta window = TimeDelta::Millis(150);
    double uncertainty_scale = 10.0;
    double uncertainty_scale_in_alr = 20.0;  // small samples in ALR are trusted less
    double process_noise_kbps2 = 5.0;
    double fast_change_variance_kbps2 = 200.0;  // added after ALR ends
  };

  AcknowledgedBitrateEstimator() : AcknowledgedBitrateEstimator(Config{}) {}
  explicit AcknowledgedBitrateEstimator(Config config) : config_(config) {}

  // Feeds received packets (any order; they are processed by receive time).
  void incoming_packet_feedback(const std::vector<PacketResult>& packets);
  // Packets sent after `alr_ended` make the estimate expect a fast change once.
  void set_alr_ended_time(Timestamp alr_ended) { alr_ended_time_ = alr_ended; }
  void set_in_alr(bool in_alr) { in_alr_ = in_alr; }

  std::optional<DataRate> bitrate() const;
  // Last raw window rate; useful when the estimate lags a sudden change.
  std::optional<DataRate> peek_rate() const;

 private:
  void update(Timestamp at, DataSize amount);
  std::optional<double> update_window(Timestamp at, DataSize amount, TimeDelta window,
                                      bool* small_sample);

  Config config_;
  std::optional<Timestamp> alr_ended_time_;
  bool in_alr_ = false;
  DataSize sum_ = DataSize::Zero();
  TimeDelta current_window_ = TimeDelta::Zero();
  Timestamp prev_time_ = Timestamp::MinusInfinity();
  double estimate_kbps_ = -1;
  double estimate_var_ = 50.0;
  std::optional<double> last_sample_kbps_;
};

}  // namespace tern::congestion
