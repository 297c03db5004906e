// Delay-based bandwidth estimation (draft-ietf-rmcat-gcc-02 section 5; libwebrtc's DelayBasedBwe):
// InterArrival groups -> TrendlineEstimator/OveruseDetector -> AimdRateControl, with probe results
// overriding the AIMD estimate when they arrive.
#pragma once

#include <optional>

#include "tern/congestion/aimd_rate_control.h"
#include "tern/congestion/inter_arrival.h"
#include "tern/congestion/network_types.h"
#include "tern/congestion/trendline_estimator.h"
#include "tern/core/units.h"

namespace tern::congestion {

class DelayBasedBwe {
 public:
  struct Config {
    InterArrival::Config inter_arrival;
    TrendlineEstimator::Config trendline;
    AimdRateControl::Config rate_control;
    TimeDelta stream_timeout = TimeDelta::Seconds(2);  // feedback gap that restarts the filters
    bool ignore_audio = false;  // audio-only groups are tiny and noisy; optionally skip them
  };

  struct Result {
    bool updated = false;
    bool probe = false;  // the estimate came from a probe
    DataRate target = DataRate::Zero();
    bool recovered_from_overuse = false;
  };

  DelayBasedBwe() : DelayBasedBwe(Config{}) {}
  explicit DelayBasedBwe(Config config);

  // Processes one feedback report. `acknowledged` is the acked bitrate, `probe` a fresh probe
  // result if any.
  Result incoming_packet_feedback(const TransportPacketsFeedback& feedback,
                                  std::optional<DataRate> acknowledged,
                                  std::optional<DataRate> probe, Timestamp now);

  void on_rtt(TimeDelta rtt) { rate_control_.set_rtt(rtt); }
  void on_capacity_sample(DataRate rate) { rate_control_.on_capacity_sample(rate); }
  void set_start_bitrate(DataRate rate, Timestamp now) { rate_control_.set_estimate(rate, now); }
  void set_min_bitrate(DataRate rate) { rate_control_.set_min_rate(rate); }

  DataRate last_estimate() const { return rate_control_.estimate(); }
  BandwidthUsage state() const { return trendline_.state(); }
  const TrendlineEstimator& trendline() const { return trendline_; }
  const AimdRateControl& rate_control() const { return rate_control_; }

 private:
  void incoming_packet(const PacketResult& packet, Timestamp now);

  Config config_;
  InterArrival inter_arrival_;
  TrendlineEstimator trendline_;
  AimdRateControl rate_control_;
  Timestamp last_seen_ = Timestamp::MinusInfinity();
};

}  // namespace tern::congestion
