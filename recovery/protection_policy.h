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
//     Without NACK, groups span 3 frames while loss < 5% (cheaper per frame), else 1 frame
//     (shorter delay). Beside NACK 1 frame (rule 6 may pick 2): FEC is there to repair a frame sooner
//     than a retransmission, and a group spanning 3 frames delays a rebuilt packet by up to 2 frames.
//     Without NACK (allow_nack = false) FEC is the only repair and a packet it misses costs a
//     keyframe: the multiplier is then fec_only_multiplier (4), whatever the RTT.
//  3. NACK stays on whenever allowed: it repairs what FEC could not, and PacketHistory limits it
//     to one retransmission per half RTT per packet and to the congestion controller's budget.
//  4. Bursty loss (as reported by the caller) selects bursty masks.
//  5. With NACK, no FEC for a stream too small per frame, after libwebrtc's "bit rate too low for
//     FEC" rule of its hybrid NACK/FEC method (no FEC under 400-1000 bytes a frame by size while
//     RTT < 200 ms). tern's groups beside NACK close with their frame (rule 2), so one FEC packet
//     per frame is half the media or more under two full packets a frame: the floor is
//     min_fec_packets_per_frame (2) x packet_payload_bytes (1200) a frame, above libwebrtc's at
//     every size (FEC beside NACK starts at ~580 kbps of video at 30 fps). NACK repairs such
//     streams within the jitter buffer's RTT allowance. Only while RTT < high_rtt (libwebrtc's
//     rule also stops at 200 ms): beyond, a retransmission comes after the frame was given up
//     (on a 240 ms path at 2% loss the rule left 2-3 packet frames bare: 4-9 freezes in 30 s).
//     Applies when the caller gives the stream's figures (StreamFigures). The frame's bytes are
//     media + the FEC sent now (StreamFigures::fec_rate), and FEC already on stays on down to
//     min_fec_packets_per_frame_on (1.5) packets: judged on the media alone, turning FEC on took
//     its share from the media, which turned it off at the next figure, and so on every second
//     (bursty: 1.5 Mbps, 8% loss in runs of 3; with both, 5 -> 7 of 10 runs pass).
//  6. With NACK at RTT >= high_rtt, and the stream's figures given: enough FEC packets that a
//     group leaves a media packet lost with probability at most max_frame_loss (0.05%: one frame
//     in 2000, ~once a minute at 30 fps) per frame it spans, counting independent losses at the
//     given rate over the group's packets (media rate / fps / packet_payload_bytes a frame) and its
//     FEC packets, and judging each loss pattern by what the masks' iterative XOR recovery repairs
//     (unrecoverable_patterns in fec_masks.h). There a retransmission arrives after the jitter
//     buffer has given the frame up (a freeze of about one RTT each time), so FEC has to repair
//     nearly every frame. Groups may span up to max_group_frames (2) frames: the length with the
//     least overhead that meets the goal wins (the shorter on a tie); when none does within
//     max_fec_rate, the one that fails least at max_fec_rate. Groups of more than
//     kMaxJudgedGroup (32) packets are not judged (pairs over ~4.5 Mbps, single frames over
//     ~9 Mbps at 30 fps): past both, max_fec_rate. XOR parity is not an erasure code:
//     at 2% loss 3 FEC packets for a 5-packet frame (60%) leave one group in 2000 with a packet
//     lost, where "at most 3 of 8 lost" promised one in 100 000 and the rule, sized by that
//     promise, left 0-3 freezes of ~300 ms in far-jittery's 30 s calls; 4 for two such frames
//     (40%) leave 0.018% a frame. A pair's first frame waits for the second frame's FEC when it
//     lost a packet: one frame interval, against a round trip.
//  7. Hysteresis: FEC turned on stays on until the loss falls below fec_off_loss (0.5%), when the
//     caller says it is on (StreamFigures::fec_on). A loss figure over a second of packets moves by
//     about a point at 2% loss: on the far-jittery scenario (240 ms RTT, 2% loss) one figure of
//     0.94% turned FEC off for a second, and four of the call's five freezes followed.
// Everything can be switched off (enabled = false), or per tool. The loss given should be what the
// path loses before repairs (the sender's transport feedback, as libwebrtc's FEC controller uses):
// a receiver report counts a packet that a retransmission restored in time as received.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <tuple>

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

