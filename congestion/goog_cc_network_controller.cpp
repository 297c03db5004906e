#include "tern/congestion/goog_cc_network_controller.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace tern::congestion {

LossReport LossReport::FromFractionLost(uint8_t fraction_lost, int64_t packets_expected,
                                        Timestamp receive_time) {
  LossReport r;
  r.receive_time = receive_time;
  r.packets_expected = std::max<int64_t>(packets_expected, 0);
  r.packets_lost = (r.packets_expected * fraction_lost + 128) / 256;
  return r;
}

namespace {

GoogCcNetworkController::Config normalized(GoogCcNetworkController::Config c) {
  c.start_rate = clamp(c.start_rate, c.min_rate, c.max_rate);
  c.delay_based.rate_control.min_rate = c.min_rate;
  c.delay_based.rate_control.max_rate = c.max_rate;
  c.delay_based.rate_control.start_rate = c.start_rate;
  c.loss_based.min_rate = c.min_rate;
  c.loss_based.max_rate = c.max_rate;
  return c;
}

}  // namespace

Result<GoogCcNetworkController> GoogCcNetworkController::Create(Config config) {
  if (config.min_rate <= DataRate::Zero()) return Error{"min_rate must be positive"};
  if (config.max_rate < config.min_rate) return Error{"max_rate below min_rate"};
  if (config.start_rate <= DataRate::Zero()) return Error{"start_rate must be positive"};
  if (!(config.pacing_factor >= 1.0)) return Error{"pacing_factor below 1"};
  return GoogCcNetworkController(config);
}

GoogCcNetworkController::GoogCcNetworkController(Config config)
    : config_(normalized(config)),
      delay_bwe_(config_.delay_based),
      loss_bwe_(config_.loss_based),
      loss_counter_(config_.loss_counter),
      acked_(config_.acknowledged),
      probe_estimator_(config_.probe_estimator),
      probe_controller_(config_.probe_controller),
      alr_(config_.alr),
      pushback_(config_.pushback) {}

void GoogCcNetworkController::start(Timestamp now, NetworkControlUpdate& update) {
  if (started_) return;
  started_ = true;
  delay_bwe_.set_start_bitrate(config_.start_rate, now);
  loss_bwe_.set_bitrates(config_.start_rate, config_.min_rate, config_.max_rate, now);
  alr_.set_estimated_bitrate(config_.start_rate);
  auto probes = probe_controller_.set_bitrates(config_.min_rate, config_.start_rate,
                                               config_.max_rate, now);
  if (config_.enable_probing) add_probes(std::move(probes), update);
}

void GoogCcNetworkController::add_probes(std::vector<ProbeClusterConfig> probes,
                                         NetworkControlUpdate& update) {
  if (!config_.enable_probing) return;
  for (auto& p : probes) {
    probe_estimator_.on_probe_cluster(p);
    update.probe_cluster_configs.push_back(p);
  }
}

NetworkControlUpdate GoogCcNetworkController::on_network_availability(bool available,
                                                                      Timestamp now) {
  NetworkControlUpdate update;
  network_available_ = available;
  start(now, update);
  add_probes(probe_controller_.on_network_availability(available, now), update);
  last_target_ = DataRate::MinusInfinity();  // force a fresh report
  maybe_trigger_network_changed(now, update);
  return update;
}

NetworkControlUpdate GoogCcNetworkController::on_process_interval(Timestamp now) {
  NetworkControlUpdate update;
  start(now, update);
  loss_bwe_.update_estimate(now);
  add_probes(probe_controller_.process(now), update);
  const AimdRateControl& aimd = delay_bwe_.rate_control();
  const bool multiplicative = seen_transport_feedback_ && aimd.valid_estimate() &&
                              aimd.state() == AimdRateControl::State::kIncrease &&
                              !aimd.link_capacity().has_estimate();
  add_probes(probe_controller_.on_ramp_up(multiplicative, now), update);
  maybe_trigger_network_changed(now, update);
  return update;
}

NetworkControlUpdate GoogCcNetworkController::on_sent_packet(const SentPacketInfo& sent) {
  NetworkControlUpdate update;
  alr_.on_bytes_sent(sent.size, sent.send_time);
  in_flight_ += sent.size;
  pushback_.set_data_in_flight(in_flight_);
  return update;
}

NetworkControlUpdate GoogCcNetworkController::on_rtt(TimeDelta rtt, Timestamp now) {
  NetworkControlUpdate update;
  if (rtt <= TimeDelta::Zero() || rtt.is_infinite()) return update;
  delay_bwe_.on_rtt(rtt);
  loss_bwe_.update_rtt(rtt);
  maybe_trigger_network_changed(now, update);
  return update;
}

