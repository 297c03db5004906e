#include "tern/codecs/opus_encoder.h"

#include <opus/opus.h>

#include <utility>

namespace tern::codecs {
namespace {

bool valid_opus_rate(int hz) {
  return hz == 8000 || hz == 12000 || hz == 16000 || hz == 24000 || hz == 48000;
}

constexpr int64_t kOpusMinBitrateBps = 6000;
constexpr int64_t kOpusMaxBitrateBps = 510000;

int opus_application(AudioApplication app) {
  switch (app) {
    case AudioApplication::kVoip: return OPUS_APPLICATION_VOIP;
    case AudioApplication::kAudio: return OPUS_APPLICATION_AUDIO;
    case AudioApplication::kLowDelay: return OPUS_APPLICATION_RESTRICTED_LOWDELAY;
  }
  return OPUS_APPLICATION_VOIP;
}

// The signal hint for an expected loss. libopus carries in-band FEC (LBRR) only in its SILK and
// hybrid modes, and its speech/music classifier keeps CELT (no LBRR) for anything it rates as
// music-like unless the expected loss exceeds ~(128 - voice estimate) / 16 percent: a call whose
// voice the classifier doubts got no protection at 1-8% loss. A VoIP encoder asked to protect
// against loss therefore declares speech, which selects the layers that can carry the redundancy;
// without loss (or FEC, or in the AUDIO/low-delay applications) the classifier decides.
opus_int32 signal_for(const AudioEncoderConfig& config, int loss_percent) {
  const bool protect = config.inband_fec && loss_percent > 0 && config.application == AudioApplication::kVoip;
  return protect ? OPUS_SIGNAL_VOICE : OPUS_AUTO;
}

}  // namespace

struct OpusEncoder::Handle {
  explicit Handle(::OpusEncoder* p) : ptr(p) {}
  ~Handle() { opus_encoder_destroy(ptr); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ::OpusEncoder* ptr;
};

OpusEncoder::OpusEncoder(AudioEncoderConfig config, std::unique_ptr<Handle> enc)
    : config_(config), enc_(std::move(enc)) {
  samples_per_frame_ = static_cast<int>(int64_t{config_.sample_rate_hz} * config_.frame_duration.us() / 1000000);
}

OpusEncoder::~OpusEncoder() = default;

Result<std::unique_ptr<OpusEncoder>> OpusEncoder::Create(const AudioEncoderConfig& config) {
  if (config.codec != CodecType::kOpus) return Error{"opus encoder: codec is not opus"};
  if (!valid_opus_rate(config.sample_rate_hz)) return Error{"opus encoder: unsupported sample rate"};
  if (config.channels != 1 && config.channels != 2) return Error{"opus encoder: channels must be 1 or 2"};
  const int64_t frame_ms = config.frame_duration.us() % 1000 == 0 ? config.frame_duration.us() / 1000 : -1;
  if (frame_ms != 10 && frame_ms != 20 && frame_ms != 40 && frame_ms != 60) {
    return Error{"opus encoder: frame duration must be 10, 20, 40 or 60 ms"};
  }
  if (config.bitrate.bps() < kOpusMinBitrateBps || config.bitrate.bps() > kOpusMaxBitrateBps) {
    return Error{"opus encoder: bitrate outside 6..510 kbps"};
  }
  if (config.complexity < 0 || config.complexity > 10) return Error{"opus encoder: complexity outside 0..10"};
  if (config.packet_loss_percent < 0 || config.packet_loss_percent > 100) {
    return Error{"opus encoder: packet loss percent outside 0..100"};
  }
  int err = OPUS_OK;
  ::OpusEncoder* e =
      opus_encoder_create(config.sample_rate_hz, config.channels, opus_application(config.application), &err);
  if (err != OPUS_OK || e == nullptr) return Error{"opus encoder: opus_encoder_create failed"};
  auto enc = std::make_unique<Handle>(e);
  if (opus_encoder_ctl(e, OPUS_SET_BITRATE(static_cast<opus_int32>(config.bitrate.bps()))) != OPUS_OK ||
      opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(config.complexity)) != OPUS_OK ||
      opus_encoder_ctl(e, OPUS_SET_DTX(config.dtx ? 1 : 0)) != OPUS_OK ||
      opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(config.inband_fec ? 1 : 0)) != OPUS_OK ||
      opus_encoder_ctl(e, OPUS_SET_PACKET_LOSS_PERC(config.packet_loss_percent)) != OPUS_OK ||
      opus_encoder_ctl(e, OPUS_SET_SIGNAL(signal_for(config, config.packet_loss_percent))) != OPUS_OK ||
      // Real-time: constant-ish bitrate is friendlier to congestion control than full VBR.
      opus_encoder_ctl(e, OPUS_SET_VBR_CONSTRAINT(1)) != OPUS_OK) {
    return Error{"opus encoder: opus_encoder_ctl rejected the configuration"};
  }
  return std::unique_ptr<OpusEncoder>(new OpusEncoder(config, std::move(enc)));
}

