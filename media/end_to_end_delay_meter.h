// EndToEndDelayMeter: capture-to-render delay of video frames, paired by the FrameStamp number
// (the sender's source records when each number was captured, the receiver when it rendered it),
// with percentiles over the kept samples. Sans-I/O: both times are the caller's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "tern/core/units.h"

namespace tern::media {

class EndToEndDelayMeter {
 public:
  // Remembers the last `capture_capacity` capture times (ring keyed by frame number) and the last
  // `max_samples` delays (older samples are overwritten first). Both at least 1.
  explicit EndToEndDelayMeter(size_t capture_capacity = 1024, size_t max_samples = 100000);

  void on_captured(uint32_t frame_number, Timestamp capture_time);
  // The delay of this frame, or nullopt when its capture was not recorded (or is forgotten) or it
  // was already rendered (repeats do not count twice).
  std::optional<TimeDelta> on_rendered(uint32_t frame_number, Timestamp render_time);

  // p in [0, 100]: nearest-rank percentile of the kept samples; nullopt without samples.
  std::optional<TimeDelta> percentile(double p) const;
  std::optional<TimeDelta> p50() const { return percentile(50); }
  std::optional<TimeDelta> p95() const { return percentile(95); }
  size_t samples() const { return samples_.size(); }
  int64_t unmatched() const { return unmatched_; }

 private:
  struct Capture {
    uint32_t frame_number = 0;
    Timestamp time;
    bool valid = false;
    bool rendered = false;
  };
  std::vector<Capture> captures_;
  std::vector<TimeDelta> samples_;
  size_t max_samples_;
  size_t next_sample_ = 0;
  int64_t unmatched_ = 0;
};

}  // namespace tern::media
