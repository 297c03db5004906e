#include "tern/codecs/codec_factory.h"

#include "tern/codecs/opus_decoder.h"
#include "tern/codecs/opus_encoder.h"
#include "tern/codecs/vp8_encoder.h"
#include "tern/codecs/vp9_encoder.h"
#include "tern/codecs/vpx_decoder.h"

namespace tern::codecs {
namespace {

// Result<unique_ptr<Derived>> -> Result<unique_ptr<Base>>.
template <typename Base, typename Derived>
Result<std::unique_ptr<Base>> upcast(Result<std::unique_ptr<Derived>> r) {
  if (!r) return Error{r.error()};
  return std::unique_ptr<Base>(std::move(r).value());
}

}  // namespace

Result<std::unique_ptr<AudioEncoder>> CreateAudioEncoder(const AudioEncoderConfig& config) {
  if (config.codec != CodecType::kOpus) return Error{"codec factory: not an audio codec"};
  return upcast<AudioEncoder>(OpusEncoder::Create(config));
}

Result<std::unique_ptr<AudioDecoder>> CreateAudioDecoder(const AudioDecoderConfig& config) {
  if (config.codec != CodecType::kOpus) return Error{"codec factory: not an audio codec"};
  return upcast<AudioDecoder>(OpusDecoder::Create(config));
}

Result<std::unique_ptr<VideoEncoder>> CreateVideoEncoder(const VideoEncoderConfig& config) {
  switch (config.codec) {
    case CodecType::kVp8: return upcast<VideoEncoder>(Vp8Encoder::Create(config));
    case CodecType::kVp9: return upcast<VideoEncoder>(Vp9Encoder::Create(config));
    case CodecType::kOpus: break;
  }
  return Error{"codec factory: not a video codec"};
}

Result<std::unique_ptr<VideoDecoder>> CreateVideoDecoder(const VideoDecoderConfig& config) {
  if (config.codec != CodecType::kVp8 && config.codec != CodecType::kVp9) {
    return Error{"codec factory: not a video codec"};
  }
  return upcast<VideoDecoder>(VpxDecoder::Create(config));
}

}  // namespace tern::codecs