Result<EncodedFrame> OpusEncoder::encode(const AudioFrame& frame) {
  if (frame.sample_rate_hz != config_.sample_rate_hz) return Error{"opus encoder: frame sample rate mismatch"};
  if (frame.channels != config_.channels) return Error{"opus encoder: frame channel count mismatch"};
  if (frame.samples_per_channel != samples_per_frame_) return Error{"opus encoder: frame duration mismatch"};
  if (frame.samples.size() != static_cast<std::size_t>(samples_per_frame_) * static_cast<std::size_t>(config_.channels)) {
    return Error{"opus encoder: sample buffer size does not match samples_per_channel"};
  }
  EncodedFrame out;
  out.codec = CodecType::kOpus;
  out.data.resize(kMaxPacketBytes);
  const opus_int32 n = opus_encode(enc_->ptr, frame.samples.data(), samples_per_frame_, out.data.data(),
                                   static_cast<opus_int32>(out.data.size()));
  if (n < 0) return Error{n == OPUS_BUFFER_TOO_SMALL ? "opus encoder: packet exceeds buffer" : "opus encoder: opus_encode failed"};
  out.data.resize(static_cast<std::size_t>(n));
  out.is_keyframe = true;
  // libopus signals DTX with a TOC-only (1 byte) or 2-byte packet.
  out.is_dtx = n <= 2;
  out.rtp_timestamp = frame.rtp_timestamp;
  out.capture_time = frame.capture_time;
  out.duration = config_.frame_duration;
  return out;
}

Status OpusEncoder::set_target_bitrate(DataRate bitrate) {
  if (bitrate.bps() < kOpusMinBitrateBps || bitrate.bps() > kOpusMaxBitrateBps) {
    return Error{"opus encoder: bitrate outside 6..510 kbps"};
  }
  if (opus_encoder_ctl(enc_->ptr, OPUS_SET_BITRATE(static_cast<opus_int32>(bitrate.bps()))) != OPUS_OK) {
    return Error{"opus encoder: OPUS_SET_BITRATE failed"};
  }
  config_.bitrate = bitrate;
  return Status::Ok();
}

Status OpusEncoder::set_packet_loss_percent(int percent) {
  if (percent < 0 || percent > 100) return Error{"opus encoder: packet loss percent outside 0..100"};
  if (opus_encoder_ctl(enc_->ptr, OPUS_SET_PACKET_LOSS_PERC(percent)) != OPUS_OK ||
      opus_encoder_ctl(enc_->ptr, OPUS_SET_SIGNAL(signal_for(config_, percent))) != OPUS_OK) {
    return Error{"opus encoder: OPUS_SET_PACKET_LOSS_PERC failed"};
  }
  config_.packet_loss_percent = percent;
  return Status::Ok();
}

TimeDelta OpusEncoder::lookahead() const {
  opus_int32 samples = 0;
  if (opus_encoder_ctl(enc_->ptr, OPUS_GET_LOOKAHEAD(&samples)) != OPUS_OK) return TimeDelta::Zero();
  return TimeDelta::Micros(int64_t{samples} * 1000000 / config_.sample_rate_hz);
}

}  // namespace tern::codecs
