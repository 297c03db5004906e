// AudioDecoder: the interface every audio decoder implements (today: OpusDecoder), with packet
// loss concealment and in-band FEC recovery as first-class operations.
#pragma once

#include <cstdint>
#include <span>

#include "tern/codecs/audio_frame.h"
#include "tern/codecs/encoded_frame.h"
#include "tern/core/result.h"
#include "tern/core/units.h"

namespace tern::codecs {

struct AudioDecoderConfig {
  CodecType codec = CodecType::kOpus;
  int sample_rate_hz = 48000;  // output rate; Opus: 8000, 12000, 16000, 24000 or 48000
  int channels = 1;            // output channels, 1 or 2
};

enum class AudioDecodeKind : uint8_t {
  kNormal,       // decoded from the packet itself
  kConcealment,  // synthesised for a missing packet (PLC)
  kFec,          // recovered from the redundancy carried in the following packet
};

struct DecodedAudio {
  AudioFrame frame;  // samples_per_channel tells how much was produced
  AudioDecodeKind kind = AudioDecodeKind::kNormal;
};

class AudioDecoder {
 public:
  virtual ~AudioDecoder() = default;

  // Decodes one packet. Malformed packets give an error and leave the decoder usable.
  virtual Result<DecodedAudio> decode(std::span<const uint8_t> payload) = 0;
  // Produces `duration` of concealment audio for packets that never arrived (rounded to 2.5 ms,
  // at most 120 ms).
  virtual Result<DecodedAudio> conceal(TimeDelta duration) = 0;
  // Recovers the packet *before* `next_payload` from its in-band FEC; `duration` is the lost
  // packet's duration. Without FEC data in next_payload this degrades to concealment (kind says).
  virtual Result<DecodedAudio> decode_fec(std::span<const uint8_t> next_payload, TimeDelta duration) = 0;
  // Forgets all decoder state (for example after a stream switch).
  virtual void reset() = 0;
  virtual const AudioDecoderConfig& config() const = 0;
};

}  // namespace tern::codecs
