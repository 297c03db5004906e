// ReorderingEstimator: how far out of order a stream's packets arrive, learnt from missing packets
// that later arrived on their own (not by retransmission or FEC), so that the NACK generator can
// tell reordering from loss (the idea of libwebrtc's NackRequester reordering histogram, with a
// time dimension added). Each observation is a pair: the distance (how many newer sequence numbers
// had arrived before the late packet) and the delay (how long after its gap was seen it arrived).
// A gap is taken for loss once both its distance and its age exceed the chosen percentile of the
// observations.
//
// Memory: the last kHistory observations in a ring (the oldest is overwritten when full, so the
// estimate follows a path whose reordering changes). Distances are clamped to kMaxDistance and
// delays to the caller's cap, so one outlier moves a percentile at most that far.
// Sans-I/O: delays are measured by the caller from the `now` it is given.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "tern/core/units.h"

namespace tern::recovery {

class ReorderingEstimator {
 public:
  static constexpr size_t kHistory = 128;        // observations kept
  static constexpr int64_t kMaxDistance = 1000;  // sequence numbers; a longer distance counts as this

  // `percentile` in (0, 1]: the share of the observed reorderings the waits cover. `max_delay`
  // caps each delay observation (and so the time wait).
  ReorderingEstimator(double percentile, TimeDelta max_delay);

  // A missing packet arrived `distance` (>= 1) sequence numbers behind the newest, `delay` after
  // its gap was detected.
  void add(int64_t distance, TimeDelta delay);

  // Newer packets that reordering, at the percentile, lets arrive before an older one: a gap
  // with more than this many newer packets is not reordering. 0 before any observation.
  int64_t packets_wait() const { return packets_wait_; }
  // Age at the percentile beyond which a gap is not reordering. Zero before any observation.
  TimeDelta time_wait() const { return time_wait_; }
  size_t observations() const { return count_; }

 private:
  struct Observation {
    int64_t distance = 0;
    TimeDelta delay = TimeDelta::Zero();
  };
  double percentile_;
  TimeDelta max_delay_;
  std::array<Observation, kHistory> ring_{};
  size_t next_ = 0;   // slot the next observation overwrites
  size_t count_ = 0;  // observations held, <= kHistory
  int64_t packets_wait_ = 0;
  TimeDelta time_wait_ = TimeDelta::Zero();
};

}  // namespace tern::recovery
