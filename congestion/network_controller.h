// NetworkController: the one interface a sender's transport talks to, whatever turns feedback into
// a rate (libwebrtc's api/transport/network_control.h NetworkControllerInterface, in our terms).
//
// Values in, values out: every input carries its time and returns a [[nodiscard]]
// NetworkControlUpdate (target rate, pacing rate, probe clusters; fields set only when changed).
// Modes (CreateNetworkController):
//   kTransportCc  GCC on transport-wide feedback (transport-cc or RFC 8888, both arrive as
//                 TransportPacketsFeedback), with congestion window and probing; REMB ignored.
//   kRemb         GCC on RTCP report blocks (loss, RTT) capped by the receiver's REMB; transport
//                 feedback ignored, no window (nothing would ever leave it) and no probing.
//   kFixed        a constant target (and pacing at pacing_factor x it) from the start; ignores feedback.
//   kNone         never asks for anything (a hop that forwards at the rate it receives).
#pragma once

#include <memory>
#include <optional>

#include "tern/congestion/goog_cc_network_controller.h"
#include "tern/congestion/network_types.h"
#include "tern/core/result.h"
#include "tern/core/units.h"

namespace tern::congestion {

enum class NetworkControllerMode : uint8_t { kTransportCc, kRemb, kFixed, kNone };

class NetworkController {
 public:
  virtual ~NetworkController() = default;

  NetworkControllerMode mode() const { return mode_; }
  // How often on_process_interval() wants to be called; nullopt: never (no periodic work).
  virtual std::optional<TimeDelta> process_interval() const = 0;

  [[nodiscard]] virtual NetworkControlUpdate on_network_availability(bool available, Timestamp now) = 0;
  [[nodiscard]] virtual NetworkControlUpdate on_process_interval(Timestamp now) = 0;
  // A packet left the pacer (send_time = now).
  [[nodiscard]] virtual NetworkControlUpdate on_sent_packet(const SentPacketInfo& sent) = 0;
  // Transport-wide feedback, matched against the send history (TransportFeedbackAdapter).
  [[nodiscard]] virtual NetworkControlUpdate on_transport_feedback(const TransportPacketsFeedback& feedback) = 0;
  // REMB (draft-alvestrand-rmcat-remb) from the receiver.
  [[nodiscard]] virtual NetworkControlUpdate on_remote_bitrate_report(DataRate bitrate, Timestamp now) = 0;
  [[nodiscard]] virtual NetworkControlUpdate on_rtt(TimeDelta rtt, Timestamp now) = 0;
  [[nodiscard]] virtual NetworkControlUpdate on_loss_report(const LossReport& report) = 0;
  // A probe cluster the caller sends on its own (a forwarder probing toward a subscriber, not one
  // of the controller's requests): registered so its feedback is judged by the cluster's size.
  // The caller picks ids that do not collide with the controller's (see kExternalProbeClusterIdBase).
  // Controllers without a probe estimator ignore it.
  virtual void on_external_probe_cluster(const ProbeClusterConfig& /*cluster*/) {}
  // The delay-based detector's state (GCC); nullopt for controllers without one.
  virtual std::optional<BandwidthUsage> delay_state() const { return std::nullopt; }

 protected:
  explicit NetworkController(NetworkControllerMode mode) : mode_(mode) {}

 private:
  NetworkControllerMode mode_;
};

struct NetworkControllerConfig {
  NetworkControllerMode mode = NetworkControllerMode::kTransportCc;
  DataRate min_rate = DataRate::KilobitsPerSec(10);
  DataRate start_rate = DataRate::KilobitsPerSec(300);
  DataRate max_rate = DataRate::MegabitsPerSec(30);
  DataRate fixed_rate = DataRate::KilobitsPerSec(1000);  // kFixed only
  double pacing_factor = 2.5;                             // pacing rate = target x this
  TimeDelta process_interval = TimeDelta::Millis(25);     // GCC's tick
};

// The controller for `config.mode`; rejects what the controller rejects (GCC: min > max, a
// non-positive start rate, a pacing factor below 1) and, for kFixed, a non-positive rate.
Result<std::unique_ptr<NetworkController>> CreateNetworkController(const NetworkControllerConfig& config);

}  // namespace tern::congestion
