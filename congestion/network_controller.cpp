#include "tern/congestion/network_controller.h"

#include <utility>

namespace tern::congestion {
namespace {

// GCC, fed either transport-wide feedback (kTransportCc) or REMB (kRemb); the input the mode does
// not use is ignored, so a stray report of the other kind cannot move the rate.
class GoogCcController final : public NetworkController {
 public:
  GoogCcController(NetworkControllerMode mode, GoogCcNetworkController gcc, TimeDelta interval)
      : NetworkController(mode), gcc_(std::move(gcc)), interval_(interval) {}

  std::optional<TimeDelta> process_interval() const override { return interval_; }
  NetworkControlUpdate on_network_availability(bool available, Timestamp now) override {
    return gcc_.on_network_availability(available, now);
  }
  NetworkControlUpdate on_process_interval(Timestamp now) override { return gcc_.on_process_interval(now); }
  NetworkControlUpdate on_sent_packet(const SentPacketInfo& sent) override { return gcc_.on_sent_packet(sent); }
  NetworkControlUpdate on_transport_feedback(const TransportPacketsFeedback& feedback) override {
    if (mode() != NetworkControllerMode::kTransportCc) return {};
    return gcc_.on_transport_feedback(feedback);
  }
  NetworkControlUpdate on_remote_bitrate_report(DataRate bitrate, Timestamp now) override {
    if (mode() != NetworkControllerMode::kRemb) return {};
    return gcc_.on_remote_bitrate_report(bitrate, now);
  }
  NetworkControlUpdate on_rtt(TimeDelta rtt, Timestamp now) override { return gcc_.on_rtt(rtt, now); }
  NetworkControlUpdate on_loss_report(const LossReport& report) override { return gcc_.on_loss_report(report); }
  void on_external_probe_cluster(const ProbeClusterConfig& cluster) override { gcc_.register_probe_cluster(cluster); }
  std::optional<BandwidthUsage> delay_state() const override { return gcc_.delay_state(); }

 private:
  GoogCcNetworkController gcc_;
  TimeDelta interval_;
};

// A constant target from the start (kFixed), or nothing at all (kNone).
class ConstantController final : public NetworkController {
 public:
  ConstantController(NetworkControllerMode mode, DataRate rate, double pacing_factor)
      : NetworkController(mode), rate_(rate), pacing_factor_(pacing_factor) {}

  std::optional<TimeDelta> process_interval() const override { return std::nullopt; }
  NetworkControlUpdate on_network_availability(bool available, Timestamp now) override {
    NetworkControlUpdate u;
    if (!available || mode() != NetworkControllerMode::kFixed || announced_) return u;
    announced_ = true;
    u.pacer_config = PacingConfig{rate_ * pacing_factor_, DataRate::Zero()};
    TargetTransferRate t;
    t.at_time = now;
    t.target_rate = rate_;
    t.stable_target_rate = rate_;
    u.target_rate = t;
    return u;
  }
  NetworkControlUpdate on_process_interval(Timestamp) override { return {}; }
  NetworkControlUpdate on_sent_packet(const SentPacketInfo&) override { return {}; }
  NetworkControlUpdate on_transport_feedback(const TransportPacketsFeedback&) override { return {}; }
  NetworkControlUpdate on_remote_bitrate_report(DataRate, Timestamp) override { return {}; }
  NetworkControlUpdate on_rtt(TimeDelta, Timestamp) override { return {}; }
  NetworkControlUpdate on_loss_report(const LossReport&) override { return {}; }

 private:
  DataRate rate_;
  double pacing_factor_;
  bool announced_ = false;
};

}  // namespace

Result<std::unique_ptr<NetworkController>> CreateNetworkController(const NetworkControllerConfig& config) {
  switch (config.mode) {
    case NetworkControllerMode::kTransportCc:
    case NetworkControllerMode::kRemb: {
      if (config.process_interval <= TimeDelta::Zero()) return Error{"network controller: non-positive interval"};
      GoogCcNetworkController::Config cc;
      cc.min_rate = config.min_rate;
      cc.start_rate = config.start_rate;
      cc.max_rate = config.max_rate;
      cc.pacing_factor = config.pacing_factor;
      // Without transport feedback nothing would ever leave the window: no window then.
      cc.enable_congestion_window = config.mode == NetworkControllerMode::kTransportCc;
      cc.enable_probing = config.mode == NetworkControllerMode::kTransportCc;
      auto gcc = GoogCcNetworkController::Create(cc);
      if (!gcc) return Error{gcc.error()};
      return std::unique_ptr<NetworkController>(
          new GoogCcController(config.mode, std::move(gcc).value(), config.process_interval));
    }
    case NetworkControllerMode::kFixed:
      if (config.fixed_rate <= DataRate::Zero()) return Error{"network controller: fixed rate must be positive"};
      if (config.pacing_factor < 1.0) return Error{"network controller: pacing factor below 1"};
      return std::unique_ptr<NetworkController>(
          new ConstantController(config.mode, config.fixed_rate, config.pacing_factor));
    case NetworkControllerMode::kNone:
      return std::unique_ptr<NetworkController>(new ConstantController(config.mode, DataRate::Zero(), 1.0));
  }
  return Error{"network controller: unknown mode"};
}

}  // namespace tern::congestion
