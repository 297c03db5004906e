// Application-limited region detector (libwebrtc's AlrDetector): an interval budget filled at
// 65% of the estimated rate and drained by bytes actually sent. When more than 80% of the budget
// is left unused the sender is application-limited (ALR starts); below 50% ALR ends. In ALR the
// acked rate says little about capacity, so probing and estimator behaviour change.
#pragma once

#include <optional>

#include "tern/core/units.h"

namespace tern::congestion {

class AlrDetector {
 public:
  struct Config {
    double bandwidth_usage_ratio = 0.65;
    double start_budget_level_ratio = 0.80;
    double stop_budget_level_ratio = 0.50;
    TimeDelta budget_window = TimeDelta::Millis(500);
  };

  AlrDetector() : AlrDetector(Config{}) {}
  explicit AlrDetector(Config config) : config_(config) {}

  void on_bytes_sent(DataSize size, Timestamp send_time);
  void set_estimated_bitrate(DataRate rate);

  // When the current ALR started; nullopt outside ALR.
  std::optional<Timestamp> alr_start_time() const { return alr_started_; }
  // When the last ALR ended (cleared when a new one starts).
  std::optional<Timestamp> alr_end_time() const { return alr_ended_; }
  double budget_ratio() const;

 private:
  Config config_;
  DataRate target_rate_ = DataRate::Zero();
  double bytes_remaining_ = 0;  // may go negative (over-sending), bounded by +/- window bytes
  Timestamp last_send_ = Timestamp::MinusInfinity();
  std::optional<Timestamp> alr_started_;
  std::optional<Timestamp> alr_ended_;
};

}  // namespace tern::congestion
