#include "tern/media/synthetic_audio_source.h"

#include <algorithm>
#include <cmath>

namespace tern::media {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Formant frequencies (F1, F2, F3 in Hz) of a few vowels, after Peterson & Barney's averages.
constexpr std::array<std::array<double, 3>, 5> kVowels = {{
    {730, 1090, 2440},  // a
    {530, 1840, 2480},  // e
    {270, 2290, 3010},  // i
    {570, 840, 2410},   // o
    {300, 870, 2240},   // u
}};

// cos(2 pi turns) from a 1024-point table with linear interpolation (error below 5e-6, under a
// tenth of a 16-bit step): the speech signal needs three per sample, and libm's cos was the
// largest cost of a simulated call outside the codecs.
constexpr int kCosineSize = 1024;

std::array<double, kCosineSize + 1> make_cosine_table() {
  std::array<double, kCosineSize + 1> t{};
  for (int i = 0; i <= kCosineSize; ++i) t[static_cast<size_t>(i)] = std::cos(2 * kPi * i / kCosineSize);
  return t;
}
const std::array<double, kCosineSize + 1> kCosine = make_cosine_table();

// `turns` >= -1 (every caller's argument is): the fractional part without a libm floor call.
inline double cos_turns(double turns) {
  const double shifted = turns + 1.0;
  const double x = (shifted - static_cast<double>(static_cast<int64_t>(shifted))) * kCosineSize;
  const int i = std::min(static_cast<int>(x), kCosineSize - 1);
  const double f = x - i;
  return kCosine[static_cast<size_t>(i)] + f * (kCosine[static_cast<size_t>(i) + 1] - kCosine[static_cast<size_t>(i)]);
}

}  // namespace

void SyntheticAudioSource::Resonator::tune(double freq_hz, double bandwidth_hz, double rate_hz) {
  const double r = std::exp(-kPi * bandwidth_hz / rate_hz);
  const double theta = 2 * kPi * std::min(freq_hz, rate_hz * 0.45) / rate_hz;
  a1 = 2 * r * std::cos(theta);
  a2 = -r * r;
  gain = 1 - r;  // keeps the peak gain roughly constant across bandwidths
}

double SyntheticAudioSource::Resonator::step(double x) {
  const double y = gain * x + a1 * y1 + a2 * y2;
  y2 = y1;
  y1 = y;
  return y;
}

Result<SyntheticAudioSource> SyntheticAudioSource::Create(const SyntheticAudioConfig& config) {
  if (config.sample_rate_hz < 8000 || config.sample_rate_hz > 48000) {
    return Error{"synthetic audio: sample rate must be 8000..48000"};
  }
  if (config.channels != 1 && config.channels != 2) return Error{"synthetic audio: channels must be 1 or 2"};
  if (!(config.amplitude >= 0 && config.amplitude <= 1)) return Error{"synthetic audio: amplitude must be 0..1"};
  const double nyquist = config.sample_rate_hz / 2.0;
  if (config.kind == SyntheticAudioKind::kTone && !(config.tone_hz > 0 && config.tone_hz < nyquist)) {
    return Error{"synthetic audio: tone must be below Nyquist"};
  }
  if (config.kind == SyntheticAudioKind::kSweep) {
    if (!(config.sweep_from_hz > 0 && config.sweep_to_hz > config.sweep_from_hz && config.sweep_to_hz < nyquist)) {
      return Error{"synthetic audio: sweep must rise and stay below Nyquist"};
    }
    if (config.sweep_period < TimeDelta::Millis(10)) return Error{"synthetic audio: sweep period too short"};
  }
  return SyntheticAudioSource(config);
}

SyntheticAudioSource::SyntheticAudioSource(const SyntheticAudioConfig& config) : config_(config), rng_(config.seed) {
  speech_.syllables_to_pause = static_cast<int>(rng_.uniform_int(3, 7));
  start_syllable();
}

void SyntheticAudioSource::start_syllable() {
  const double rate = config_.sample_rate_hz;
  speech_.syllable_length = static_cast<int64_t>(rate * rng_.uniform(0.16, 0.30));  // ~4-6 syllables/s
  speech_.syllable_left = speech_.syllable_length;
  speech_.pitch_hz = rng_.uniform(100, 180);
  const auto& vowel = kVowels[static_cast<size_t>(rng_.uniform_int(0, kVowels.size() - 1))];
  const std::array<double, 3> bandwidths = {90, 110, 170};
  for (size_t i = 0; i < 3; ++i) speech_.formants[i].tune(vowel[i], bandwidths[i], rate);
}

