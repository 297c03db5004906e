// Factory functions: create an encoder or decoder for a codec named in its configuration, so that
// a pipeline can pick codecs from negotiation results without naming concrete classes.
#pragma once

#include <memory>

#include "tern/codecs/audio_decoder.h"
#include "tern/codecs/audio_encoder.h"
#include "tern/codecs/video_decoder.h"
#include "tern/codecs/video_encoder.h"

namespace tern::codecs {

// Each rejects a codec of the wrong kind (an audio codec for video and vice versa) and any invalid
// configuration with a reason.
Result<std::unique_ptr<AudioEncoder>> CreateAudioEncoder(const AudioEncoderConfig& config);
Result<std::unique_ptr<AudioDecoder>> CreateAudioDecoder(const AudioDecoderConfig& config);
Result<std::unique_ptr<VideoEncoder>> CreateVideoEncoder(const VideoEncoderConfig& config);
Result<std::unique_ptr<VideoDecoder>> CreateVideoDecoder(const VideoDecoderConfig& config);

}  // namespace tern::codecs
