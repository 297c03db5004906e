// Render timing for video: maps an RTP timestamp to the local time its frame would have arrived
// over an ideal network (the smallest receive-minus-capture offset over a sliding window), and adds
// the target delay: jitter estimate + repair allowance (once retransmissions are seen) + render
// delay, clamped to [min_delay, max_delay].
//
// Repair allowance: a frame that lost a packet completes about one RTT late (NACK + RTX). Holding
// every frame for the whole RTT (libwebrtc's default) keeps repaired frames on time at the cost of
// an RTT of delay on all of them; with repair_lateness L the target holds only max(0, RTT - L), so
// a repaired frame (and the frames decoded after it) render at most about L late: a short stutter
// when L stays below the freeze threshold (frame interval + 150 ms, webrtc-stats), not a freeze.
// With FEC beside NACK (frequent_repair_fraction > 0) the allowance is held only while frames
// completed by retransmission are frequent, and while FEC packets actually arrive: a sender that
// negotiated FEC but sends none (its protection policy turns FEC off at low rates or low loss) is
// NACK-only, and its repaired frames need the RTT as much as without FEC.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

#include "tern/core/seq_num.h"
#include "tern/core/sliding_extremum.h"
#include "tern/core/units.h"
#include "tern/jitterbuffer/video/video_jitter_estimator.h"

namespace tern::jitterbuffer {

struct VideoTimingConfig {
  uint32_t clock_rate = 90000;                      // Hz of the RTP timestamps
  TimeDelta min_delay = TimeDelta::Zero();
  TimeDelta max_delay = TimeDelta::Seconds(2);
  TimeDelta render_delay = TimeDelta::Millis(10);   // time the renderer needs
  TimeDelta offset_window = TimeDelta::Seconds(3);  // sliding window of the base offset
  bool add_rtt_after_retransmission = true;         // NACK in use: frames may wait for a repair
  // How late a repaired frame may render; the target holds max(0, RTT - repair_lateness). Zero
  // holds the whole RTT.
  TimeDelta repair_lateness = TimeDelta::Zero();
  TimeDelta initial_rtt = TimeDelta::Millis(100);   // the RTT until set_rtt()
  // FEC beside NACK (libwebrtc holds no RTT then): FEC repairs most losses without a round trip,
  // so the allowance is held only while retransmissions are frequent: more packets restored by RTX
  // (on_retransmitted_packet) than `frequent_repair_fraction` of the frames of the last
  // `repair_window` (bursty loss that FEC cannot rebuild). Rare ones render late (a stutter)
  // instead of every frame waiting an RTT. Zero fraction: hold it after the first
  // retransmission, as without FEC (no window is kept). The rule applies only while FEC is
  // received (on_fec_packet within the last repair_window); before the first FEC packet and after
  // the sender stopped sending it, the first retransmission holds the RTT as without FEC. The
  // repairs counted restart with FEC (those before it were all NACK's).
  double frequent_repair_fraction = 0.0;
  TimeDelta repair_window = TimeDelta::Seconds(10);
  // Measured repair time: while the allowance is held, it is at least the `repair_quantile` of how
  // long the repaired frames of the last repair_window waited for their repair (last packet's
  // arrival less the first's: queueing delays the whole frame and is the jitter estimate's part),
  // at most max_repair_allowance. A repair takes one RTT only
  // when the first retransmission arrives: on a bursty path (8% in runs of 3) retransmissions are
  // lost too and the second try comes two RTTs late, a freeze each time the target held one.
  // Needs min_repair_samples repaired frames in the window; 0 = off (the RTT alone). It rises by
  // at most max_repair_step a frame (a jump of the target is a gap in the rendered frames: a
  // freeze of its own above ~150 ms) and falls at once.
  double repair_quantile = 0.0;
  size_t min_repair_samples = 8;
  TimeDelta max_repair_allowance = TimeDelta::Millis(500);
  TimeDelta max_repair_step = TimeDelta::Millis(10);
};

class VideoTiming {
 public:
  static constexpr size_t kMaxWindowFrames = 1024;

  explicit VideoTiming(const VideoTimingConfig& config = {}) : config_(config), rtt_(config.initial_rtt) {}

  // A complete frame with RTP timestamp `ts` was received at `receive_time`. Retransmitted frames
  // update the clock offset but not the jitter estimate (their delay is not network jitter).
  // `first_receive_time`: when the frame's first packet arrived (repair_quantile measures a
  // repaired frame's wait from there; MinusInfinity: unknown, not measured).
  void on_frame(uint32_t ts, Timestamp receive_time, DataSize size, bool retransmitted,
                Timestamp first_receive_time = Timestamp::MinusInfinity());
  void set_rtt(TimeDelta rtt) { rtt_ = rtt; }
  // A packet restored by retransmission (RTX) arrived: counted for frequent_repair_fraction.
  void on_retransmitted_packet(Timestamp now);
  // An FEC packet of this stream arrived (ULPFEC or FlexFEC): FEC is in use (see
  // frequent_repair_fraction).
  void on_fec_packet(Timestamp now);

  // When the frame with `ts` should be rendered; requires one on_frame() before.
  Timestamp render_time(uint32_t ts);
  TimeDelta target_delay() const;
  // The part of the target held for retransmissions (zero before any was seen).
  TimeDelta repair_allowance() const;
  TimeDelta jitter() const { return estimator_.estimate(); }

 private:
  TimeDelta capture_time(int64_t unwrapped_ts) const;
  // Drops the entries older than repair_window before `now`, and the oldest beyond kMaxWindowFrames.
  template <typename T>
  void trim_window(std::deque<T>& q, Timestamp now) const {
    while (!q.empty() && (arrival(q.front()) < now - config_.repair_window || q.size() > kMaxWindowFrames)) q.pop_front();
  }
  static Timestamp arrival(Timestamp t) { return t; }
  static Timestamp arrival(const std::pair<Timestamp, TimeDelta>& e) { return e.first; }
  // Some FEC packet arrived within repair_window of the latest frame.
  bool fec_in_use() const;

  VideoTimingConfig config_;
  VideoJitterEstimator estimator_;
  RtpTimestampUnwrapper unwrapper_;
  // The smallest offset (receive time minus capture time) over offset_window: the ideal arrival.
  SlidingExtremum<TimeDelta> window_{kMaxWindowFrames};
  std::optional<int64_t> prev_ts_;
  Timestamp prev_receive_ = Timestamp::MinusInfinity();
  TimeDelta rtt_;
  bool retransmissions_seen_ = false;
  // Arrival times of the frames of the last repair_window, and of the packets restored by RTX
  // (bounded: kMaxWindowFrames each, oldest first).
  std::deque<Timestamp> recent_frames_;
  std::deque<Timestamp> recent_repaired_;
  // How long each frame completed by a repair waited for it (receive time, wait), oldest first,
  // bounded like the windows above, and its repair_quantile (recomputed only when they change).
  std::deque<std::pair<Timestamp, TimeDelta>> repaired_waits_;
  TimeDelta wait_quantile_ = TimeDelta::Zero();
  TimeDelta measured_allowance_ = TimeDelta::Zero();  // the quantile's part, rising by steps
  void update_wait_quantile();
  Timestamp last_fec_ = Timestamp::MinusInfinity();
  Timestamp last_frame_ = Timestamp::MinusInfinity();
};

}  // namespace tern::jitterbuffer
