#include "tern/congestion/probe_bitrate_estimator.h"

#include <algorithm>
#include <cmath>

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
  if (config_.max_arrival_scatter > 0 && cl.points.size() < kMaxScatterPoints) {
    cl.points.emplace_back(cl.size_total, recv);  // only the scatter test reads them
  }

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
  if (config_.max_arrival_scatter > 0 &&
      arrival_scatter(cl.points) > receive_interval * config_.max_arrival_scatter) {
    return std::nullopt;  // the arrivals measured the jitter
  }
  DataRate result = min(send_rate, receive_rate);
  if (receive_rate < send_rate * config_.min_receive_send_ratio) {
    // Clearly limited by the path: aim a little under what arrived.
    result = receive_rate * config_.receive_discount;
  }
  last_estimate_ = result;
  return result;
}

TimeDelta ProbeBitrateEstimator::arrival_scatter(const std::vector<std::pair<DataSize, Timestamp>>& points) {
  if (points.size() < 3) return TimeDelta::Zero();
  // Bytes and microseconds from the first point: small enough for exact sums in double.
  const DataSize x0 = points.front().first;
  const Timestamp y0 = points.front().second;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& [bytes, arrival] : points) {
    const double x = static_cast<double>((bytes - x0).bytes()), y = static_cast<double>((arrival - y0).us());
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double n = static_cast<double>(points.size());
  const double den = n * sxx - sx * sx;
  if (den <= 0) return TimeDelta::Zero();  // cannot happen with sizes > 0; no fit, no scatter
  const double slope = (n * sxy - sx * sy) / den;
  const double intercept = (sy - slope * sx) / n;
  double worst = 0;
  for (const auto& [bytes, arrival] : points) {
    const double x = static_cast<double>((bytes - x0).bytes()), y = static_cast<double>((arrival - y0).us());
    worst = std::max(worst, std::abs(y - (intercept + slope * x)));
  }
  return TimeDelta::Micros(static_cast<int64_t>(std::llround(2 * worst)));
}

std::optional<DataRate> ProbeBitrateEstimator::fetch_and_reset_last_estimate() {
  std::optional<DataRate> out = last_estimate_;
  last_estimate_.reset();
  return out;
}

}  // namespace tern::congestion
