// OpusDecoder: an RAII wrapper over libopus's decoder (RFC 6716) with packet loss concealment and
// in-band FEC (LBRR) recovery of a lost packet from the packet that follows it.
#pragma once

#include <memory>
#include <vector>

#include "tern/codecs/audio_decoder.h"

namespace tern::codecs {

class OpusDecoder final : public AudioDecoder {
 public:
  static Result<std::unique_ptr<OpusDecoder>> Create(const AudioDecoderConfig& config);
  ~OpusDecoder() override;
  OpusDecoder(const OpusDecoder&) = delete;
  OpusDecoder& operator=(const OpusDecoder&) = delete;

  Result<DecodedAudio> decode(std::span<const uint8_t> payload) override;
  Result<DecodedAudio> conceal(TimeDelta duration) override;
  Result<DecodedAudio> decode_fec(std::span<const uint8_t> next_payload, TimeDelta duration) override;
  void reset() override;
  const AudioDecoderConfig& config() const override { return config_; }

  // Longest output of one call: 120 ms, the longest Opus packet.
  static constexpr int kMaxFrameMs = 120;

 private:
  // Owns the libopus state; defined in the .cpp so that this header does not declare libopus's
  // global OpusDecoder type (which would clash with this class under using-directives).
  struct Handle;
  OpusDecoder(AudioDecoderConfig config, std::unique_ptr<Handle> dec);
  Result<DecodedAudio> run(const uint8_t* data, int size, int frame_size, bool fec, AudioDecodeKind kind);
  int max_samples_per_channel() const { return config_.sample_rate_hz / 1000 * kMaxFrameMs; }

  AudioDecoderConfig config_;
  std::unique_ptr<Handle> dec_;
  std::vector<int16_t> scratch_;  // fixed size: 120 ms of output
};

}  // namespace tern::codecs
