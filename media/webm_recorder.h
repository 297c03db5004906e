// WebmRecorder: records received VP8/VP9 frames and Opus packets into a WebM file through
// libavformat's Matroska muxer (Debian's libwebm ships only a parser). Each track's timestamps
// come from its RTP timestamps (90 kHz video, 48 kHz audio), unwrapped and made relative to the
// track's first packet; the arrival time of each track's first packet places the tracks against
// each other, so the recording plays back with the timing that was received.
//
// Video starts at the first keyframe (earlier delta frames are dropped and counted); packets whose
// timestamp is not after the track's previous one are dropped (the muxer needs increasing times).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "tern/codecs/encoded_frame.h"
#include "tern/core/result.h"
#include "tern/core/units.h"

namespace tern::media {

struct WebmRecorderConfig {
  std::optional<codecs::CodecType> video;  // kVp8 or kVp9, or no video track
  int width = 640;                         // video size, 1..16384
  int height = 480;
  bool audio = true;                       // an Opus track
  int audio_channels = 1;                  // 1 or 2
  // At most this much media per WebM cluster (100 ms..30 s). The muxer holds the open cluster in
  // memory and writes it whole when it closes (the file is flushed then): a recording cut short
  // without finish() (SIGKILL, a crash) keeps all but about this much. libavformat's own default for
  // a seekable file is 5 s (and 5 MiB); a cluster also closes at 2 MiB, and the muxer's interleaving
  // holds a track at most this long waiting for the other.
  TimeDelta cluster_duration = TimeDelta::Seconds(1);
};

struct WebmRecorderStats {
  int64_t video_frames = 0;
  int64_t audio_packets = 0;
  int64_t dropped = 0;  // before the first keyframe, non-increasing timestamps, malformed
};

class WebmRecorder {
 public:
  // Opens `path` for writing (replacing it) and writes the file header.
  static Result<std::unique_ptr<WebmRecorder>> Create(const std::string& path, const WebmRecorderConfig& config);
  // Finishes the file if finish() was not called.
  ~WebmRecorder();
  WebmRecorder(const WebmRecorder&) = delete;
  WebmRecorder& operator=(const WebmRecorder&) = delete;

  // One complete encoded video frame, its 90 kHz RTP timestamp and when it arrived.
  Status add_video(std::span<const uint8_t> data, uint32_t rtp_timestamp, bool keyframe, Timestamp arrival);
  Status add_video(const codecs::EncodedFrame& frame, Timestamp arrival) {
    return add_video(frame.data, frame.rtp_timestamp, frame.is_keyframe, arrival);
  }
  // One Opus packet, its 48 kHz RTP timestamp and when it arrived.
  Status add_audio(std::span<const uint8_t> packet, uint32_t rtp_timestamp, Timestamp arrival);
  // Writes the index and closes the file; a write error at any time (a full disk) is returned
  // here. Later adds fail.
  Status finish();
  // An error once a write to the file failed (the muxer writes through a buffer: seen when it
  // is flushed), ok before.
  Status write_status() const;

  const WebmRecorderStats& stats() const { return stats_; }

 private:
  struct Impl;
  explicit WebmRecorder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  WebmRecorderStats stats_;
};

}  // namespace tern::media
