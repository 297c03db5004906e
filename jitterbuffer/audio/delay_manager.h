// DelayManager: the adaptive target playout delay of the audio jitter buffer.
//
// Each packet's relative arrival delay is its transit time (arrival minus media time of its RTP
// timestamp) minus the smallest transit seen in the last two seconds, i.e. how much later it came
// than the fastest recent packet. The delays feed a forgetting histogram; the target delay is a
// high quantile of it (placed inside its 10 ms bucket as if the bucket's mass were spread evenly,
// not at the bucket's upper edge) plus one packet duration, clamped to [min, max]. A step up in jitter moves
// mass into high buckets within about a second (45 packets at the default forget factor), while a
// step down needs the old mass to decay away (a minute or more): fast attack, slow release, the
// shape libwebrtc's NetEq uses. A peak detector makes the attack faster still: the target is at
// least the second-largest relative delay of the last second plus one packet (the second, so one
// stray packet does not move it).
//
// Release: the histogram alone would hold a spike's delay for tens of seconds (a two-second queue
// build-up is 7% of its mass, above the 3% tail, until ~25 s of calm decay it). Once no packet
// came as late as a bucket for `release_window`, the mass in that bucket and above is forgotten
// faster (`release_factor` per packet, on top of the forgetting), so the target comes back within
// about a second after the window: a spike costs its own seconds, not the rest of the call. Spikes
// that recur within the window keep their mass (each one renews the window's maximum), and spikes
// that recur at all lengthen it: a packet later than the target (one that would have played late)
// at least a second after the previous such packet sets the window to twice their distance, up to
// kMaxReleaseWindow, so a buffer that released and was caught out holds through the next period.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "tern/core/sliding_extremum.h"
#include "tern/core/result.h"
#include "tern/core/units.h"

namespace tern::jitterbuffer {

struct DelayManagerConfig {
  TimeDelta min_delay = TimeDelta::Millis(20);
  TimeDelta max_delay = TimeDelta::Millis(1000);
  TimeDelta initial_target = TimeDelta::Millis(60);  // used until the first packets arrive
  TimeDelta bucket = TimeDelta::Millis(10);          // histogram resolution
  double quantile = 0.97;                            // 0.5 .. 0.9999
  double forget_factor = 0.9993;                     // per packet, 0.9 .. 0.99999
  TimeDelta reference_window = TimeDelta::Seconds(2);  // how long the fastest packet stays the reference
  TimeDelta peak_window = TimeDelta::Seconds(1);       // peak detector memory; zero disables it
  TimeDelta release_window = TimeDelta::Seconds(3);    // calm this long releases the higher buckets; zero: never
  double release_factor = 0.95;                        // per packet, on the released buckets, 0.5 .. 1
};

class DelayManager {
 public:
  static Result<DelayManager> Create(const DelayManagerConfig& config);

  // Records one packet (not duplicates): arrival time, unwrapped RTP timestamp in `clock_hz` ticks
  // and its duration. Returns the packet's relative delay.
  TimeDelta update(Timestamp arrival, int64_t rtp_ticks, int clock_hz, TimeDelta packet_duration);
  // Forgets the transit reference (new SSRC or timestamp jump); the histogram is kept.
  void reset_reference() { window_.clear(); }
  // Target playout delay: quantile of the histogram plus one packet, within [min, max].
  TimeDelta target() const { return target_; }
  // Caps the target from above (the packet buffer's capacity in time); never below min_delay.
  void set_capacity_limit(TimeDelta limit) { capacity_limit_ = limit; }
  // Transit of the latest packet relative to the reference; zero before any packet.
  TimeDelta last_relative_delay() const { return last_relative_; }
  const DelayManagerConfig& config() const { return config_; }

 private:
  explicit DelayManager(const DelayManagerConfig& config);
  void recompute_target(TimeDelta packet_duration);
  TimeDelta peak() const;

  static constexpr size_t kMaxWindowEntries = 512;  // bound: oldest reference entries drop first
  static constexpr TimeDelta kMaxReleaseWindow = TimeDelta::Seconds(30);

  DelayManagerConfig config_;
  std::vector<double> histogram_;  // probabilities, sum to 1 once a packet is seen
  uint64_t packets_ = 0;
  // The smallest transit (arrival minus media time, us; only differences matter) over
  // reference_window: the reference the relative delays are measured from.
  SlidingExtremum<int64_t> window_{kMaxWindowEntries};
  struct Recent {
    Timestamp arrival;
    TimeDelta relative;
  };
  std::deque<Recent> recent_;      // relative delays within peak_window (bounded like window_)
  SlidingExtremum<TimeDelta, std::greater<TimeDelta>> release_max_{kMaxWindowEntries};  // over release_window
  TimeDelta last_relative_ = TimeDelta::Zero();
  Timestamp first_arrival_ = Timestamp::MinusInfinity();
  Timestamp last_spike_ = Timestamp::MinusInfinity();  // last packet later than the target
  TimeDelta release_window_;                             // the window in use (see the header)
  TimeDelta target_;
  TimeDelta capacity_limit_ = TimeDelta::PlusInfinity();
};

}  // namespace tern::jitterbuffer
