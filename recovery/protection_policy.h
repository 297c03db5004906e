// Which loss-recovery tools to use for a video stream, from the path's RTT and loss rate: a small
// documented rule set in the spirit of libwebrtc's hybrid NACK/FEC mode.
//
// Rules (defaults in Config):
//  1. RTT < nack_only_rtt (50 ms): NACK only. A retransmission then arrives about one RTT plus a
//     few ms after the loss is noticed, well inside the ~100 ms a video jitter buffer waits anyway,
//     so FEC would cost bitrate (10-50%) for no visible gain. 50 ms sits between libwebrtc's 20 ms
//     "low RTT" NACK-only threshold and the RTT (~100 ms) where a retransmission starts to show as
//     a freeze.
//  2. Otherwise, with loss >= min_fec_loss (1%): NACK + FEC. fec_rate = 255 x loss x multiplier
//     (2, or 3 once RTT >= high_rtt = 150 ms since a retransmission then costs a visible stall),
//     capped at max_fec_rate; keyframes get twice that (at least key_min_fec_rate), capped at 255.
//     Groups span 3 frames while loss < 5% (cheaper per frame), else 1 frame (shorter delay).
//     Without NACK (allow_nack = false) FEC is the only repair and a packet it misses costs a
//     keyframe: the multiplier is then fec_only_multiplier (4), whatever the RTT.
//  3. NACK stays on whenever allowed: it repairs what FEC could not, and PacketHistory limits it
//     to one retransmission per half RTT per packet and to the congestion controller's budget.
//  4. Bursty loss (as reported by the caller) selects bursty masks.
// Everything can be switched off (enabled = false), or per tool.
#pragma once

#include <cstdint>

#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/recovery/fec_masks.h"

namespace tern::recovery {

struct ProtectionDecision {
  bool use_nack = false;
  bool use_fec = false;
  uint8_t fec_rate = 0;      // delta frames, 0..255
  uint8_t key_fec_rate = 0;  // keyframes
  size_t max_frames = 1;
  FecMaskType mask_type = FecMaskType::kRandom;
};

class ProtectionPolicy {
 public:
  struct Config {
    bool enabled = true;
    bool allow_nack = true;
    bool allow_fec = true;
    TimeDelta nack_only_rtt = TimeDelta::Millis(50);
    TimeDelta high_rtt = TimeDelta::Millis(150);
    double min_fec_loss = 0.01;
    uint8_t max_fec_rate = 128;  // ~50% overhead
    uint8_t key_min_fec_rate = 64;
    double fec_only_multiplier = 4.0;  // rule 2's multiplier when NACK is not allowed
  };

  // Rejects loss thresholds outside [0, 1] and negative RTT thresholds.
  static Result<ProtectionPolicy> Create(Config config);

  // rtt: smoothed round-trip time; loss_fraction in [0, 1] (clamped); bursty: losses come in runs.
  ProtectionDecision decide(TimeDelta rtt, double loss_fraction, bool bursty = false) const;

 private:
  explicit ProtectionPolicy(Config config) : config_(config) {}
  Config config_;
};

}  // namespace tern::recovery
