// VideoSource / AudioSource: the pull interfaces a send stream reads media from (a file, the host
// application's frames). The pipeline's send streams use their synthetic camera and microphone
// unless one of these is given (pipeline::Endpoint::set_video_source/set_audio_source).
// Pull-based and sans-I/O like the synthetic sources: the caller asks at times of its choosing.
#pragma once

#include <optional>

#include "tern/codecs/audio_frame.h"
#include "tern/codecs/video_frame.h"
#include "tern/core/units.h"

namespace tern::media {

class VideoSource {
 public:
  virtual ~VideoSource() = default;
  // The next picture once its capture time has come, else nullopt (not yet due, or ended).
  virtual std::optional<codecs::VideoFrame> next_frame(Timestamp now) = 0;
  // When next_frame() will next return a picture: PlusInfinity when unknown (before the first
  // call for a timed source, an empty application queue) or after the end.
  virtual Timestamp next_capture_time() const = 0;
  // True once the source will produce nothing more (end of a non-looping file).
  virtual bool ended() const { return false; }
};

class AudioSource {
 public:
  virtual ~AudioSource() = default;
  // The next `samples_per_channel` samples (a short last block is zero-padded) stamped `now`, or
  // nullopt when nothing is left.
  virtual std::optional<codecs::AudioFrame> next_samples(int samples_per_channel, Timestamp now) = 0;
  virtual int sample_rate_hz() const = 0;
  virtual int channels() const = 0;
  virtual bool ended() const { return false; }
};

}  // namespace tern::media
