// AudioQualitySummary: receive-side audio counters in the spirit of webrtc-stats
// (totalSamplesReceived, concealedSamples, concealmentEvents) from the decoder's output kinds:
// normal, concealed (PLC) or recovered from in-band FEC.
#pragma once

#include <cstdint>

#include "tern/codecs/audio_decoder.h"

namespace tern::media {

struct AudioQualityStats {
  int64_t total_samples = 0;       // per channel, everything played out
  int64_t concealed_samples = 0;   // synthesised by PLC
  int64_t fec_samples = 0;         // recovered from FEC
  int64_t concealment_events = 0;  // runs of consecutive concealed output
  double concealed_ratio() const {
    return total_samples > 0 ? static_cast<double>(concealed_samples) / static_cast<double>(total_samples) : 0.0;
  }
};

class AudioQualitySummary {
 public:
  // Counts one block of decoder output.
  void on_decoded(const codecs::DecodedAudio& audio) {
    const int64_t n = audio.frame.samples_per_channel;
    stats_.total_samples += n;
    const bool concealed = audio.kind == codecs::AudioDecodeKind::kConcealment;
    if (concealed) {
      stats_.concealed_samples += n;
      if (!in_concealment_) ++stats_.concealment_events;
    } else if (audio.kind == codecs::AudioDecodeKind::kFec) {
      stats_.fec_samples += n;
    }
    in_concealment_ = concealed;
  }
  const AudioQualityStats& stats() const { return stats_; }

 private:
  AudioQualityStats stats_;
  bool in_concealment_ = false;
};

}  // namespace tern::media
