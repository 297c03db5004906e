// Decides when to probe for more bandwidth (libwebrtc's ProbeController): exponential start-up
// probes at 3x and 6x the start rate; a further probe at 2x whenever a result reaches 70% of its
// target; a probe back towards the old rate when ALR ends shortly after a large drop; and periodic
// probes while application-limited so a stale estimate is refreshed. Output: cluster configs for
// the pacer (and the ProbeBitrateEstimator).
#pragma once

#include <optional>
#include <vector>

#include "tern/congestion/network_types.h"
#include "tern/core/units.h"

namespace tern::congestion {

class ProbeController {
 public:
  struct Config {
    double first_exponential_probe_scale = 3.0;
    double second_exponential_probe_scale = 6.0;
    double further_exponential_probe_scale = 2.0;
    double further_probe_threshold = 0.7;  // result / target needed to probe again
    double min_further_gain = 1.1;         // ... and result / estimate when the round started
    TimeDelta max_waiting_for_probe_result = TimeDelta::Seconds(1);
    bool periodic_alr_probing = true;
    TimeDelta alr_probing_interval = TimeDelta::Seconds(5);
    double alr_probe_scale = 2.0;
    TimeDelta alr_ended_timeout = TimeDelta::Seconds(3);
    double large_drop_ratio = 0.66;  // estimate below this x previous = large drop
    double probe_fraction_after_drop = 0.85;
    TimeDelta drop_probe_timeout = TimeDelta::Seconds(5);
    TimeDelta min_time_between_drop_probes = TimeDelta::Seconds(5);
    TimeDelta probe_duration = TimeDelta::Millis(15);
    int min_probe_packets = 5;
    // Clusters too short for the path's jitter (on_probe_too_short): later clusters last
    // `duration_per_jitter` x that jitter (its standard deviation), so that a line fitted through
    // their arrivals spans several times the scatter (+-35 ms uniform jitter: ~160 ms; sizing by
    // the packet count a rate gives, for an 8% slope error, made low-rate clusters longer and the
    // steps smaller: issue 14's far-jittery passed 5 of 10 runs from a 300 kbps start, against 7),
    // within [probe_duration, max_probe_duration]. A round that gave no result is tried again, at
    // most max_too_short_retries times a round.
    double duration_per_jitter = 8.0;
    TimeDelta max_probe_duration = TimeDelta::Millis(300);
    int max_too_short_retries = 2;
    // A cluster at `scale` x an estimate that is the capacity leaves a queue of (scale - 1) x its
    // duration, which the delay-based detector reads as overuse (a 125 ms cluster at 2x cut the
    // rate from 2 to 1.3 Mbps on a 2.5 Mbps path): the scales above that multiply an estimate
    // (further, ramp-up, ALR, the too-short retry) are at most 1 + max_probe_queue / duration,
    // which leaves 15 ms clusters at 2x and makes 125 ms ones 1.24x. Zero: off.
    TimeDelta max_probe_queue = TimeDelta::Millis(30);
    // Ramp-up probing (a tern addition; libwebrtc probes mid-call only on allocation changes and
    // in ALR): while the estimate grows multiplicatively (no link capacity estimate: far from any
    // known limit) and has grown by `ramp_up_probe_growth` since that started, probe at
    // further_exponential_probe_scale x the estimate, at most every `ramp_up_probe_interval`.
    // Finds a much larger new capacity in one step instead of ~12 s of 8%/s growth.
    // Not while the estimate is under `ramp_up_probe_min_rate`: a cluster is at least
    // min_probe_packets packets of the pacer's minimum probe padding (5 x 1000 bytes), ~160 ms of
    // a 250 kbps link, which a probe at twice a near-capacity estimate leaves as a queue that audio
    // waits in (issue 14's 250 kbps link: 12-15 concealed 10 ms pulls per ramp-up probe, then an
    // over-use cut to 0.7 x); there the multiplicative increase doubles the rate within ~9 s on its
    // own. 300 kbps is also where the pacer's burst limit starts (pipeline::SendTransport). 500
    // kbps kept low-500k's probes out too, but held back the 20%-random-loss netsim scenario (2 Mbps
    // link, estimate 400-600 kbps), whose target then fell twice in 500 ms.
    bool ramp_up_probing = true;
    double ramp_up_probe_growth = 1.2;
    TimeDelta ramp_up_probe_interval = TimeDelta::Seconds(5);
    DataRate ramp_up_probe_min_rate = DataRate::KilobitsPerSec(300);
  };

