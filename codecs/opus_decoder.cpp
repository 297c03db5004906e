#include "tern/codecs/opus_decoder.h"

#include <opus/opus.h>

#include <utility>

namespace tern::codecs {

struct OpusDecoder::Handle {
  explicit Handle(::OpusDecoder* p) : ptr(p) {}
  ~Handle() { opus_decoder_destroy(ptr); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ::OpusDecoder* ptr;
};

OpusDecoder::OpusDecoder(AudioDecoderConfig config, std::unique_ptr<Handle> dec)
    : config_(config), dec_(std::move(dec)) {
  scratch_.resize(static_cast<std::size_t>(max_samples_per_channel()) * static_cast<std::size_t>(config_.channels));
}

OpusDecoder::~OpusDecoder() = default;

Result<std::unique_ptr<OpusDecoder>> OpusDecoder::Create(const AudioDecoderConfig& config) {
  if (config.codec != CodecType::kOpus) return Error{"opus decoder: codec is not opus"};
  const int hz = config.sample_rate_hz;
  if (hz != 8000 && hz != 12000 && hz != 16000 && hz != 24000 && hz != 48000) {
    return Error{"opus decoder: unsupported sample rate"};
  }
  if (config.channels != 1 && config.channels != 2) return Error{"opus decoder: channels must be 1 or 2"};
  int err = OPUS_OK;
  ::OpusDecoder* d = opus_decoder_create(hz, config.channels, &err);
  if (err != OPUS_OK || d == nullptr) return Error{"opus decoder: opus_decoder_create failed"};
  auto dec = std::make_unique<Handle>(d);
  return std::unique_ptr<OpusDecoder>(new OpusDecoder(config, std::move(dec)));
}

Result<DecodedAudio> OpusDecoder::run(const uint8_t* data, int size, int frame_size, bool fec,
                                      AudioDecodeKind kind) {
  const int n = opus_decode(dec_->ptr, data, size, scratch_.data(), frame_size, fec ? 1 : 0);
  if (n < 0) {
    switch (n) {
      case OPUS_INVALID_PACKET: return Error{"opus decoder: invalid or corrupt packet"};
      case OPUS_BUFFER_TOO_SMALL: return Error{"opus decoder: packet longer than 120 ms"};
      case OPUS_BAD_ARG: return Error{"opus decoder: bad argument"};
      default: return Error{"opus decoder: opus_decode failed"};
    }
  }
  DecodedAudio out;
  out.kind = kind;
  out.frame.sample_rate_hz = config_.sample_rate_hz;
  out.frame.channels = config_.channels;
  out.frame.samples_per_channel = n;
  out.frame.samples.assign(scratch_.begin(), scratch_.begin() + static_cast<ptrdiff_t>(n) * config_.channels);
  return out;
}

Result<DecodedAudio> OpusDecoder::decode(std::span<const uint8_t> payload) {
  if (payload.empty()) return Error{"opus decoder: empty payload (use conceal() for a lost packet)"};
  if (payload.size() > 1275 * 48) return Error{"opus decoder: payload too large"};
  const int samples = opus_decoder_get_nb_samples(dec_->ptr, payload.data(), static_cast<opus_int32>(payload.size()));
  if (samples < 0) return Error{"opus decoder: invalid or corrupt packet"};
  if (samples > max_samples_per_channel()) return Error{"opus decoder: packet longer than 120 ms"};
  return run(payload.data(), static_cast<int>(payload.size()), max_samples_per_channel(), false,
             AudioDecodeKind::kNormal);
}

namespace {
// Whether an Opus packet carries LBRR (in-band FEC) data for the previous packet. Only SILK and
// hybrid modes have LBRR; the flags sit in the first bits of the first frame's range-coded data:
// per channel, one VAD bit per 20 ms SILK frame followed by one LBRR bit (RFC 6716 4.2.3).
// Returns -1 for a malformed packet.
int packet_has_fec(std::span<const uint8_t> p) {
  if (p.empty()) return -1;
  if (p[0] & 0x80) return 0;  // CELT-only configuration
  const int config = p[0] >> 3;
  // SILK-only: configs 0..11 (10/20/40/60 ms); hybrid: 12..15 (10/20 ms).
  const int duration_code = config & 0x3;
  const int silk_frames = config < 12 ? (duration_code <= 1 ? 1 : duration_code) : 1;
  const int channels = opus_packet_get_nb_channels(p.data());
  const unsigned char* frames[48];
  opus_int16 sizes[48];
  const int n = opus_packet_parse(p.data(), static_cast<opus_int32>(p.size()), nullptr, frames, sizes, nullptr);
  if (n < 0) return -1;
  if (n == 0 || sizes[0] <= 1) return 0;
  for (int ch = 0; ch < channels; ++ch) {
    const int bit = (ch + 1) * (silk_frames + 1) - 1;
    if (frames[0][0] & (0x80 >> bit)) return 1;
  }
  return 0;
}

// Opus decodes lost audio in multiples of 2.5 ms.
int loss_samples(TimeDelta duration, int sample_rate_hz) {
  const int64_t quantum_us = 2500;
  const int64_t us = (duration.us() + quantum_us / 2) / quantum_us * quantum_us;
  return static_cast<int>(us * sample_rate_hz / 1000000);
}
}  // namespace

Result<DecodedAudio> OpusDecoder::conceal(TimeDelta duration) {
  if (duration.is_infinite() || duration < TimeDelta::Micros(2500) || duration > TimeDelta::Millis(kMaxFrameMs)) {
    return Error{"opus decoder: concealment duration outside 2.5..120 ms"};
  }
  return run(nullptr, 0, loss_samples(duration, config_.sample_rate_hz), false, AudioDecodeKind::kConcealment);
}

Result<DecodedAudio> OpusDecoder::decode_fec(std::span<const uint8_t> next_payload, TimeDelta duration) {
  if (duration.is_infinite() || duration < TimeDelta::Micros(2500) || duration > TimeDelta::Millis(kMaxFrameMs)) {
    return Error{"opus decoder: FEC duration outside 2.5..120 ms"};
  }
  if (next_payload.empty()) return conceal(duration);
  if (next_payload.size() > 1275 * 48) return Error{"opus decoder: payload too large"};
  const int has_fec = packet_has_fec(next_payload);
  if (has_fec < 0) return Error{"opus decoder: invalid or corrupt packet"};
  const int samples = loss_samples(duration, config_.sample_rate_hz);
  if (has_fec == 0) return run(nullptr, 0, samples, false, AudioDecodeKind::kConcealment);
  return run(next_payload.data(), static_cast<int>(next_payload.size()), samples, true, AudioDecodeKind::kFec);
}

void OpusDecoder::reset() { opus_decoder_ctl(dec_->ptr, OPUS_RESET_STATE); }

}  // namespace tern::codecs
