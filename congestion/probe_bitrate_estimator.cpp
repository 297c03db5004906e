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
  if (cl.sent.size() < kMaxFitPoints) cl.sent.push_back({send, packet.sent.size, recv});

  const double min_probes = cl.min_probes * config_.min_received_fraction;
  const DataSize min_bytes = cl.min_bytes * config_.min_received_fraction;
  if (cl.num_probes < min_probes || cl.size_total < min_bytes) return std::nullopt;
  if (cl.reordered && config_.max_fit_error <= 0) return std::nullopt;

  const TimeDelta send_interval = cl.last_send - cl.first_send;
  const TimeDelta receive_interval = cl.last_receive - cl.first_receive;
  if (send_interval <= TimeDelta::Zero() || send_interval > config_.max_interval ||
      receive_interval <= TimeDelta::Zero() || receive_interval > config_.max_interval) {
    return std::nullopt;
  }
  // The last packet sent and the first received only bound the intervals: exclude their bytes.
  const DataRate send_rate = (cl.size_total - cl.size_last_send) / send_interval;
  DataRate receive_rate = (cl.size_total - cl.size_first_receive) / receive_interval;
  // The send-order line: a reordered cluster's reading; an in-order one keeps its first-to-last
  // reading, and the line says whether to trust it (fetch_scattered()).
  bool scattered = false;
  if (config_.max_fit_error > 0) {
    const std::optional<Fit> fit = send_order_fit(cl.sent);
    scattered = !fit || fit->relative_error > config_.max_fit_error;
    if (cl.reordered && scattered) {
      // Too short for this path's jitter (a later packet of the cluster may still settle it).
      too_short_ = TooShort{delay_spread(cl.sent), receive_rate};
      return std::nullopt;
    }
    if (cl.reordered) receive_rate = fit->rate;
  }
  if (receive_rate > send_rate * config_.max_receive_send_ratio) return std::nullopt;
  if (!cl.reordered && config_.max_arrival_scatter > 0 &&
      arrival_scatter(cl.sent) > receive_interval * config_.max_arrival_scatter) {
    return std::nullopt;  // the arrivals measured the jitter
  }
  DataRate result = min(send_rate, receive_rate);
  if (receive_rate < send_rate * config_.min_receive_send_ratio) {
    // Clearly limited by the path: aim a little under what arrived.
    result = receive_rate * config_.receive_discount;
    if (cl.reordered) capacity_sample_ = receive_rate;
  }
  last_estimate_ = result;
  scattered_ = scattered;
  too_short_.reset();  // measured after all
  return result;
}

namespace {

// A least-squares line y = intercept + slope x, with what judging it takes: the spread of x about
// its mean (sum of squared deviations) and the sum of squared residuals.
struct Line {
  double slope;
  double intercept;
  double x_spread;
  double residuals;
};

// Callers give x and y from their first point, small enough for exact sums in double; nullopt
// when x does not vary.
std::optional<Line> fit_line(const std::vector<std::pair<double, double>>& points) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0;
  for (const auto& [x, y] : points) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
    syy += y * y;
  }
  const double n = static_cast<double>(points.size());
  const double vxx = sxx - sx * sx / n, vxy = sxy - sx * sy / n, vyy = syy - sy * sy / n;
  if (!(vxx > 0)) return std::nullopt;
  const double slope = vxy / vxx;
  return Line{slope, (sy - slope * sx) / n, vxx, std::max(0.0, vyy - slope * vxy)};
}

}  // namespace

TimeDelta ProbeBitrateEstimator::arrival_scatter(const std::vector<Cluster::Sent>& packets) {
  // The first kMaxScatterPoints arrivals: bytes received so far (this packet's included; they are
  // kept in arrival order) and arrival, both from the first.
  const size_t n = std::min(packets.size(), kMaxScatterPoints);
  if (n < 3) return TimeDelta::Zero();
  std::vector<std::pair<double, double>> points;
  points.reserve(n);
  double bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) bytes += static_cast<double>(packets[i].size.bytes());
    points.emplace_back(bytes, static_cast<double>((packets[i].arrival - packets.front().arrival).us()));
  }
  const std::optional<Line> line = fit_line(points);
  if (!line) return TimeDelta::Zero();  // cannot happen with sizes > 0; no fit, no scatter
  double worst = 0;
  for (const auto& [x, y] : points) worst = std::max(worst, std::abs(y - (line->intercept + line->slope * x)));
  return TimeDelta::Micros(static_cast<int64_t>(std::llround(2 * worst)));
}

std::optional<ProbeBitrateEstimator::Fit> ProbeBitrateEstimator::send_order_fit(std::vector<Cluster::Sent> packets) {
  const size_t n = packets.size();
  if (n < 4) return std::nullopt;
  std::stable_sort(packets.begin(), packets.end(), [](const Cluster::Sent& a, const Cluster::Sent& b) { return a.send < b.send; });
  // x: bytes sent up to and including the packet; y: arrival, in us from the first sent packet's.
  std::vector<std::pair<double, double>> points;
  points.reserve(n);
  double bytes = 0;
  for (const Cluster::Sent& p : packets) {
    bytes += static_cast<double>(p.size.bytes());
    points.emplace_back(bytes, static_cast<double>((p.arrival - packets.front().arrival).us()));
  }
  const std::optional<Line> line = fit_line(points);
  if (!line || !(line->slope > 0)) return std::nullopt;  // us per byte
  const double bps = 8e6 / line->slope;
  if (!(bps < 1e12)) return std::nullopt;  // a terabit: bogus timing, and past int64 safety
  const double error = std::sqrt(line->residuals / (static_cast<double>(n) - 2) / line->x_spread) / line->slope;
  return Fit{DataRate::BitsPerSec(static_cast<int64_t>(std::llround(bps))), error};
}

TimeDelta ProbeBitrateEstimator::delay_spread(const std::vector<Cluster::Sent>& packets) {
  if (packets.size() < 2) return TimeDelta::Zero();
  const Timestamp base = packets.front().arrival;
  double s = 0, ss = 0;
  for (const Cluster::Sent& p : packets) {
    const double d = static_cast<double>((p.arrival - base - (p.send - packets.front().send)).us());
    s += d;
    ss += d * d;
  }
  const double n = static_cast<double>(packets.size());
  const double var = std::max(0.0, (ss - s * s / n) / (n - 1));
  return TimeDelta::Micros(static_cast<int64_t>(std::llround(std::sqrt(var))));
}

bool ProbeBitrateEstimator::fetch_scattered() {
  const bool out = scattered_;
  scattered_ = false;
  return out;
}

std::optional<DataRate> ProbeBitrateEstimator::fetch_capacity_sample() {
  std::optional<DataRate> out = capacity_sample_;
  capacity_sample_.reset();
  return out;
}

std::optional<ProbeBitrateEstimator::TooShort> ProbeBitrateEstimator::fetch_too_short() {
  std::optional<TooShort> out = too_short_;
  too_short_.reset();
  return out;
}

std::optional<DataRate> ProbeBitrateEstimator::fetch_and_reset_last_estimate() {
  std::optional<DataRate> out = last_estimate_;
  last_estimate_.reset();
  return out;
}

}  // namespace tern::congestion
