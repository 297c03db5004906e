// Google Congestion Control, send side (draft-ietf-rmcat-gcc-02 with the current libwebrtc
// goog_cc structure): one sans-I/O object that turns transport feedback, RTT and loss reports into
// a target rate, a pacing configuration and probe requests.
//
//   feedback -> AcknowledgedBitrateEstimator ---------------+
//            -> ProbeBitrateEstimator -> probe result ------+-> DelayBasedBwe -> delay limit
//            -> loss fraction ---------------------------------> LossBasedBwe (final target,
//   REMB -> receiver limit ------------------------------------>  capped by both limits)
//   data in flight vs congestion window -> CongestionWindowPushback -> target sent out
//   bytes sent -> AlrDetector -> ProbeController -> probe cluster configs
//
// Every method returns a [[nodiscard]] NetworkControlUpdate; fields are set only when changed.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "tern/congestion/acknowledged_bitrate_estimator.h"
#include "tern/congestion/alr_detector.h"
#include "tern/congestion/congestion_window_pushback.h"
#include "tern/congestion/delay_based_bwe.h"
#include "tern/congestion/loss_based_bwe.h"
#include "tern/congestion/network_types.h"
#include "tern/congestion/probe_bitrate_estimator.h"
#include "tern/congestion/probe_controller.h"
#include "tern/core/result.h"
#include "tern/core/units.h"

namespace tern::congestion {

// Loss statistics from RTCP receiver reports (RFC 3550 6.4.1), as deltas since the last report.
struct LossReport {
  Timestamp receive_time = Timestamp::MinusInfinity();
  int64_t packets_lost = 0;
  int64_t packets_expected = 0;

  // From an RR's 8-bit fraction lost (lost/expected x 256) and the packets expected in its interval.
  static LossReport FromFractionLost(uint8_t fraction_lost, int64_t packets_expected,
                                     Timestamp receive_time);
};

class GoogCcNetworkController {
 public:
  struct Config {
    DataRate min_rate = DataRate::KilobitsPerSec(10);
    DataRate start_rate = DataRate::KilobitsPerSec(300);
    DataRate max_rate = DataRate::MegabitsPerSec(30);
    double pacing_factor = 2.5;
    DataRate max_padding_rate = DataRate::Zero();
    bool enable_probing = true;
    double probe_drop_throughput_fraction = 0.85;  // a probe result never lowers below acked x this
    // A probe result whose in-order arrivals scatter about their line (ProbeBitrateEstimator::
    // fetch_scattered()) may lower the estimate but not raise it; true lets it raise as well.
    bool scattered_probe_may_raise = false;
    // Feedback resuming after at least this long without any: probe at the target held before
    // (ProbeController::on_feedback_resumed). Zero: off.
    TimeDelta recovery_probe_gap = TimeDelta::Seconds(1);
    bool enable_congestion_window = true;
    TimeDelta congestion_window_queue = TimeDelta::Millis(350);  // window = rtt + this
    DataSize min_congestion_window = DataSize::Bytes(3000);
    // RR loss is ignored once transport feedback has been seen (it would be counted twice).
    bool use_rr_loss_with_transport_feedback = false;
    DelayBasedBwe::Config delay_based;  // its rate bounds are overwritten by min/start/max above
    LossBasedBwe::Config loss_based;
    ReorderTolerantLossCounter::Config loss_counter;
    AcknowledgedBitrateEstimator::Config acknowledged;
    ProbeBitrateEstimator::Config probe_estimator;
    ProbeController::Config probe_controller;
    AlrDetector::Config alr;
    CongestionWindowPushback::Config pushback;
  };

  // Rejects min > max, a non-positive start rate or a pacing factor below 1.
  static Result<GoogCcNetworkController> Create(Config config);
  GoogCcNetworkController() : GoogCcNetworkController(Config{}) {}
  explicit GoogCcNetworkController(Config config);

  [[nodiscard]] NetworkControlUpdate on_network_availability(bool available, Timestamp now);
  // Periodic tick (every ~25 ms): loss-based step, probing, congestion-window push-back.
  [[nodiscard]] NetworkControlUpdate on_process_interval(Timestamp now);
  // A packet left the pacer (send_time = now).
  [[nodiscard]] NetworkControlUpdate on_sent_packet(const SentPacketInfo& sent);
  [[nodiscard]] NetworkControlUpdate on_transport_feedback(const TransportPacketsFeedback& feedback);
  [[nodiscard]] NetworkControlUpdate on_rtt(TimeDelta rtt, Timestamp now);
  [[nodiscard]] NetworkControlUpdate on_loss_report(const LossReport& report);
  // REMB (draft-alvestrand-rmcat-remb): a receiver-side cap; zero removes it.
  [[nodiscard]] NetworkControlUpdate on_remote_bitrate_report(DataRate bitrate, Timestamp now);

  // A cluster sent outside this controller's requests (see NetworkController::on_external_probe_cluster).
  void register_probe_cluster(const ProbeClusterConfig& cluster) { probe_estimator_.on_probe_cluster(cluster); }

  // Current values, for stats and tests.
  DataRate target_rate() const { return last_target_; }
  DataRate pushback_target_rate() const { return last_pushback_target_; }
  DataRate delay_based_estimate() const { return delay_bwe_.last_estimate(); }
  std::optional<DataRate> acknowledged_rate() const { return acked_.bitrate(); }
  DataSize data_in_flight() const { return in_flight_; }
  std::optional<DataSize> congestion_window() const { return pushback_.window(); }
  BandwidthUsage delay_state() const { return delay_bwe_.state(); }
  bool in_alr() const { return alr_.alr_start_time().has_value(); }

 private:
  void start(Timestamp now, NetworkControlUpdate& update);
  void update_congestion_window();
  void add_probes(std::vector<ProbeClusterConfig> probes, NetworkControlUpdate& update);
  void maybe_trigger_network_changed(Timestamp now, NetworkControlUpdate& update);

  Config config_;
  DelayBasedBwe delay_bwe_;
  LossBasedBwe loss_bwe_;
  ReorderTolerantLossCounter loss_counter_;
  AcknowledgedBitrateEstimator acked_;
  ProbeBitrateEstimator probe_estimator_;
  ProbeController probe_controller_;
  AlrDetector alr_;
  CongestionWindowPushback pushback_;

  bool started_ = false;
  bool network_available_ = true;
  bool seen_transport_feedback_ = false;
  bool was_in_alr_ = false;
  DataSize in_flight_ = DataSize::Zero();
  Timestamp last_feedback_ = Timestamp::MinusInfinity();
  Timestamp resumed_at_ = Timestamp::MinusInfinity();  // feedback came back after a gap
  std::deque<TimeDelta> feedback_min_rtts_;  // per report, last 32 reports
  DataRate last_target_ = DataRate::MinusInfinity();
  DataRate last_pushback_target_ = DataRate::MinusInfinity();
  DataRate last_stable_target_ = DataRate::Zero();
  double last_loss_ = -1;
  TimeDelta last_rtt_ = TimeDelta::MinusInfinity();
  DataRate last_pacing_rate_ = DataRate::MinusInfinity();
};

}  // namespace tern::congestion
