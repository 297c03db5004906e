// AudioFrame: a block of raw PCM audio as it flows between a source, an encoder, a decoder and a
// sink. Plain data, no codec knowledge.
#pragma once

#include <cstdint>
#include <vector>

#include "tern/core/units.h"

namespace tern::codecs {

struct AudioFrame {
  int sample_rate_hz = 48000;
  int channels = 1;
  int samples_per_channel = 0;
  // Interleaved samples; size() == samples_per_channel * channels.
  std::vector<int16_t> samples;
  // When the first sample was captured (driver clock); unset (zero) on the receive side.
  Timestamp capture_time;
  // RTP timestamp of the first sample (audio clock rate == sample rate for Opus: 48 kHz).
  uint32_t rtp_timestamp = 0;

  TimeDelta duration() const {
    return sample_rate_hz > 0 ? TimeDelta::Micros(int64_t{samples_per_channel} * 1000000 / sample_rate_hz)
                              : TimeDelta::Zero();
  }
  // Makes a zeroed (silent) frame of the given shape.
  static AudioFrame Silence(int sample_rate_hz, int channels, int samples_per_channel) {
    AudioFrame f;
    f.sample_rate_hz = sample_rate_hz;
    f.channels = channels;
    f.samples_per_channel = samples_per_channel;
    f.samples.assign(static_cast<std::size_t>(samples_per_channel) * static_cast<std::size_t>(channels), 0);
    return f;
  }
};

}  // namespace tern::codecs
