// OpusEncoder: an RAII wrapper over libopus's encoder (RFC 6716) for real-time use: bitrate,
// complexity, DTX and in-band FEC (LBRR) controllable; packets are ready for RFC 7587 payloading.
// With in-band FEC on, the VoIP application and a non-zero expected loss the encoder is told the
// signal is speech (OPUS_SIGNAL_VOICE): only the SILK/hybrid modes carry LBRR, and libopus's
// classifier would otherwise keep music-like input in CELT with no redundancy at a few percent loss.
#pragma once

#include <memory>

#include "tern/codecs/audio_encoder.h"

namespace tern::codecs {

class OpusEncoder final : public AudioEncoder {
 public:
  // Validates the configuration (see AudioEncoderConfig for ranges) and creates the encoder.
  static Result<std::unique_ptr<OpusEncoder>> Create(const AudioEncoderConfig& config);
  ~OpusEncoder() override;
  OpusEncoder(const OpusEncoder&) = delete;
  OpusEncoder& operator=(const OpusEncoder&) = delete;

  Result<EncodedFrame> encode(const AudioFrame& frame) override;
  Status set_target_bitrate(DataRate bitrate) override;
  Status set_packet_loss_percent(int percent) override;
  TimeDelta lookahead() const override;
  const AudioEncoderConfig& config() const override { return config_; }

  // Largest packet encode() will produce (RFC 6716 recommends 1275 bytes per frame).
  static constexpr int kMaxPacketBytes = 1500;

 private:
  // Owns the libopus state; defined in the .cpp so that this header does not declare libopus's
  // global OpusEncoder type (which would clash with this class under using-directives).
  struct Handle;
  OpusEncoder(AudioEncoderConfig config, std::unique_ptr<Handle> enc);

  AudioEncoderConfig config_;
  std::unique_ptr<Handle> enc_;
  int samples_per_frame_ = 0;
};

}  // namespace tern::codecs
