// SimulcastTimestampSplice: one continuous RTP timeline out of a sequence of simulcast encodings,
// each on its own timestamp base (RFC 3550: every SSRC starts at a random timestamp). The
// encoding used first keeps its timestamps; at each switch the new encoding's timestamps are
// offset so its first one follows the newest output timestamp by the capture time elapsed
// between the two frames (the senders' SR mappings, or any estimate of capture time on one clock
// for both), clamped to 1 tick .. 2^31 - 1 ticks: the output never goes backwards however the
// encodings' bases lie. Without both capture times it follows by one frame interval (the last
// step between two frames of the previous encoding, 3000 ticks at 90 kHz until one was seen).
//
// Used by MediaRouter (one per subscriber receiving a simulcast group) and by tern-sfu's
// recorder (one per recorded simulcast publisher). Sans-I/O, constant size.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

#include "tern/core/units.h"

namespace tern::pipeline {

// `a` is newer than `b` in RTP timestamp order (within half the 32-bit space).
inline bool newer_rtp_timestamp(uint32_t a, uint32_t b) { return a != b && static_cast<uint32_t>(a - b) < 0x8000'0000u; }

class SimulcastTimestampSplice {
 public:
  explicit SimulcastTimestampSplice(uint32_t clock_rate = 90000) : clock_rate_(clock_rate) {}

  // The next packets come from another encoding, the first one (a keyframe) with timestamp
  // `timestamp` captured at `capture` (nullopt: unknown).
  void switch_source(uint32_t timestamp, std::optional<Timestamp> capture) {
    std::optional<TimeDelta> elapsed;
    if (capture && newest_out_capture_) elapsed = *capture - *newest_out_capture_;
    switch_source_after(timestamp, elapsed);
  }
  // The same with the capture time elapsed since the newest output frame given by the caller
  // (which then passes no capture times to on_packet()).
  void switch_source_after(uint32_t timestamp, std::optional<TimeDelta> elapsed) {
    offset_ = 0;
    if (newest_out_) {
      uint32_t out = *newest_out_ + frame_interval_;
      if (elapsed) {
        const int64_t ticks = elapsed->us() * clock_rate_ / 1'000'000;
        out = *newest_out_ + static_cast<uint32_t>(std::clamp<int64_t>(ticks, 1, 0x7FFF'FFFF));
      }
      offset_ = out - timestamp;
    }
    newest_in_.reset();
  }
  // A packet of the current encoding with `timestamp`, captured at `capture`: its output timestamp.
  uint32_t on_packet(uint32_t timestamp, std::optional<Timestamp> capture) {
    if (!newest_in_ || newer_rtp_timestamp(timestamp, *newest_in_)) {
      const uint32_t step = newest_in_ ? timestamp - *newest_in_ : 0;
      if (step > 0 && step <= clock_rate_ / 2) frame_interval_ = step;
      newest_in_ = timestamp;
      newest_out_ = timestamp + offset_;
      newest_out_capture_ = capture;
    }
    return timestamp + offset_;
  }
  // Added to the current encoding's timestamps.
  uint32_t offset() const { return offset_; }
  // The newest output timestamp (nullopt before the first packet).
  std::optional<uint32_t> newest_output() const { return newest_out_; }

 private:
  uint32_t clock_rate_;
  uint32_t offset_ = 0;
  std::optional<uint32_t> newest_in_;           // input, of the current encoding
  std::optional<uint32_t> newest_out_;          // the newest output
  std::optional<Timestamp> newest_out_capture_;  // its capture time, when known
  uint32_t frame_interval_ = 3000;  // the current encoding's last step between frames (ticks)
};

}  // namespace tern::pipeline
