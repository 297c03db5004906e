#include "tern/congestion/delay_based_bwe.h"

namespace tern::congestion {

DelayBasedBwe::DelayBasedBwe(Config config)
    : config_(config),
      inter_arrival_(config.inter_arrival),
      trendline_(config.trendline),
      rate_control_(config.rate_control) {}

void DelayBasedBwe::incoming_packet(const PacketResult& packet, Timestamp now) {
  if (last_seen_.is_finite() && now - last_seen_ > config_.stream_timeout) {
    // After a long silence the old groups and trend describe another network state.
    inter_arrival_ = InterArrival(config_.inter_arrival);
    trendline_ = TrendlineEstimator(config_.trendline);
  }
  last_seen_ = now;
  if (config_.ignore_audio && packet.sent.audio) return;
  const auto deltas = inter_arrival_.compute_deltas(packet.sent.send_time, packet.receive_time,
                                                    now, packet.sent.size);
  if (deltas) {
    trendline_.update(deltas->send_delta, deltas->arrival_delta, packet.receive_time, now);
  }
}

DelayBasedBwe::Result DelayBasedBwe::incoming_packet_feedback(
    const TransportPacketsFeedback& feedback, std::optional<DataRate> acknowledged,
    std::optional<DataRate> probe, Timestamp now) {
  Result result;
  const auto packets = feedback.sorted_by_receive_time();
  if (packets.empty()) return result;
  BandwidthUsage prev_state = trendline_.state();
  for (const auto& p : packets) {
    incoming_packet(p, now);
    if (prev_state == BandwidthUsage::kUnderusing && trendline_.state() == BandwidthUsage::kNormal) {
      result.recovered_from_overuse = true;
    }
    prev_state = trendline_.state();
  }

  if (trendline_.state() == BandwidthUsage::kOverusing) {
    if (acknowledged && rate_control_.time_to_reduce_further(now, *acknowledged)) {
      result.updated = true;
      result.target = rate_control_.update(BandwidthUsage::kOverusing, acknowledged, now);
    } else if (!acknowledged && rate_control_.valid_estimate() &&
               rate_control_.time_to_reduce_further(now, DataRate::PlusInfinity())) {
      // Over-use with nothing acked to anchor on: halve, as a last resort.
      rate_control_.set_estimate(rate_control_.estimate() * 0.5, now);
      result.updated = true;
      result.target = rate_control_.estimate();
    }
  } else if (probe) {
    rate_control_.set_estimate(*probe, now);
    result.updated = true;
    result.probe = true;
    result.target = rate_control_.estimate();
  } else {
    result.updated = true;
    result.target = rate_control_.update(trendline_.state(), acknowledged, now);
  }
  return result;
}

}  // namespace tern::congestion
