// AudioEncoder: the interface every audio encoder implements (today: OpusEncoder), and its
// configuration. Frames go in one at a time; each call returns exactly one packet.
#pragma once

#include "tern/codecs/audio_frame.h"
#include "tern/codecs/encoded_frame.h"
#include "tern/core/result.h"
#include "tern/core/units.h"

namespace tern::codecs {

// Opus application (RFC 6716 / opus_encoder_create): VOIP favours speech intelligibility, AUDIO
// fidelity for music, LOW_DELAY disables the speech modes to save 4 ms of delay.
enum class AudioApplication : uint8_t { kVoip, kAudio, kLowDelay };

struct AudioEncoderConfig {
  CodecType codec = CodecType::kOpus;
  int sample_rate_hz = 48000;                     // Opus: 8000, 12000, 16000, 24000 or 48000
  int channels = 1;                               // 1 or 2
  TimeDelta frame_duration = TimeDelta::Millis(20);  // Opus: 10, 20, 40 or 60 ms
  DataRate bitrate = DataRate::KilobitsPerSec(32);   // Opus: 6..510 kbps
  int complexity = 9;                             // 0 (fastest) .. 10 (best)
  bool dtx = false;                               // discontinuous transmission on silence
  bool inband_fec = false;                        // LBRR copy of the previous frame in each packet
  int packet_loss_percent = 0;                    // expected loss, 0..100; drives FEC strength
  AudioApplication application = AudioApplication::kVoip;
};

class AudioEncoder {
 public:
  virtual ~AudioEncoder() = default;

  // Encodes one frame whose shape must match the configuration (rate, channels, duration). The
  // packet carries the frame's rtp_timestamp and capture_time; is_dtx marks a silence packet.
  virtual Result<EncodedFrame> encode(const AudioFrame& frame) = 0;
  // Takes effect from the next encode() call; out-of-range rates are rejected, not clamped.
  virtual Status set_target_bitrate(DataRate bitrate) = 0;
  // Expected packet loss hint (0..100 percent); with FEC on, more loss buys more redundancy.
  virtual Status set_packet_loss_percent(int percent) = 0;
  // Algorithmic delay: decoded output lags the input by this much.
  virtual TimeDelta lookahead() const = 0;
  virtual const AudioEncoderConfig& config() const = 0;
};

}  // namespace tern::codecs
