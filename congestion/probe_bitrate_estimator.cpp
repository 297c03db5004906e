#include "tern/congestion/probe_bitrate_estimator.h"

namespace tern::congestion {

void ProbeBitrateEstimator::on_probe_cluster(const ProbeClusterConfig& cluster) {
  Cluster& c = clusters_[cluster.id];
  c.min_probes = cluster.target_probe_count;
  c.min_bytes = cluster.min_bytes();
  c.created = cluster.at_time;
  while (clusters_.size() > config_.max_clusters) clusters_.erase(clusters_.begin());
}

std::optional<DataRate> ProbeBitrateEstimator::handle_probe(const PacketResult& packet) {
  if (!packet.sent.is_probe() || !packet.is_received()) return std::nullopt;
  const Timestamp recv = packet.receive_time;
  // Forget clusters whose packets are long gone.
  for (auto it = clusters_.begin(); it != clusters_.end();) {
    const Timestamp last = it->second.last_receive.is_finite() ? it->second.last_receive
                                                               : it->second.created;
    if (last.is_finite() && recv - last > config_.max_cluster_age && 
        it->first != packet.sent.probe_cluster_id) {
      it = clusters_.erase(it);
    } else {
      ++it;
    }
  }
  const int id = packet.sent.probe_cluster_id;
  if (!clusters_.contains(id) && clusters_.size() >= config_.max_clusters) {
    clusters_.erase(clusters_.begin());  // bounded: the oldest id goes
  }
  Cluster& cl = clusters_[id];
  const Timestamp send = packet.sent.send_time;
  if (send < cl.first_send) cl.first_send = send;
  if (send > cl.last_send) {
    cl.last_send = send;
    cl.size_last_send = packet.sent.size;
  }
  if (recv < cl.first_receive) {
    cl.first_receive = recv;
    cl.size_first_receive = packet.sent.size;
  }
  if (recv > cl.last_receive) cl.last_receive = recv;
  // Reordered: sent later than another packet of the cluster but arrived before it (or the reverse).
  if (send > cl.newest_send_received) {
    if (recv < cl.arrival_of_newest_send) cl.reordered = true;
    cl.newest_send_received = send;
    cl.arrival_of_newest_send = recv;
  } else if (send < cl.newest_send_received && recv > cl.arrival_of_newest_send) {
    cl.reordered = true;
  }
  cl.size_total += packet.sent.size;
  ++cl.num_probes;

  const double min_probes = cl.min_probes * config_.min_received_fraction;
  const DataSize min_bytes = cl.min_bytes * config_.min_received_fraction;
  if (cl.num_probes < min_probes || cl.size_total < min_bytes || cl.reordered) return std::nullopt;

  const TimeDelta send_interval = cl.last_send - cl.first_send;
  const TimeDelta receive_interval = cl.last_receive - cl.first_receive;
  if (send_interval <= TimeDelta::Zero() || send_interval > config_.max_interval ||
      receive_interval <= TimeDelta::Zero() || receive_interval > config_.max_interval) {
    return std::nullopt;
  }
  // The last packet sent and the first received only bound the intervals: exclude their bytes.
  const DataRate send_rate = (cl.size_total - cl.size_last_send) / send_interval;
  const DataRate receive_rate = (cl.size_total - cl.size_first_receive) / receive_interval;
  if (receive_rate > send_rate * config_.max_receive_send_ratio) return std::nullopt;
  DataRate result = min(send_rate, receive_rate);
  if (receive_rate < send_rate * config_.min_receive_send_ratio) {
    // Clearly limited by the path: aim a little under what arrived.
    result = receive_rate * config_.receive_discount;
  }
  last_estimate_ = result;
  return result;
}

std::optional<DataRate> ProbeBitrateEstimator::fetch_and_reset_last_estimate() {
  std::optional<DataRate> out = last_estimate_;
  last_estimate_.reset();
  return out;
}

}  // namespace tern::congestion
