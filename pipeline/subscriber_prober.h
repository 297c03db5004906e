// Bandwidth probing toward one subscriber of a media server (issue 17). A forwarder's leg only
// sends what it forwards, and GCC's estimate grows by at most 1.5x what is acknowledged: a
// subscriber that was given a low layer may never learn it could take the next one. When the leg's
// estimate is below what the next step needs (LayerSelector::next_step_rate()), the prober sends a
// GCC probe cluster of padding at `probe_scale` x that rate; the transport-wide feedback of the
// padding feeds the leg's ProbeBitrateEstimator, which moves the estimate in one step.
//
// Bounds: one cluster in flight (sent, then `result_wait` for its feedback to come back); its size
// between min_cluster_bytes and max_cluster_bytes; a failed probe (the estimate still short of the
// step afterwards) doubles the wait before the next, from backoff_initial up to backoff_max (a
// success resets it; the next cluster waits min_interval); no cluster while the link shows
// overuse (the delay detector), a standing queue (max_standing_queue: a full link, where a
// padding probe into a 300 kbps subscriber's queue overflowed it) or loss above max_loss over
// the last second, and a cluster in
// flight stops at once when either appears; none at the top layer, nor before the leg's first
// transport feedback (a subscriber without transport-cc is never probed: nothing would measure it). Padding comes out of two token
// buckets, the leg's and the server's (PaddingBudget): a cluster starts only when both hold its
// whole size, so padding never exceeds rate x time + one bucket of burst on either.
//
// Like libwebrtc's pacer, media forwarded while a cluster is out belongs to it (the caller tags it
// with the cluster id) and padding only fills up to the cluster's rate: padding alone behind an
// unpaced forwarder's frame bursts measured the bursts (a 13 kB frame held the cluster's packets
// back 35 ms on 3 Mbps and read as half the rate).
//
// Sans-I/O: maybe_start() decides (the caller registers the cluster with the leg's controller),
// due() says how much padding to send now, on_sent() charges what was sent; next_wakeup() is when
// due() next has something.
#pragma once

#include <cstdint>
#include <optional>

#include "tern/congestion/network_types.h"
#include "tern/core/units.h"

namespace tern::pipeline {

// A token bucket of padding bytes: `rate`, at most `rate` x `window` saved up.
class PaddingBudget {
 public:
  PaddingBudget(DataRate rate, TimeDelta window) : rate_(rate), capacity_(rate * window), tokens_(capacity_) {}
  // True when `size` fits now (refilled to `now` first).
  bool available(DataSize size, Timestamp now);
  // Takes `size` (after available() said yes; never below zero).
  void take(DataSize size) { tokens_ = max(tokens_ - size, DataSize::Zero()); }
  DataSize capacity() const { return capacity_; }
  DataRate rate() const { return rate_; }

 private:
  DataRate rate_;
  DataSize capacity_;
  DataSize tokens_;
  Timestamp last_ = Timestamp::MinusInfinity();
};

class SubscriberProber {
 public:
  struct Config {
    double probe_scale = 1.3;  // cluster rate = next step x this (a probe measures at most its rate)
    TimeDelta cluster_duration = TimeDelta::Millis(40);
    DataSize min_cluster_bytes = DataSize::Bytes(2500);  // ~9 padding packets; more with media
    DataSize max_cluster_bytes = DataSize::Bytes(25000);
    int min_probe_packets = 5;
    TimeDelta burst_interval = TimeDelta::Millis(2);  // padding goes out in bursts this far apart
    // After the last padding byte: how long the feedback has to move the estimate.
    TimeDelta result_wait = TimeDelta::Millis(700);
    TimeDelta min_interval = TimeDelta::Millis(500);  // after a success
    TimeDelta backoff_initial = TimeDelta::Seconds(2);
    TimeDelta backoff_max = TimeDelta::Seconds(30);
    double max_loss = 0.05;  // over the last second of feedback
    // A standing queue this long says the link is full already (what is forwarded fills it): a
    // probe would only lengthen it. Bursts of forwarded frames do not count (see Input).
    TimeDelta max_standing_queue = TimeDelta::Millis(15);
    int first_cluster_id = 0;
  };
  struct Counters {
    uint64_t clusters = 0, clusters_succeeded = 0, clusters_failed = 0, clusters_aborted = 0;
    uint64_t skipped_budget = 0;      // a cluster was due but a budget was short
    uint64_t skipped_congestion = 0;  // ... but the link showed overuse or loss
    DataSize padding = DataSize::Zero();
  };
  // What the leg looks like at a tick.
  struct Input {
    DataRate estimate = DataRate::Zero();
    std::optional<DataRate> next_step;  // none: at the top, or nothing to step up to
    bool overuse = false;
    // Cumulative counts of packets the leg's feedback reported, and of those lost.
    uint64_t feedback_packets = 0, feedback_lost = 0;
    DataSize sent = DataSize::Zero();  // cumulative bytes the leg sent (media, padding, RTCP)
    std::optional<TimeDelta> standing_queue;  // SendTransport::standing_queue_delay()
  };
  struct Burst {
    DataSize size = DataSize::Zero();
    int cluster_id = 0;
  };

  explicit SubscriberProber(const Config& config) : config_(config), next_id_(config.first_cluster_id) {}

  // At the leg's tick: a cluster to start now (its padding then comes through due()), or none.
  std::optional<congestion::ProbeClusterConfig> maybe_start(const Input& in, PaddingBudget& leg, PaddingBudget& global,
                                                            Timestamp now);
  // Padding of the cluster in flight due by `now`, `sent` being the leg's cumulative bytes (as in
  // Input): media forwarded during the cluster is part of it (the caller tags it with the
  // cluster's id), padding fills up to the cluster's rate. None when nothing is due; the cluster
  // ends here when its bytes are out or it ran 3x its duration.
  std::optional<Burst> due(Timestamp now, DataSize sent);
  // `size` bytes of padding of the cluster in flight left at `now`.
  void on_sent(DataSize size, Timestamp now);
  std::optional<Timestamp> next_wakeup() const;

  bool sending() const { return active_.has_value(); }
  const Counters& counters() const { return counters_; }

 private:
  struct Active {
    congestion::ProbeClusterConfig cluster;
    DataSize bytes = DataSize::Zero();  // the cluster's size, media and padding
    DataSize base = DataSize::Zero();   // the leg's cumulative bytes at the start
    DataSize sent = DataSize::Zero();   // since the start, media and padding
  };
  void finish(Timestamp now);
  struct LossSample {
    Timestamp at = Timestamp::MinusInfinity();
    uint64_t packets = 0, lost = 0;
  };
  bool congested(const Input& in, Timestamp now);

  Config config_;
  Counters counters_;
  int next_id_;
  std::optional<Active> active_;
  // The cluster sent, waiting for its result: the step it aimed at.
  std::optional<DataRate> awaiting_step_;
  Timestamp result_at_ = Timestamp::MinusInfinity();
  Timestamp next_allowed_ = Timestamp::MinusInfinity();
  TimeDelta backoff_ = TimeDelta::Zero();
  // Feedback counts about one and two ticks-of-a-second ago (loss over the last second).
  LossSample loss_old_, loss_new_;
};

}  // namespace tern::pipeline
