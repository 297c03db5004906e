// WebmReader: lists the tracks and frames of a WebM file with libwebm's parser, for checking what a
// recorder wrote (frame counts, timestamps, keyframes) and for simple playback tools. Frame
// payloads are not kept, only their sizes and times.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/units.h"

namespace tern::media {

struct WebmTrackInfo {
  uint64_t number = 0;
  std::string codec_id;  // "V_VP8", "V_VP9", "A_OPUS", ...
  bool is_video = false;
  bool is_audio = false;
  int width = 0;
  int height = 0;
  int channels = 0;
  double sampling_frequency = 0;
};

struct WebmFrameInfo {
  uint64_t track = 0;
  TimeDelta time;  // cluster time + block offset, scaled by the segment's timecode scale
  bool keyframe = false;  // SimpleBlock key flag (false for BlockGroup blocks)
  uint64_t size = 0;
};

struct WebmInfo {
  std::vector<WebmTrackInfo> tracks;
  std::vector<WebmFrameInfo> frames;
  TimeDelta duration;  // Info/Duration element (zero when absent)
  // Frames of one track.
  std::vector<WebmFrameInfo> frames_of(uint64_t track) const;
};

// Parses a whole file in memory; at most max_frames frames are listed.
Result<WebmInfo> parse_webm(std::span<const uint8_t> file, size_t max_frames = 1000000);

}  // namespace tern::media