double SyntheticAudioSource::next_speech_sample() {
  const double rate = config_.sample_rate_hz;
  if (speech_.pause_left > 0) {
    --speech_.pause_left;
    if (speech_.pause_left == 0) start_syllable();
    return 0.0;
  }
  // Glottal source: a Rosenberg-like pulse per pitch period (rising half cosine, fast closure).
  speech_.vibrato_phase += 5.0 / rate;
  if (speech_.vibrato_phase >= 1.0) speech_.vibrato_phase -= 1.0;
  const double f0 = speech_.pitch_hz * (1 + 0.03 * cos_turns(speech_.vibrato_phase - 0.25));  // sin
  speech_.phase += f0 / rate;
  if (speech_.phase >= 1.0) speech_.phase -= 1.0;  // f0 < rate: at most one whole cycle per sample
  const double p = speech_.phase;
  double pulse = 0;
  if (p < 0.4) {
    pulse = 0.5 * (1 - cos_turns(p / 0.8));
  } else if (p < 0.56) {
    pulse = cos_turns((p - 0.4) / 0.64);
  }
  const double excitation = pulse - 0.35;  // remove most of the DC
  double y = 0;
  const std::array<double, 3> weights = {1.0, 0.6, 0.3};
  for (size_t i = 0; i < 3; ++i) y += weights[i] * speech_.formants[i].step(excitation);
  // Syllable envelope: raised cosine over the syllable.
  const double pos = 1.0 - static_cast<double>(speech_.syllable_left) / static_cast<double>(speech_.syllable_length);
  const double envelope = 0.5 * (1 - cos_turns(pos));
  if (--speech_.syllable_left <= 0) {
    if (--speech_.syllables_to_pause <= 0) {
      speech_.syllables_to_pause = static_cast<int>(rng_.uniform_int(3, 7));
      speech_.pause_left = static_cast<int64_t>(rate * rng_.uniform(0.3, 0.8));
      for (auto& f : speech_.formants) f.y1 = f.y2 = 0;
    } else {
      start_syllable();
    }
  }
  return std::clamp(3.0 * y * envelope, -1.0, 1.0);
}

double SyntheticAudioSource::next_sample() {
  const double rate = config_.sample_rate_hz;
  double s = 0;
  switch (config_.kind) {
    case SyntheticAudioKind::kTone:
      phase_ += config_.tone_hz / rate;
      s = std::sin(2 * kPi * phase_);
      break;
    case SyntheticAudioKind::kSweep: {
      const int64_t period = std::max<int64_t>(1, config_.sweep_period.us() * config_.sample_rate_hz / 1000000);
      const double pos = static_cast<double>(sample_index_ % period) / static_cast<double>(period);
      const double f = config_.sweep_from_hz * std::pow(config_.sweep_to_hz / config_.sweep_from_hz, pos);
      phase_ += f / rate;
      s = std::sin(2 * kPi * phase_);
      break;
    }
    case SyntheticAudioKind::kSpeech:
      s = next_speech_sample();
      break;
  }
  if (phase_ >= 1.0) phase_ -= std::floor(phase_);
  ++sample_index_;
  return s * config_.amplitude;
}

codecs::AudioFrame SyntheticAudioSource::next_samples(int samples_per_channel, Timestamp now) {
  codecs::AudioFrame frame =
      codecs::AudioFrame::Silence(config_.sample_rate_hz, config_.channels, std::max(0, samples_per_channel));
  frame.capture_time = now;
  frame.rtp_timestamp = static_cast<uint32_t>(sample_index_);
  for (int i = 0; i < frame.samples_per_channel; ++i) {
    const double x = next_sample() * 32767.0;  // |x| <= 32767: round half away from zero, as lround
    const auto v = static_cast<int16_t>(x >= 0 ? x + 0.5 : x - 0.5);
    for (int c = 0; c < config_.channels; ++c) frame.samples[static_cast<size_t>(i * config_.channels + c)] = v;
  }
  return frame;
}

codecs::AudioFrame SyntheticAudioSource::next_audio(Timestamp now) {
  return next_samples(config_.sample_rate_hz / 100, now);
}

}  // namespace tern::media