NetworkControlUpdate GoogCcNetworkController::on_loss_report(const LossReport& report) {
  NetworkControlUpdate update;
  if (seen_transport_feedback_ && !config_.use_rr_loss_with_transport_feedback) return update;
  loss_bwe_.update_packets_lost(report.packets_lost, report.packets_expected, report.receive_time);
  maybe_trigger_network_changed(report.receive_time, update);
  return update;
}

NetworkControlUpdate GoogCcNetworkController::on_remote_bitrate_report(DataRate bitrate,
                                                                       Timestamp now) {
  NetworkControlUpdate update;
  loss_bwe_.update_receiver_limit(bitrate, now);
  maybe_trigger_network_changed(now, update);
  return update;
}

void GoogCcNetworkController::update_congestion_window() {
  if (!config_.enable_congestion_window || feedback_min_rtts_.empty()) return;
  const TimeDelta rtt = *std::min_element(feedback_min_rtts_.begin(), feedback_min_rtts_.end());
  const DataSize window =
      max((rtt + config_.congestion_window_queue) * loss_bwe_.target(), config_.min_congestion_window);
  pushback_.set_window(window);
}

NetworkControlUpdate GoogCcNetworkController::on_transport_feedback(
    const TransportPacketsFeedback& feedback) {
  NetworkControlUpdate update;
  if (feedback.packets.empty()) return update;
  const Timestamp now = feedback.feedback_time;
  start(now, update);
  const bool resumed = config_.recovery_probe_gap > TimeDelta::Zero() && last_feedback_.is_finite() &&
                       now - last_feedback_ >= config_.recovery_probe_gap;
  last_feedback_ = now;
  if (resumed) {
    resumed_at_ = now;
    add_probes(probe_controller_.on_feedback_resumed(loss_bwe_.target(), now), update);
  }
  seen_transport_feedback_ = true;
  in_flight_ = feedback.data_in_flight;
  pushback_.set_data_in_flight(in_flight_);

  // Feedback RTT (includes the receiver's batching delay): the smallest in this report.
  TimeDelta min_rtt = TimeDelta::PlusInfinity();
  for (const auto& p : feedback.packets) {
    if (p.is_received()) min_rtt = min(min_rtt, now - p.sent.send_time);
  }
  if (min_rtt.is_finite() && min_rtt >= TimeDelta::Zero()) {
    feedback_min_rtts_.push_back(min_rtt);
    if (feedback_min_rtts_.size() > 32) feedback_min_rtts_.pop_front();
  }

  // ALR bookkeeping: a just-ended ALR makes the acked-rate estimator expect a fast change.
  const bool in_alr = alr_.alr_start_time().has_value();
  probe_controller_.set_alr_start_time(alr_.alr_start_time());
  if (was_in_alr_ && !in_alr && alr_.alr_end_time()) {
    acked_.set_alr_ended_time(*alr_.alr_end_time());
    probe_controller_.set_alr_ended_time(*alr_.alr_end_time());
  }
  was_in_alr_ = in_alr;
  acked_.set_in_alr(in_alr);
  acked_.incoming_packet_feedback(feedback.packets);

  bool external_probe = false;  // the estimate read below came from a caller's cluster
  for (const auto& p : feedback.packets) {
    // The per-packet estimate is also kept inside the estimator; it is read once per feedback below.
    if (!p.sent.is_probe() || !p.is_received()) continue;
    if (probe_estimator_.handle_probe(p)) external_probe = p.sent.probe_cluster_id >= kExternalProbeClusterIdBase;
  }
  std::optional<DataRate> probe = probe_estimator_.fetch_and_reset_last_estimate();
  const bool scattered = probe_estimator_.fetch_scattered();
  if (auto capacity = probe_estimator_.fetch_capacity_sample()) {
    // A reordered cluster's fit read the bottleneck: AIMD grows additively near it from now on
    // (it otherwise kept growing 8%/s past the capacity, which the delay detector sees late
    // under heavy jitter).
    delay_bwe_.on_capacity_sample(*capacity);
  }
  if (auto too_short = probe_estimator_.fetch_too_short(); too_short && config_.enable_probing) {
    // A cluster scattered by jitter beyond its length: longer clusters from now on.
    add_probes(probe_controller_.on_probe_too_short(too_short->jitter, too_short->receive_rate, now), update);
  }
  if (probe && external_probe && *probe <= delay_bwe_.last_estimate()) {
    // A forwarder's probe (register_probe_cluster) rides on unpaced media whose bursts can hold
    // its packets back: a result under the estimate may say more about those bursts than about
    // the path, which the delay and loss detectors watch anyway. It may raise the estimate only.
    probe.reset();
  }
  if (probe && scattered && !config_.scattered_probe_may_raise && *probe >= delay_bwe_.last_estimate()) {
    // Jitter that keeps order bunched this cluster's arrivals (or spread them): it may say the
    // path is slower than the estimate, not that it is faster. An over-read here set the target
    // above the link and built a 100-160 ms queue the detector saw late (ProbeBitrateEstimator::
    // fetch_scattered()).
    probe.reset();
  }
  if (probe && acked_.bitrate()) {
    // A probe disturbed by cross traffic or our own media must not drag the estimate far below
    // what is demonstrably being delivered.
    const DataRate floor = min(delay_bwe_.last_estimate(),
                               *acked_.bitrate() * config_.probe_drop_throughput_fraction);
    probe = max(*probe, floor);
  }
  if (probe && resumed_at_.is_finite() && now - resumed_at_ < config_.recovery_probe_gap &&
      *probe < delay_bwe_.last_estimate()) {
    // Right after a gap the probe queues behind the backlog the gap left (or the acked rate is
    // still empty): it measures the drain, not the path. It may raise the estimate, not lower it.
    probe.reset();
  }

  const DelayBasedBwe::Result result =
      delay_bwe_.incoming_packet_feedback(feedback, acked_.bitrate(), probe, now);
  loss_bwe_.set_delay_increasing(delay_bwe_.state() == BandwidthUsage::kOverusing);
  const ReorderTolerantLossCounter::Counts loss = loss_counter_.on_feedback(feedback.packets, now);
  // The first report after a gap says what a dead path did to the packets sent into it: the
  // path is back (this report came through), so that loss says nothing about the rate to use now.
  if (!resumed) loss_bwe_.update_packets_lost(loss.lost, loss.expected, now);
  if (result.updated) {
    // A forwarder's probe result is the rate itself: the old delay-based limit must not cap it
    // (set first, as libwebrtc's SetSendBitrate lifts it; capped, a probe to 999 kbps left the
    // target at the old 325 kbps, to creep up at 8%/s). The controller's own probes keep the
    // cap: lifting it for them made GCC oscillate under 20% random loss (netsim scenario test).
    if (result.probe && external_probe) loss_bwe_.update_delay_based_limit(result.target, now);
    if (result.probe) loss_bwe_.set_send_bitrate(result.target, now);
    loss_bwe_.update_delay_based_limit(result.target, now);
  }
  if (result.recovered_from_overuse) {
    add_probes(probe_controller_.request_probe(now), update);
  }
  update_congestion_window();
  maybe_trigger_network_changed(now, update);
  return update;
}

