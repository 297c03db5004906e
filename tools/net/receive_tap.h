// ReceiveTap: a second look at the plain RTP packets tern-recv receives, through one
// pipeline::RtpReceiveFront per stream (video: RTX unwrapped (RFC 4588), RED unwrapped and ULPFEC
// recovery (RFC 2198, RFC 5109); audio: the primary block of RED), video through a
// jitterbuffer::VideoJitterBuffer, and both codecs' encoded frames into a WebM recording (Y4M/WAV
// come from the Endpoint's render/playout listeners, ReceiveOutputs). It decodes just the first
// picture (the WebM track's size; a later change of size is in the VP8/VP9 bitstream, which
// players follow) and no audio. The muxer writes to disk as it goes; finish() closes the file.
// The file opens at the first picture (the track's size); the audio received before it is kept (at
// most kMaxAudioPreroll packets, the oldest dropped beyond) and written first, so the recording
// starts with the first audio, as sent, not with the first keyframe.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tern/codecs/video_decoder.h"
#include "tern/core/result.h"
#include "tern/jitterbuffer/video/video_jitter_buffer.h"
#include "tern/media/webm_recorder.h"
#include "tern/pipeline/pipeline_config.h"
#include "tern/pipeline/rtp_receive_front.h"
#include "tern/transport/pollable.h"

namespace tern::tools::net {

struct ReceiveTapConfig {
  std::optional<codecs::CodecType> video;  // kVp8 / kVp9
  uint8_t video_pt = 96;
  uint32_t video_ssrc = 0;
  std::optional<uint8_t> rtx_pt;
  uint32_t rtx_ssrc = 0;
  std::optional<uint8_t> red_pt;     // video RED (with ulpfec_pt: ULPFEC recovery in the tap too)
  std::optional<uint8_t> ulpfec_pt;
  uint32_t flexfec_ssrc = 0;          // non-zero: FlexFEC recovery in the tap too
  uint8_t flexfec_pt = 120;
  bool audio = false;
  uint8_t audio_pt = 111;
  uint32_t audio_ssrc = 0;
  std::optional<uint8_t> audio_red_pt;
  int fps = 30;
  std::string webm_path;  // empty: not written
};

struct ReceiveTapCounters {
  int64_t video_frames_assembled = 0;
  int64_t video_decode_errors = 0;  // before the first picture
  int64_t duplicate_audio_packets = 0;
  int64_t foreign_packets = 0;  // SSRC or payload type not configured
  int64_t fec_recovered = 0;
  int64_t frames_not_recorded = 0;  // video frames or audio packets the recorder refused
  int64_t video_frames_recorded = 0;     // written to the WebM file (accepted by the muxer)
  int64_t video_keyframes_recorded = 0;
  int64_t audio_packets_recorded = 0;
  // Recorded frames (packets) not continuous with the previous one recorded on their track: frames
  // the jitter buffer gave up on, audio packets lost (each hole counts once, however long).
  int64_t gaps = 0;
  // Whole frames never written because, when the recording ended, a frame before them still missed
  // a packet (its retransmission had not come: the sender left, or ended the session, first).
  int64_t video_frames_unrepaired_at_end = 0;
  int width = 0, height = 0;        // the first picture's
};

// The tap for what `config` (an Endpoint's configuration) receives: its remote SSRCs, payload
// types and receive protection (RTX, RED/ULPFEC, FlexFEC, audio RED).
ReceiveTapConfig receive_tap_config(const pipeline::EndpointConfig& config, int fps, const std::string& webm_path);

class ReceiveTap : public transport::Pollable {
 public:
  static constexpr size_t kMaxAudioPreroll = 100;  // 2 s of 20 ms Opus packets
  // The video jitter buffer holds every frame at least this long: a recording has no latency to
  // keep, so it waits for retransmissions that come late (a loaded sender or server) rather than
  // skip their frames: a keyframe that came before the repair would otherwise be written at once
  // and the frames waiting for it dropped. Frames keep their arrival times in the file; finish()
  // releases the rest.
  static constexpr TimeDelta kRecordingDelay = TimeDelta::Millis(500);
  static Result<std::unique_ptr<ReceiveTap>> Create(const ReceiveTapConfig& config);

  // One plain RTP packet.
  void on_rtp(std::span<const uint8_t> packet, Timestamp now);
  // The video RTX SSRC once learned (no effect without an RTX payload type).
  void set_rtx_ssrc(uint32_t rtx_ssrc) {
    if (video_front_ && config_.rtx_pt) video_front_->set_rtx_ssrc(rtx_ssrc);
  }
  std::optional<Timestamp> next_wakeup() const override;
  void process(Timestamp now) override;
  // Releases every frame still held, records it and closes the file. Idempotent.
  Status finish(Timestamp now);

  const ReceiveTapCounters& counters() const { return counters_; }
  // The WebM recording has begun (its first picture, or with audio only at once).
  bool recording() const { return webm_ != nullptr; }
  // An error once a write to the WebM file failed.
  Status write_status() const { return webm_ ? webm_->write_status() : open_error_; }

 private:
  // What the fronts pass on.
  using Verdict = pipeline::RtpReceiveFront::Listener::Verdict;
  Verdict on_video_packet(rtp::RtpPacket packet, pipeline::PacketOrigin origin, Timestamp now);
  Verdict on_audio_packet(rtp::RtpPacket packet, pipeline::PacketOrigin origin, Timestamp now);

  explicit ReceiveTap(const ReceiveTapConfig& config);
  void on_audio(const rtp::RtpPacket& packet, Timestamp now);
  void record_audio(std::span<const uint8_t> payload, uint32_t rtp_timestamp, bool continuous, Timestamp arrival);
  bool recorded(const Status& status);
  void recorded_video(const jitterbuffer::EncodedVideoFrame& frame, const Status& status);
  void decode(const jitterbuffer::EncodedVideoFrame& frame, Timestamp now);

  ReceiveTapConfig config_;
  jitterbuffer::VideoJitterBuffer jitter_buffer_;
  std::unique_ptr<codecs::VideoDecoder> video_decoder_;
  std::optional<pipeline::RtpReceiveFront> video_front_;
  std::optional<pipeline::RtpReceiveFront> audio_front_;
  pipeline::ListenerOf<ReceiveTap, &ReceiveTap::on_video_packet> video_in_{*this};
  pipeline::ListenerOf<ReceiveTap, &ReceiveTap::on_audio_packet> audio_in_{*this};
  std::unique_ptr<media::WebmRecorder> webm_;
  std::optional<uint16_t> last_audio_seq_;
  struct PrerollAudio {
    std::vector<uint8_t> payload;
    uint32_t rtp_timestamp = 0;
    bool continuous = true;
    Timestamp arrival = Timestamp::Zero();
  };
  std::deque<PrerollAudio> audio_preroll_;  // before the file opens; at most kMaxAudioPreroll
  std::optional<int64_t> last_recorded_video_seq_;  // unwrapped, the last packet of the last frame recorded
  bool finished_ = false;
  Status open_error_;  // the WebM file could not be opened when the first picture came
  ReceiveTapCounters counters_;
};

}  // namespace tern::tools::net
