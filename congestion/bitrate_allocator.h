// Splits the congestion controller's target between audio, video encoders (with their FEC) and a
// retransmission (RTX) budget, in the spirit of libwebrtc's BitrateAllocator.
//
// Order of service: RTX share off the top; audio minimum; video minimums in priority order (a
// stream whose minimum does not fit is suspended, and resumes only once its minimum plus a
// hysteresis margin fits, so it does not flap); audio up to its maximum; what is left goes to the
// active video streams in proportion to their priority, up to their maximums (water-filling).
// Video figures include FEC: a stream with fec_overhead 0.2 gets media + 20% FEC.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/units.h"

namespace tern::congestion {

struct AudioAllocationConfig {
  DataRate min_rate = DataRate::KilobitsPerSec(16);
  DataRate max_rate = DataRate::KilobitsPerSec(64);
};

struct VideoStreamConfig {
  uint32_t id = 0;
  DataRate min_rate = DataRate::KilobitsPerSec(50);  // media only
  DataRate max_rate = DataRate::MegabitsPerSec(2);   // media only
  double priority = 1.0;       // share weight for the rate above the minimums
  double fec_overhead = 0.0;   // FEC rate as a fraction of the media rate
  bool can_suspend = true;     // false: always gets its minimum, even beyond the target
};

struct VideoAllocation {
  uint32_t id = 0;
  DataRate media = DataRate::Zero();
  DataRate fec = DataRate::Zero();
  bool suspended = false;
};

struct BitrateAllocation {
  DataRate audio = DataRate::Zero();
  std::vector<VideoAllocation> video;  // in the order streams were added
  DataRate rtx = DataRate::Zero();
  DataRate unallocated = DataRate::Zero();  // target left over after every maximum is met
};

class BitrateAllocator {
 public:
  struct Config {
    double rtx_share = 0.05;                          // of the target, for retransmissions
    DataRate max_rtx_rate = DataRate::KilobitsPerSec(500);
    double resume_hysteresis_factor = 0.10;           // resume needs min x (1 + this) ...
    DataRate resume_hysteresis = DataRate::KilobitsPerSec(30);  // ... + this
    size_t max_video_streams = 64;
  };

  BitrateAllocator() : BitrateAllocator(Config{}) {}
  explicit BitrateAllocator(Config config) : config_(config) {}

  void set_audio(std::optional<AudioAllocationConfig> audio) { audio_ = audio; }
  // Rejects min > max, negative FEC overhead, non-positive priority, a duplicate id or too many
  // streams.
  Status add_video_stream(const VideoStreamConfig& stream);
  bool remove_video_stream(uint32_t id);

  // Splits `target`; remembers which streams are suspended for the hysteresis.
  BitrateAllocation allocate(DataRate target);

 private:
  struct Stream {
    VideoStreamConfig config;
    bool suspended = false;
  };

  Config config_;
  std::optional<AudioAllocationConfig> audio_;
  std::vector<Stream> streams_;
};

}  // namespace tern::congestion
