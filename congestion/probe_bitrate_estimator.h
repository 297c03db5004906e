// Estimates the bottleneck rate from the feedback of one probe cluster (libwebrtc's
// ProbeBitrateEstimator): the rate is min(send rate, receive rate) over the cluster, accepted only
// when at least 80% of the cluster's packets and bytes were reported and the intervals are sane.
// A cluster whose packets arrived out of send order measured the path's jitter, not its rate (a
// 15 ms cluster spread over +-35 ms of jitter read as a third of the rate sent and pulled the
// estimate down from 2.4 Mbps to 0.7 Mbps): it gives no estimate.
// Nor does a cluster whose packets mostly arrived bunched, each much closer to the one before than
// it was sent: a bottleneck spaces packets by their serialisation (or by the send spacing when it
// is faster than the probe), never closer, so a bunch was compressed after the bottleneck (jitter
// that keeps packets in order holds the early ones behind a late one; radio links deliver in
// aggregates) and the receive interval measures that, not the rate. On tern-loopback's default
// link (2 Mbps, 20 ms jitter) the 3 Mbps start-up cluster (6 packets in 12 ms) arrived with four
// packets in one instant and read 2.3-3 Mbps on 5 seeds of 10: a second of 100-150 ms queue
// that the audio jitter buffer then kept for seconds.
#pragma once

#include <map>
#include <optional>

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
    // A gap between consecutive packets (in send order) is bunched when it arrived this many times
    // shorter than it was sent; a cluster with more than max_bunched_fraction of its gaps bunched
    // gives no estimate.
    double bunched_gap_ratio = 4.0;
    double max_bunched_fraction = 0.5;
    TimeDelta max_cluster_age = TimeDelta::Seconds(1);
    size_t max_clusters = 16;
  };

  ProbeBitrateEstimator() : ProbeBitrateEstimator(Config{}) {}
  explicit ProbeBitrateEstimator(Config config) : config_(config) {}

  // Registers a cluster the pacer is sending so its size requirements are known. Unknown cluster
  // ids fall back to 5 packets / 0 bytes.
  void on_probe_cluster(const ProbeClusterConfig& cluster);

  // Feeds one received probe packet; returns a rate estimate once the cluster is complete enough.
  std::optional<DataRate> handle_probe(const PacketResult& packet);

  // The last estimate produced since the previous fetch.
  std::optional<DataRate> fetch_and_reset_last_estimate();

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
    Timestamp prev_send = Timestamp::MinusInfinity();  // the packet fed before (in feedback order)
    Timestamp prev_receive = Timestamp::MinusInfinity();
    int gaps = 0;          // between consecutive packets of the cluster
    int bunched_gaps = 0;  // of which arrived much closer than they were sent
  };

  Config config_;
  std::map<int, Cluster> clusters_;
  std::optional<DataRate> last_estimate_;
};

}  // namespace tern::congestion
