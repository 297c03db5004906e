// AvSync: lip sync between one audio and one video receive stream (the idea of libwebrtc's
// RtpStreamsSynchronizer). Each stream's capture-to-playout delay is measured through its sender
// reports' NTP/RTP mapping (RFC 3550 6.4.1: both streams share the sender's NTP clock, so the
// difference of the two delays needs no clock synchronisation between the hosts). Viewers notice
// audio ahead of the picture far sooner than audio behind it (ITU-R BT.1359; ATSC IS-191 asks
// for audio no more than 15 ms ahead and 45 ms behind), so the controller holds the earlier
// stream only as much as it takes to bring the offset into a window that is narrow on the audio-
// ahead side: audio ahead by up to audio_lead_tolerance, or behind by up to audio_lag_tolerance,
// is left alone (every ms of hold is delay the call pays). With the dead band on top, the
// offset it leaves stays within ATSC's window; a hold that nothing needs any more (goal zero) is
// released whatever its size, not kept because it is inside the dead band. Changes are
// rate-limited so playout does not jump.
// An offset beyond max_delay is a stalled stream (an outage), not a sync error: no extra delay.
// Neither stream is ever held more than its cap: past it the rest of the offset stays (a stream
// whose delay spiked is not matched by delaying the other one as much). Video waits for late
// audio at most max_video_hold (100 ms: audio lagging video that much is hardly noticed, ITU-R
// BT.1359), audio waits for late video at most max_audio_hold.
#pragma once

#include <optional>

#include "tern/core/units.h"

namespace tern::pipeline {

class AvSync {
 public:
  struct Config {
    TimeDelta max_step = TimeDelta::Millis(20);     // per update
    TimeDelta max_delay = TimeDelta::Millis(1000);  // larger offsets are a stalled stream
    TimeDelta max_audio_hold = TimeDelta::Millis(200);  // extra audio delay cap
    TimeDelta max_video_hold = TimeDelta::Millis(100);  // extra video delay cap
    TimeDelta dead_band = TimeDelta::Millis(10);    // corrections this small are left alone
    TimeDelta audio_lead_tolerance = TimeDelta::Millis(5);  // + dead band: ATSC's 15 ms
    TimeDelta audio_lag_tolerance = TimeDelta::Millis(35);  // + dead band: ATSC's 45 ms
  };
  AvSync() : AvSync(Config{}) {}
  explicit AvSync(Config config) : config_(config) {}

  // Current delays (capture to playout, without the extra sync delays); either may be unknown.
  void update(std::optional<TimeDelta> audio_delay, std::optional<TimeDelta> video_delay);

  TimeDelta audio_extra_delay() const { return audio_extra_; }
  TimeDelta video_extra_delay() const { return video_extra_; }
  // Video playout minus audio playout of the same capture instant, after the extra delays
  // (positive: video late); nullopt until both delays were measured.
  std::optional<TimeDelta> sync_offset() const { return offset_; }
  // The same before compensation.
  std::optional<TimeDelta> raw_offset() const { return raw_offset_; }

 private:
  static TimeDelta step_toward(TimeDelta current, TimeDelta goal, TimeDelta max_step);
  Config config_;
  TimeDelta audio_extra_ = TimeDelta::Zero();
  TimeDelta video_extra_ = TimeDelta::Zero();
  std::optional<TimeDelta> offset_;
  std::optional<TimeDelta> raw_offset_;
};

}  // namespace tern::pipeline
