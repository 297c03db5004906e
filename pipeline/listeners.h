// Narrow listener interfaces through which a pipeline reports per-frame measurements and time
// series (one listener per component, called synchronously from process()/on_packet(); a listener
// must not call back into the object that calls it). A harness such as tools/tern-loopback
// implements the ones it needs; none is required.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "tern/codecs/audio_frame.h"
#include "tern/codecs/video_frame.h"
#include "tern/core/units.h"
#include "tern/jitterbuffer/audio/audio_jitter_buffer.h"
#include "tern/media/video_quality.h"

namespace tern::pipeline {

// A video frame captured (and offered to the encoder) by a send stream.
struct CapturedVideoFrame {
  uint32_t ssrc = 0;
  uint32_t frame_number = 0;  // the FrameStamp number the source wrote into the picture
  Timestamp capture_time;
  uint32_t rtp_timestamp = 0;
  bool encoded = false;       // false: dropped by rate control or the stream is suspended
  bool keyframe = false;
  DataSize encoded_size = DataSize::Zero();
  // The picture as captured (stamped; already encoded). Valid only during the callback, after which
  // the stream discards it: a listener that wants to keep it may copy it or take it without a
  // copy (std::swap with a frame of its own; the stream does not look at it again).
  codecs::VideoFrame* picture = nullptr;
};

class VideoCaptureListener {
 public:
  virtual ~VideoCaptureListener() = default;
  virtual void on_video_frame_captured(const CapturedVideoFrame& frame) = 0;
};

// Where a receive stream measuring quality gets the source picture of a rendered frame without
// rendering it again (e.g. a harness that keeps the sender's captured pictures). Without one, or
// when it returns nullptr, the stream regenerates the peer's synthetic picture itself.
class ReferenceFrameProvider {
 public:
  virtual ~ReferenceFrameProvider() = default;
  // The source picture stamped `frame_number` (FrameStamp numbering, mod 2^24), or nullptr when it
  // is not kept. The pointer must stay valid until the next call into the provider.
  virtual const codecs::VideoFrame* reference_frame(uint32_t frame_number) = 0;
};

// A decoded video frame handed to the renderer.
struct RenderedVideoFrame {
  uint32_t ssrc = 0;
  std::optional<uint32_t> frame_number;  // read back from the FrameStamp; nullopt when unreadable
  uint32_t rtp_timestamp = 0;
  // Capture time on the sender's clock, from the RTP timestamp through the last SR's NTP/RTP
  // mapping (RFC 3550 6.4.1) mapped with the local NtpClock; nullopt before the first SR.
  std::optional<Timestamp> capture_time;
  Timestamp render_time;
  int width = 0;
  int height = 0;
  bool keyframe = false;
  // When EndpointConfig::measure_quality: PSNR of every frame whose source is known; SSIM on frames
  // whose number is a multiple of EndpointConfig::ssim_every (sampled, see there).
  std::optional<media::FrameQuality> quality;
  // The decoded picture. Valid only during the callback (the stream discards it afterwards).
  const codecs::VideoFrame* picture = nullptr;
};

class VideoRenderListener {
 public:
  virtual ~VideoRenderListener() = default;
  virtual void on_video_frame_rendered(const RenderedVideoFrame& frame) = 0;
};

// One 10 ms audio playout decision.
struct AudioPlayoutEvent {
  uint32_t ssrc = 0;
  Timestamp time;
  jitterbuffer::PlayoutOperation operation = jitterbuffer::PlayoutOperation::kMuted;
  TimeDelta buffer_delay = TimeDelta::Zero();  // audio buffered ahead of playout at that time
  TimeDelta sync_delay = TimeDelta::Zero();    // extra delay added for A/V sync
  // Capture to playout of the block's first sample, the sync delay included, with capture times
  // from the sender's reports (RFC 3550 6.4.1; exact when both hosts' clocks agree, as in a
  // simulation); nullopt before the first sender report, and for blocks not decoded from packets
  // (concealment, silence). From a tern sender this is mouth-to-ear: its reports stamp each RTP
  // timestamp with the instant the sample played there was spoken (packetization and the
  // encoder's look-ahead included; AudioSendStream).
  std::optional<TimeDelta> capture_to_playout;
  // The 10 ms of samples played (decoded, concealed or silence). Valid only during the callback.
  const codecs::AudioFrame* samples = nullptr;
};

class AudioPlayoutListener {
 public:
  virtual ~AudioPlayoutListener() = default;
  virtual void on_audio_playout(const AudioPlayoutEvent& event) = 0;
};

// Periodic network figures of one endpoint (every EndpointConfig::network_sample_interval).
struct NetworkSample {
  Timestamp time;
  DataRate target_bitrate = DataRate::Zero();  // congestion controller (or fixed) target
  DataRate pacing_rate = DataRate::Zero();
  DataRate send_rate = DataRate::Zero();       // bytes handed to the transport over the interval
  DataRate receive_rate = DataRate::Zero();    // bytes received over the interval
  std::optional<TimeDelta> rtt;                // latest RTCP round trip
  double loss_fraction = 0;                    // latest fraction lost reported by the peer
  DataRate video_target = DataRate::Zero();    // media rate given to the video encoder
  bool video_suspended = false;
};

class NetworkSampleListener {
 public:
  virtual ~NetworkSampleListener() = default;
  virtual void on_network_sample(const NetworkSample& sample) = 0;
};

}  // namespace tern::pipeline