// What the video stream sends now (rule 5).
struct StreamFigures {
  DataRate media_rate = DataRate::Zero();  // the encoder's target
  double fps = 30.0;
  // The path's least RTT (the propagation delay both ways); rules 5 and 6 judge "a retransmission
  // comes too late" by it when given, not by the smoothed RTT: a queue the call built itself (a
  // start-up burst on a 250 kbps link) is not a long path, and FEC reserved for it starved video.
  std::optional<TimeDelta> base_rtt;
  // The stream sends FEC now (rule 7).
  bool fec_on = false;
  // What that FEC costs now, on top of media_rate (rule 5 judges media + FEC).
  DataRate fec_rate = DataRate::Zero();

  // Media bytes a frame (0 without a frame rate).
  double bytes_per_frame() const { return fps > 0.0 ? media_rate.bps_f() / 8.0 / fps : 0.0; }
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
    double fec_off_loss = 0.005;  // rule 7 (above min_fec_loss: min_fec_loss)
    uint8_t max_fec_rate = 128;  // ~50% overhead
    uint8_t key_min_fec_rate = 64;
    double fec_only_multiplier = 4.0;  // rule 2's multiplier when NACK is not allowed
    double max_frame_loss = 0.0005;    // rule 6
    size_t max_group_frames = 2;       // rule 6: the longest group it may choose, 1..8
    // Rule 5.
    double min_fec_packets_per_frame = 2.0;
    double min_fec_packets_per_frame_on = 1.5;  // to stay on (StreamFigures::fec_on)
    int64_t packet_payload_bytes = 1200;
  };

  // Rejects loss thresholds outside [0, 1], negative RTT thresholds and max_group_frames outside
  // 1..8.
  static Result<ProtectionPolicy> Create(Config config);

  // rtt: smoothed round-trip time; loss_fraction in [0, 1] (clamped); bursty: losses come in runs;
  // stream: the stream's rate, frame rate and size (rule 5; nullptr: not applied).
  ProtectionDecision decide(TimeDelta rtt, double loss_fraction, bool bursty = false,
                            const StreamFigures* stream = nullptr) const;
  // Rule 5 alone: true when the stream is too small per frame for FEC beside NACK.
  bool too_small_for_fec(const StreamFigures& stream) const;
  const Config& config() const { return config_; }

 private:
  explicit ProtectionPolicy(Config config) : config_(config) {}
  // Rule 6: the FEC rate (0..256) and group length (frames; 0: no figure) that give the stream's
  // frames at most max_frame_loss.
  struct Residual {
    double rate = 0.0;
    size_t frames = 0;
  };
  Residual residual_rate(const StreamFigures& stream, double loss, FecMaskType type) const;
  // unrecoverable_patterns(k, m, type), kept: decide() runs at every loss figure, and the counts
  // do not depend on the loss. At most kMaxCachedPatterns entries (~50 bytes each); when full the
  // cache is emptied. bench/recovery_bench.cpp BM_ProtectionPolicyLongPath: a decision with every
  // size judged afresh costs 0.5-2.5 ms (1.5-8 Mbps), a kept one under 1 us, on the machine of
  // 2026-12-08.
  static constexpr size_t kMaxCachedPatterns = 256;
  // The largest group rule 6 judges: its first judgement of a (group size, FEC packet count) pair
  // decodes at most ~100 000 loss patterns (40 packets, up to four losses).
  static constexpr size_t kMaxJudgedGroup = 32;
  const UnrecoverablePatterns& patterns(size_t k, size_t m, FecMaskType type) const;
  Config config_;
  mutable std::map<std::tuple<size_t, size_t, FecMaskType>, UnrecoverablePatterns> patterns_;
};

}  // namespace tern::recovery
