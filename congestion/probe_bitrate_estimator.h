// Estimates the bottleneck rate from the feedback of one probe cluster (libwebrtc's
// ProbeBitrateEstimator): the rate is min(send rate, receive rate) over the cluster, accepted only
// when at least 80% of the cluster's packets and bytes were reported and the intervals are sane.
// A cluster whose packets arrived out of send order crossed a path whose jitter is larger than
// the packets' spacing, and its first and last arrivals measure that jitter, not the rate (a 15 ms
// cluster spread over +-35 ms of jitter read as a third of the rate sent and pulled the estimate
// down from 2.4 Mbps to 0.7 Mbps). Its rate is read instead from a least-squares line through
// (bytes sent up to and including each packet, in send order; its arrival): a bottleneck releases
// the packets in send order, one per size / capacity, so the slope is 1 / min(send rate,
// capacity) whatever order the jitter after it delivers them in, and independent jitter only
// scatters the points about the line. The line is trusted only when its slope's standard error is
// at most Config::max_fit_error of the slope; a cluster too short for its jitter gives no
// estimate and reports the jitter it met (fetch_too_short(): the standard deviation of its
// packets' one-way delays), from which the probe controller sizes its next clusters. Optionally
// (Config::
// max_arrival_scatter; off by default, see congestion/README.md for what it costs) neither does
// one whose in-order arrivals scatter about a straight line through (bytes received, arrival time)
// by more than a fraction of its receive interval: jitter as long as the cluster on a path that
// keeps order bunches the arrivals (a packet held back holds the ones behind it), and the first-
// to-last interval then measures the jitter too (issue 14's default link: a 3 Mbps start-up
// cluster of 5-8 packets on 2 Mbps with +-20 ms of jitter read 2.3-3 Mbps and built a 100-150 ms
// queue). The fit is over bytes because a bottleneck spaces arrivals by size; the pacer's probe
// packets are of mixed sizes sent unevenly, and a fit over send times rejected clean clusters.
// In-order clusters keep their first-to-last reading, checked against the same line: when the
// line does not hold, the reading is flagged as scattered (fetch_scattered()), for the controller
// to let it lower the estimate only.
#pragma once

#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "tern/congestion/network_types.h"
#include "tern/core/units.h"

namespace tern::congestion {

class ProbeBitrateEstimator {
 public:
  struct Config {
    double min_received_fraction = 0.80;  // of probe count and of min bytes
    TimeDelta max_interval = TimeDelta::Seconds(1);
    double max_receive_send_ratio = 2.0;  // receive much faster than send: bogus timing
    double min_receive_send_ratio = 0.90;  // below this the receive rate is discounted
    double receive_discount = 0.95;
    TimeDelta max_cluster_age = TimeDelta::Seconds(1);
    size_t max_clusters = 16;
    // Twice the largest distance of an arrival from the cluster's least-squares line (bytes
    // received -> arrival time) may be at most this fraction of the receive interval (<= 0: no
    // limit, the default; 0.25 was measured).
    double max_arrival_scatter = 0.0;
    // A reordered cluster's fitted rate is used when the slope's standard error is at most this
    // fraction of the slope (<= 0: reordered clusters give no estimate, as before). An in-order
    // cluster's estimate beyond it is flagged (fetch_scattered()).
    double max_fit_error = 0.10;
  };
  // Arrivals kept per cluster for the scatter test, and for the reordered fit; later ones count
  // in the rates only.
  static constexpr size_t kMaxScatterPoints = 64;
  static constexpr size_t kMaxFitPoints = 128;

  ProbeBitrateEstimator() : ProbeBitrateEstimator(Config{}) {}
  explicit ProbeBitrateEstimator(Config config) : config_(config) {}

  // Registers a cluster the pacer is sending so its size requirements are known. Unknown cluster
  // ids fall back to 5 packets / 0 bytes.
  void on_probe_cluster(const ProbeClusterConfig& cluster);

  // Feeds one received probe packet; returns a rate estimate once the cluster is complete enough.
  std::optional<DataRate> handle_probe(const PacketResult& packet);

  // The last estimate produced since the previous fetch.
  std::optional<DataRate> fetch_and_reset_last_estimate();
  // Set when a complete reordered cluster could not be measured because it was too short for the
  // path's jitter: that jitter (standard deviation of the packets' one-way delays), and what its
  // arrivals did carry (bytes over first to last arrival; jitter stretches that span, so it is
  // below the path's rate). Cleared by the fetch.
  struct TooShort {
    TimeDelta jitter;
    DataRate receive_rate;
  };
  std::optional<TooShort> fetch_too_short();
  // Whether the last estimate came from an in-order cluster whose arrivals scatter about the
  // send-order line further than Config::max_fit_error allows: jitter that keeps packet order
  // bunched or spread them (a packet held back holds the ones behind it), so its first-to-last
  // interval measured that jitter as much as the path's rate (issue 14's default link: a 3 Mbps
  // start-up cluster on 2 Mbps with +-20 ms read anything from 853 to 3000 kbps). The estimate is
  // given all the same; what it may move is the caller's choice. Cleared by the fetch.
  bool fetch_scattered();
  // Set when a reordered cluster's fit read the path's rate (received clearly slower than sent):
  // a sample of the bottleneck's capacity. Cleared by the fetch.
  std::optional<DataRate> fetch_capacity_sample();

 private:
  struct Cluster {
    int min_probes = 5;
    DataSize min_bytes = DataSize::Zero();
    int num_probes = 0;
    Timestamp first_send = Timestamp::PlusInfinity();
    Timestamp last_send = Timestamp::MinusInfinity();
    Timestamp first_receive = Timestamp::PlusInfinity();
    Timestamp last_receive = Timestamp::MinusInfinity();
    DataSize size_last_send = DataSize::Zero();
    DataSize size_first_receive = DataSize::Zero();
    DataSize size_total = DataSize::Zero();
    Timestamp created = Timestamp::MinusInfinity();
    Timestamp newest_send_received = Timestamp::MinusInfinity();  // send time of the latest-sent so far
    Timestamp arrival_of_newest_send = Timestamp::MinusInfinity();
    bool reordered = false;
    // Each packet's (send time, size, arrival) in arrival order, at most kMaxFitPoints: the
    // reordered fit, and the scatter test (its first kMaxScatterPoints).
    struct Sent {
      Timestamp send;
      DataSize size;
      Timestamp arrival;
    };
    std::vector<Sent> sent;
  };
  // Twice the largest residual of the least-squares line through (bytes received so far,
  // arrival) over the first kMaxScatterPoints arrivals.
  static TimeDelta arrival_scatter(const std::vector<Cluster::Sent>& packets);
  // The reordered fit: the rate (1 / slope of arrival over bytes sent) and the slope's relative
  // standard error; nullopt when there is no line (fewer than 4 points, or a slope <= 0), or it
  // reads a terabit or more.
  struct Fit {
    DataRate rate;
    double relative_error;
  };
  static std::optional<Fit> send_order_fit(std::vector<Cluster::Sent> packets);
  // Standard deviation of the packets' one-way delays (arrival minus send).
  static TimeDelta delay_spread(const std::vector<Cluster::Sent>& packets);

  Config config_;
  std::map<int, Cluster> clusters_;
  std::optional<DataRate> last_estimate_;
  bool scattered_ = false;  // of last_estimate_
  std::optional<TooShort> too_short_;
  std::optional<DataRate> capacity_sample_;
};

}  // namespace tern::congestion
