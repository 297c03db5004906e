// ComfortNoise: low-level background noise for DTX gaps (RFC 7587 section 3.1.3 lets an Opus
// sender stop sending during silence; RFC 3389 describes the idea of comfort noise). The level
// follows the last decoded speech frame's energy, capped at -50 dBFS and floored at -80 dBFS; the
// spectrum is gently low-passed white noise. Deterministic (fixed-seed generator), so tests and
// simulations repeat exactly.
#pragma once

#include <cstdint>
#include <span>

namespace tern::jitterbuffer {

class ComfortNoise {
 public:
  // Learns the level from decoded audio (interleaved); quiet frames pull the level down.
  void update_level(std::span<const int16_t> pcm);
  // Writes `out.size()` interleaved samples of noise; the first call after speech fades in from
  // `last_sample` over 2.5 ms so the switch does not click.
  void generate(std::span<int16_t> out, int channels, int sample_rate_hz, int16_t last_sample);
  // Marks the end of a comfort-noise stretch (speech resumed).
  void stop() { active_ = false; }
  double level() const { return rms_; }

 private:
  uint32_t state_ = 0x1234567u;
  double rms_ = 30.0;
  double lowpass_ = 0;
  bool active_ = false;
};

}  // namespace tern::jitterbuffer
