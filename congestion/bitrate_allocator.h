// Splits the congestion controller's target between audio, video encoders (with their FEC) and a
// retransmission (RTX) budget, in the spirit of libwebrtc's BitrateAllocator.
//
// Order of service: RTX share off the top; audio minimum; video minimums in priority order (a
// stream whose minimum does not fit is suspended, and resumes only once its minimum plus a
// hysteresis margin fits, so it does not flap); audio up to its maximum; what is left goes to the
// active video streams in proportion to their priority, up to their maximums (water-filling).
// So audio is served first: below about (audio max + video minimum) the encoder rate of audio
// follows the target (Opus between its minimum and maximum) while video keeps its minimum.
// Video figures include FEC: a stream with fec_overhead 0.2 gets media + 20% FEC. Audio figures
// are the codec's rate; audio redundancy (RED's copies, wire_factor) is granted only when the
// budget allows it: after audio's maximum and every video minimum, if the copies fit what is left
// and cost at most max_redundancy_share of the target (redundancy_off_share to stay on: no
// toggling near the edge; without video streams, whenever they fit). With every video stream
// suspended the copies take nothing from video: Opus then shares audio's budget with them (codec
// rate = what audio may have / wire_factor, as long as that is at least its minimum), so a path
// too narrow for video still carries protected audio and the sender does not sit
// application-limited (cc-issue-steps' 100 kbps phase held its target only so). Below that audio goes without RED (Opus in-band FEC still protects it)
// instead of starving video: at 250 kbps two RED copies of 32 kbps Opus took what video needed to
// stay above its minimum, and the suspended stream left the sender application-limited.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/units.h"

namespace tern::congestion {

struct AudioAllocationConfig {
  DataRate min_rate = DataRate::KilobitsPerSec(16);  // codec (Opus) rate
  DataRate max_rate = DataRate::KilobitsPerSec(64);
  // Payload bytes on the wire per byte of codec output with redundancy: 1 plain, 1 + n with RED
  // carrying n redundant copies (RFC 2198). Charged (audio x wire_factor) only while the
  // redundancy is granted (BitrateAllocation::audio_redundancy).
  double wire_factor = 1.0;
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
  DataRate audio = DataRate::Zero();       // codec rate
  DataRate audio_wire = DataRate::Zero();  // what audio takes of the target (x wire_factor with redundancy)
  bool audio_redundancy = false;           // the redundant copies (wire_factor > 1) fit: send them
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
    // Audio redundancy's share of the target: granted up to max_redundancy_share, kept up to
    // redundancy_off_share once granted (two RED copies of 32 kbps Opus: granted from a 256 kbps
    // target, dropped below 213 kbps).
    double max_redundancy_share = 0.25;
    double redundancy_off_share = 0.30;
  };

  BitrateAllocator() : BitrateAllocator(Config{}) {}
  explicit BitrateAllocator(Config config) : config_(config) {}

  // Rejected (audio unchanged): min > max, a negative minimum or a wire_factor below 1.
  Status set_audio(std::optional<AudioAllocationConfig> audio);
  // Rejects min > max, negative FEC overhead, non-positive priority, a duplicate id or too many
  // streams.
  Status add_video_stream(const VideoStreamConfig& stream);
  bool remove_video_stream(uint32_t id);
  // A stream's FEC share changed (the sender's protection policy turned FEC on, off or up):
  // false for an unknown id or a negative (or NaN) overhead.
  bool set_fec_overhead(uint32_t id, double fec_overhead);

  // Splits `target`; remembers which streams are suspended for the hysteresis. `spare` (audio's
  // unused share, measured by the caller) adds to what the active video streams share above their
  // minimums only: it never resumes a stream nor keeps one running.
  BitrateAllocation allocate(DataRate target, DataRate spare = DataRate::Zero());

 private:
  struct Stream {
    VideoStreamConfig config;
    bool suspended = false;
  };

  Config config_;
  std::optional<AudioAllocationConfig> audio_;
  std::vector<Stream> streams_;
  bool redundancy_ = false;
};

}  // namespace tern::congestion
