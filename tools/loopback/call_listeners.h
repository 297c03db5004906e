// The pipeline listeners through which a tern-loopback call is observed: A's captures (counts,
// capture times for the end-to-end delay, pictures for B's quality measurement), B's renders (one
// FrameRecord each), B's audio playout (concealment and delays) and A's network samples.
#pragma once

#include <cstdint>
#include <vector>

#include "tern/media/end_to_end_delay_meter.h"
#include "tern/pipeline/listeners.h"
#include "tern/tools/loopback/metrics.h"
#include "tern/tools/loopback/reference_frame_cache.h"

namespace tern::tools {

// A's captured video frames: counted, their capture times given to `meter`, and their pictures
// handed to `references` (when set) for the peer's quality measurement.
struct CaptureLog final : pipeline::VideoCaptureListener {
  media::EndToEndDelayMeter* meter = nullptr;  // required
  ReferenceFrameCache* references = nullptr;   // A's pictures for B's quality measurement
  int64_t captured = 0, encoded = 0, keyframes = 0;
  void on_video_frame_captured(const pipeline::CapturedVideoFrame& f) override;
};

// B's rendered video frames, one FrameRecord each in `frames`, with the capture-to-render delay
// `meter` pairs by frame number.
struct RenderLog final : pipeline::VideoRenderListener {
  media::EndToEndDelayMeter* meter = nullptr;  // required
  std::vector<FrameRecord>* frames = nullptr;  // required
  void on_video_frame_rendered(const pipeline::RenderedVideoFrame& f) override;
};

// B's 10 ms audio playout decisions, counted from the first normal (decoded) one: what comes
// before is the stream starting, not concealment.
struct PlayoutLog final : pipeline::AudioPlayoutListener {
  AudioPlayoutCounts counts;
  bool started = false;
  void on_audio_playout(const pipeline::AudioPlayoutEvent& e) override;
};

// Every network sample of an endpoint, in time order (one per sample interval: bounded by the
// call's length).
struct SampleLog final : pipeline::NetworkSampleListener {
  std::vector<pipeline::NetworkSample> samples;
  void on_network_sample(const pipeline::NetworkSample& s) override { samples.push_back(s); }
};

}  // namespace tern::tools