void GoogCcNetworkController::maybe_trigger_network_changed(Timestamp now,
                                                            NetworkControlUpdate& update) {
  if (!started_) return;
  const DataRate target = network_available_ ? loss_bwe_.target() : DataRate::Zero();
  const double loss = loss_bwe_.fraction_loss();
  const TimeDelta rtt = loss_bwe_.rtt();

  DataRate pushed = target;
  if (config_.enable_congestion_window) pushed = pushback_.update_and_adjust(target);
  if (!network_available_) pushed = DataRate::Zero();

  if (target != last_target_) {
    alr_.set_estimated_bitrate(target);
    add_probes(probe_controller_.set_estimated_bitrate(target, now), update);
  }

  // Stable target: do not promise more than the link capacity estimate says is sustainable.
  DataRate stable = pushed;
  if (auto cap = delay_bwe_.rate_control().link_capacity().estimate()) stable = min(stable, *cap);

  if (pushed != last_pushback_target_ || target != last_target_ || loss != last_loss_ ||
      rtt != last_rtt_) {
    update.target_rate = TargetTransferRate{now, pushed, stable, rtt, loss};
  }
  last_target_ = target;
  last_pushback_target_ = pushed;
  last_stable_target_ = stable;
  last_loss_ = loss;
  last_rtt_ = rtt;

  // While the window is over-full, pace at the pushed-back rate itself: the network is not
  // draining what we send, so bursting at 2.5x would only lengthen the queue.
  const DataRate pacing = pushback_.congested() ? pushed : pushed * config_.pacing_factor;
  if (pacing != last_pacing_rate_) {
    update.pacer_config = PacingConfig{pacing, min(config_.max_padding_rate, pushed)};
    last_pacing_rate_ = pacing;
  }
  if (auto w = pushback_.window(); w && update.target_rate) update.congestion_window = *w;
}

}  // namespace tern::congestion
