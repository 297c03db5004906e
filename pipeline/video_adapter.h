// VideoAdapter: which resolution and frame rate a video send stream encodes, given the rate the
// allocator gives it, the encoder's QP and (when measured) its encode time. The idea of libwebrtc's
// VideoStreamAdapter with its degradation preference, its bitrate-per-resolution limits, its
// QualityScaler and its OveruseFrameDetector, written for tern; Sans-I/O: the stream feeds rates,
// QPs and encode durations, and calls update(now) once per captured frame.
//
// Levels: a ladder from the source size and rate downwards, by preference:
//   maintain-framerate:  resolution steps (3/4, 1/2, 3/8, 1/4, ... of the source, while at least
//                        160x120 of pixels), the source frame rate kept;
//   maintain-resolution: frame-rate steps (30, 24, 20, 15, 10, 7.5, 5 below the source's);
//   disabled:            level 0 only (nothing ever changes);
//   balanced (default):  resolution steps, each with a frame-rate cap that falls with the step
//                        (the source's rate at the source size and at 3/4 of it, 24 fps at 1/2,
//                        20 below: 640x480@30, 480x360@30, 320x240@24, 240x180@20, 160x120@20),
//                        then 15, 10 and 5 fps at the smallest size.
// A level needs a rate (needed_rate(): kbps by pixel count, e.g. 500 at 640x480, 300 at 480x360,
// 150 at 320x240, scaled by 0.4 + 0.6 x fps/30).
// Down: the target below severe_short_fraction of the current level's need: at once, to the first
// level whose need the target meets; the target below the need for down_delay: straight to the
// first level whose need the spell's mean target meets (one keyframe, not one per step); or the mean QP of the last
// frames above qp_high (only to a smaller size: never into frame-rate-only levels); or the encode
// time above overuse_high of the frame interval (each one step).
// Up, one step at a time: the target at least up_margin x the next level's need (or the mean QP
// below qp_low with the target at least that need), and no overuse, for up_delay without a break.
// A size the quality scaler left is not re-entered on the rate alone until the target is
// qp_reentry_margin x the rate it was left at (its QP was too high at that rate, whatever the
// table says); a low QP still lifts it at once.
// An up step followed by a down step within kUpProbation doubles up_delay (up to kMaxUpDelay), so a
// rate that sits at a threshold does not make the size go up and down.
#pragma once

#include <array>
#include <deque>
#include <optional>
#include <string_view>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/units.h"

namespace tern::pipeline {

// kDisabled: never adapt (libwebrtc's DegradationPreference::DISABLED; not a webrtc API value).
enum class DegradationPreference { kBalanced, kMaintainFramerate, kMaintainResolution, kDisabled };
// "balanced", "maintain-framerate", "maintain-resolution" (the webrtc RTCDegradationPreference
// values) or "disabled"; nullopt for anything else.
std::optional<DegradationPreference> parse_degradation_preference(std::string_view text);
const char* to_string(DegradationPreference preference);

// webrtc-stats RTCQualityLimitationReason ("other" is never reported).
enum class QualityLimitationReason { kNone = 0, kBandwidth = 1, kCpu = 2 };
const char* to_string(QualityLimitationReason reason);

struct VideoAdaptationLevel {
  int width = 0;
  int height = 0;
  double fps = 0;
};

class VideoAdapter {
 public:
  struct Config {
    int width = 640;  // the source's size and frame rate: level 0
    int height = 480;
    double fps = 30.0;
    DegradationPreference preference = DegradationPreference::kBalanced;
    // Quality scaler on the encoder's QP scale (EncodedFrame::qp); qp_high <= 0 turns it off.
    int qp_low = 0;
    int qp_high = 0;
    // Overuse: encode time as a fraction of the frame interval (smoothed over about a second).
    double overuse_high = 0.85;
    double overuse_low = 0.45;
    TimeDelta down_delay = TimeDelta::Seconds(1);
    // A target below this fraction of the level's need steps down at once (no down_delay),
    // straight to the first level whose need the target meets; 0: never.
    double severe_short_fraction = 0.35;
    TimeDelta up_delay = TimeDelta::Seconds(4);
    double up_margin = 1.3;
    // See above; 0: the rate rule alone (the quality scaler and the rate table then disagree on a
    // hard source, and the size goes up and down, a keyframe each time).
    double qp_reentry_margin = 1.5;
  };
  static constexpr TimeDelta kUpProbation = TimeDelta::Seconds(10);
  static constexpr TimeDelta kMaxUpDelay = TimeDelta::Seconds(60);
  static constexpr size_t kQpWindow = 30;     // frames averaged by the quality scaler
  static constexpr size_t kMaxLevels = 16;

