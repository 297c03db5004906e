// WebmTap: records what arrives at B into a WebM file (media::WebmRecorder). It sees the raw
// datagrams in front of B and reuses the library's receive parts: one pipeline::RtpReceiveFront
// per stream (RTX unwrapped (RFC 4588 OSN), RED (RFC 2198) split, of which the primary block is
// kept; ULPFEC is ignored) and for video a jitterbuffer::PacketBuffer that joins a frame's codec
// bytes once every packet from its first to its marker is there. A frame is written as soon as it
// is complete, in arrival order; frames still incomplete when a newer frame is written are
// skipped, as a receiver that gave up on them would. Bounded by the packet buffer (2048 packets at
// most, cleared when full).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "tern/core/result.h"
#include "tern/jitterbuffer/video/packet_buffer.h"
#include "tern/jitterbuffer/video/video_header.h"
#include "tern/media/webm_recorder.h"
#include "tern/pipeline/pipeline_config.h"
#include "tern/pipeline/rtp_receive_front.h"

namespace tern::tools {

class WebmTap {
 public:
  // `sender` is A's configuration (its SSRCs, payload types and codecs).
  static Result<std::unique_ptr<WebmTap>> Create(const std::string& path, const pipeline::EndpointConfig& sender);

  // One datagram as it reaches B (RTP or RTCP; RTCP and unknown SSRCs are ignored).
  void on_datagram(std::span<const uint8_t> datagram, Timestamp now);
  Status finish() { return recorder_->finish(); }
  const media::WebmRecorderStats& stats() const { return recorder_->stats(); }

 private:
  // What the fronts pass on: video into the packet buffer, audio straight to the recorder.
  using Verdict = pipeline::RtpReceiveFront::Listener::Verdict;
  Verdict on_video_packet(rtp::RtpPacket packet, pipeline::PacketOrigin origin, Timestamp now);
  Verdict on_audio_packet(rtp::RtpPacket packet, pipeline::PacketOrigin origin, Timestamp now);

  WebmTap(std::unique_ptr<media::WebmRecorder> recorder, const pipeline::EndpointConfig& sender);

  std::unique_ptr<media::WebmRecorder> recorder_;
  pipeline::PayloadTypes payload_types_;
  codecs::CodecType codec_;
  std::optional<pipeline::RtpReceiveFront> video_front_;
  std::optional<pipeline::RtpReceiveFront> audio_front_;
  jitterbuffer::PacketBuffer packets_;
  pipeline::ListenerOf<WebmTap, &WebmTap::on_video_packet> video_in_{*this};
  pipeline::ListenerOf<WebmTap, &WebmTap::on_audio_packet> audio_in_{*this};
};

}  // namespace tern::tools
