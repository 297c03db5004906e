// SyntheticAudioSource: a deterministic test microphone producing 10 ms blocks of PCM16: a pure
// tone, a repeating logarithmic sweep, or a speech-like signal (glottal pulse train with vibrato
// through three formant resonators, syllable-rate amplitude envelope and pauses between phrases,
// so that Opus takes its speech paths and DTX has silences to act on).
//
// Pull-based and sans-I/O: each next_audio() call returns the next block; content depends only
// on (config, sample index), so a run is reproducible from its seed.
#pragma once

#include <array>
#include <cstdint>

#include "tern/codecs/audio_frame.h"
#include "tern/core/random.h"
#include "tern/core/result.h"
#include "tern/core/units.h"

namespace tern::media {

enum class SyntheticAudioKind : uint8_t { kTone, kSweep, kSpeech };

struct SyntheticAudioConfig {
  SyntheticAudioKind kind = SyntheticAudioKind::kSpeech;
  int sample_rate_hz = 48000;  // 8000..48000
  int channels = 1;            // 1 or 2 (the same signal on both)
  double amplitude = 0.3;      // peak, fraction of full scale, 0..1
  double tone_hz = 440.0;      // kTone, below Nyquist
  double sweep_from_hz = 100.0;  // kSweep: log sweep from..to over sweep_period, then repeats
  double sweep_to_hz = 8000.0;   // below Nyquist (lower it for 16 kHz and less)
  TimeDelta sweep_period = TimeDelta::Seconds(2);
  uint64_t seed = 1;           // kSpeech: pitch, vowels, syllable and pause lengths
};

class SyntheticAudioSource {
 public:
  static Result<SyntheticAudioSource> Create(const SyntheticAudioConfig& config);

  // The next 10 ms block. capture_time = now; rtp_timestamp counts samples from 0 (the sample
  // rate is the RTP clock, as for Opus at 48 kHz).
  codecs::AudioFrame next_audio(Timestamp now);
  // Blocks of any length (samples per channel), for encoders with 20..60 ms frames.
  codecs::AudioFrame next_samples(int samples_per_channel, Timestamp now);
  // True while the speech-like signal is in a pause (silence) at the current position.
  bool in_pause() const { return speech_.pause_left > 0; }

  const SyntheticAudioConfig& config() const { return config_; }

 private:
  explicit SyntheticAudioSource(const SyntheticAudioConfig& config);
  double next_sample();
  double next_speech_sample();
  void start_syllable();

  struct Resonator {
    double a1 = 0, a2 = 0, gain = 0, y1 = 0, y2 = 0;
    void tune(double freq_hz, double bandwidth_hz, double rate_hz);
    double step(double x);
  };
  struct SpeechState {
    int64_t syllable_left = 0;   // samples left in the current syllable
    int64_t syllable_length = 1;
    int64_t pause_left = 0;      // samples left in a pause
    int syllables_to_pause = 0;
    double pitch_hz = 120.0;
    double phase = 0;            // glottal phase, cycles
    double vibrato_phase = 0;
    std::array<Resonator, 3> formants;
  };

  SyntheticAudioConfig config_;
  Random rng_;
  int64_t sample_index_ = 0;
  double phase_ = 0;  // tone/sweep phase, cycles
  SpeechState speech_;
};

}  // namespace tern::media