  static Result<VideoAdapter> Create(const Config& config);

  // The rate a level of this size and frame rate needs (see the table in the .cpp).
  static DataRate needed_rate(int width, int height, double fps);

  // The allocator's media rate for the stream; `suspended`: it sends nothing (no adaptation then).
  void set_target(DataRate rate, bool suspended);
  // One encoded frame: its QP (-1: unknown) and how long the encoder took (nullopt: not measured).
  void on_frame_encoded(int qp, std::optional<TimeDelta> encode_time);
  // Re-evaluates at `now` (non-decreasing; once per captured frame). True when the level changed.
  bool update(Timestamp now);

  const VideoAdaptationLevel& level() const { return levels_[index_]; }
  size_t level_index() const { return index_; }
  const std::vector<VideoAdaptationLevel>& levels() const { return levels_; }
  // Why the stream is below level 0 now (bandwidth also while suspended).
  QualityLimitationReason reason() const;
  // webrtc-stats qualityLimitationDurations: time spent in each reason up to the last update().
  const std::array<TimeDelta, 3>& durations() const { return durations_; }
  // webrtc-stats qualityLimitationResolutionChanges: level changes that changed the size.
  int64_t resolution_changes() const { return resolution_changes_; }
  TimeDelta up_delay() const { return up_delay_; }

 private:
  explicit VideoAdapter(const Config& config, std::vector<VideoAdaptationLevel> levels);
  void move_to(size_t index, QualityLimitationReason why, Timestamp now);
  DataRate need(size_t index) const;
  std::optional<double> mean_qp() const;

  Config config_;
  std::vector<VideoAdaptationLevel> levels_;
  size_t index_ = 0;
  QualityLimitationReason down_reason_ = QualityLimitationReason::kNone;
  DataRate target_ = DataRate::Zero();
  bool has_target_ = false;
  bool suspended_ = false;
  std::deque<int> qps_;                 // the last kQpWindow frames' QP
  std::optional<double> encode_usage_;  // smoothed encode time / frame interval
  Timestamp last_update_ = Timestamp::MinusInfinity();
  Timestamp down_since_ = Timestamp::PlusInfinity();  // each trigger's condition held since
  Timestamp qp_down_since_ = Timestamp::PlusInfinity();
  Timestamp cpu_down_since_ = Timestamp::PlusInfinity();
  Timestamp up_since_ = Timestamp::PlusInfinity();
  double short_rate_sum_ = 0;     // kbps summed over the updates of the current short spell
  double short_rate_frames_ = 0;
  Timestamp last_up_ = Timestamp::MinusInfinity();
  TimeDelta up_delay_;
  std::array<TimeDelta, 3> durations_{TimeDelta::Zero(), TimeDelta::Zero(), TimeDelta::Zero()};
  int64_t resolution_changes_ = 0;
  // The last level the quality scaler stepped down from and the target then; cleared when an up
  // step re-enters it (or a larger size).
  struct QpLimit {
    size_t level = 0;
    DataRate rate = DataRate::Zero();
  };
  std::optional<QpLimit> qp_limit_;
};

}  // namespace tern::pipeline