  ProbeController() : ProbeController(Config{}) {}
  explicit ProbeController(Config config) : config_(config) {}

  // Sets rate bounds; on the first call with the network up, starts exponential probing.
  [[nodiscard]] std::vector<ProbeClusterConfig> set_bitrates(DataRate min_rate, DataRate start_rate,
                                                             DataRate max_rate, Timestamp now);
  [[nodiscard]] std::vector<ProbeClusterConfig> on_network_availability(bool available,
                                                                        Timestamp now);
  // Each new estimate; may trigger a further exponential probe.
  [[nodiscard]] std::vector<ProbeClusterConfig> set_estimated_bitrate(DataRate rate, Timestamp now);
  void set_alr_start_time(std::optional<Timestamp> start) { alr_start_ = start; }
  void set_alr_ended_time(Timestamp end) { alr_end_ = end; }
  // Called after a large drop and an ALR period: probe back towards the old rate if plausible.
  [[nodiscard]] std::vector<ProbeClusterConfig> request_probe(Timestamp now);
  // Ramp-up probing (see Config); `multiplicative` says the delay-based estimate is growing
  // multiplicatively right now. Call periodically.
  [[nodiscard]] std::vector<ProbeClusterConfig> on_ramp_up(bool multiplicative, Timestamp now);
  // Feedback came back after a gap (an outage): probe at once at the rate held before it, so the
  // estimate returns within a round trip instead of re-growing from the loss-based cut.
  [[nodiscard]] std::vector<ProbeClusterConfig> on_feedback_resumed(DataRate rate_before, Timestamp now);
  // A cluster arrived reordered and scattered by `jitter` (standard deviation of its one-way
  // delays) over more than its own length, so it gave no result (ProbeBitrateEstimator::
  // fetch_too_short): from now on clusters are sized for that jitter (cluster_duration()). If it
  // is at least a quarter more than the clusters were sized for and the latest round started
  // within max_waiting_for_probe_result, the round is tried again at once with the longer
  // clusters (at most max_too_short_retries times), at one step (see max_probe_queue) above what
  // the short cluster carried (`received`, a rate jitter understates) or above the estimate,
  // whichever is higher, but not above the round's own lowest rate.
  [[nodiscard]] std::vector<ProbeClusterConfig> on_probe_too_short(TimeDelta jitter, DataRate received, Timestamp now);
  // How long a cluster lasts: probe_duration until a path's jitter is known, then
  // duration_per_jitter x that jitter, within [probe_duration, max_probe_duration].
  TimeDelta cluster_duration() const;
  // Periodic work (ALR probing, giving up on a lost result).
  [[nodiscard]] std::vector<ProbeClusterConfig> process(Timestamp now);

  bool waiting_for_result() const { return state_ == State::kWaitingForResult; }

 private:
  enum class State { kInit, kWaitingForResult, kComplete };
  // `scale` limited by max_probe_queue for the cluster duration.
  double step(double scale) const;
  // The start-up round: first and second exponential scales x the start rate, marked start_up.
  std::vector<ProbeClusterConfig> initiate_start_up(Timestamp now);
  std::vector<ProbeClusterConfig> initiate(Timestamp now, std::vector<DataRate> rates,
                                           bool probe_further, bool retry = false);

  Config config_;
  State state_ = State::kInit;
  bool network_available_ = true;
  DataRate min_rate_ = DataRate::Zero();
  DataRate start_rate_ = DataRate::Zero();
  DataRate max_rate_ = DataRate::PlusInfinity();
  DataRate estimate_ = DataRate::Zero();
  DataRate min_rate_to_probe_further_ = DataRate::PlusInfinity();
  Timestamp time_last_probing_ = Timestamp::MinusInfinity();
  Timestamp time_of_last_large_drop_ = Timestamp::MinusInfinity();
  DataRate rate_before_last_large_drop_ = DataRate::Zero();
  Timestamp last_drop_probe_ = Timestamp::MinusInfinity();
  std::optional<Timestamp> alr_start_;
  std::optional<Timestamp> alr_end_;
  int next_id_ = 1;
  std::optional<DataRate> ramp_base_;  // estimate when multiplicative growth started
  TimeDelta jitter_ = TimeDelta::Zero();  // the clusters are sized for (zero: short ones)
  std::optional<DataRate> round_rate_;  // the lowest rate of the latest round
  int retries_ = 0;                     // of that round, by on_probe_too_short
};

}  // namespace tern::congestion
