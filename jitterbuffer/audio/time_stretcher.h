// TimeStretcher: changes the length of decoded PCM by about one pitch period without an audible
// click, the WSOLA / pitch-synchronous overlap-add idea behind NetEq's accelerate and preemptive
// expand (Verhelst & Roelands, "An overlap-add technique based on waveform similarity", 1993).
//
// The lag L (2.5..15 ms, at most half the input) that maximises the normalised cross-correlation
// of two consecutive segments x[0, L) and x[L, 2L) is the pitch period. Accelerate replaces those
// two periods by one crossfaded period; preemptive expand inserts a crossfaded copy between them.
// Either happens only when the correlation is high (periodic, voiced signal) or the signal is
// near silence, so the splice is inaudible; otherwise the input is left untouched.
#pragma once

#include <cstdint>
#include <vector>

namespace tern::jitterbuffer {

class TimeStretcher {
 public:
  // Minimum normalised correlation for a splice of audible (non-silent) audio.
  static constexpr double kCorrelationThreshold = 0.9;
  // Mean absolute amplitude below which a signal counts as silence and may be spliced anywhere.
  static constexpr double kSilenceLevel = 60.0;

  // Both operate on interleaved samples in place; `pcm` holds whole frames of `channels` samples.
  // They return how many samples per channel were removed / inserted (0: left untouched).
  static int accelerate(std::vector<int16_t>& pcm, int channels, int sample_rate_hz);
  static int preemptive_expand(std::vector<int16_t>& pcm, int channels, int sample_rate_hz);

  // The lag (samples per channel) at which a splice is acceptable, or 0. Exposed for tests.
  static int find_splice_lag(const std::vector<int16_t>& pcm, int channels, int sample_rate_hz);
};

}  // namespace tern::jitterbuffer
