#include "tern/tools/loopback/webm_tap.h"

#include "tern/rtp/rtp_packet.h"
#include "tern/rtp/rtp_rtcp_split.h"

namespace tern::tools {

Result<std::unique_ptr<WebmTap>> WebmTap::Create(const std::string& path, const pipeline::EndpointConfig& sender) {
  media::WebmRecorderConfig rc;
  rc.video = sender.send.video;
  rc.width = sender.send.width;
  rc.height = sender.send.height;
  rc.audio = sender.send.audio.has_value();
  auto r = media::WebmRecorder::Create(path, rc);
  if (!r) return Error{r.error()};
  std::unique_ptr<WebmTap> tap(new WebmTap(std::move(r).value(), sender));
  const pipeline::PayloadTypes& pts = sender.payload_types;
  if (rc.video) {
    pipeline::RtpReceiveFront::Config vc;
    vc.ssrc = sender.local.video;
    vc.rtx_ssrc = sender.local.video_rtx;
    const uint8_t media_pt = pts.of(*rc.video);
    vc.rtx_payload_types[pts.video_rtx] = media_pt;  // RED is unwrapped for RTX (apt = the codec)
    vc.red_payload_type = pts.red;
    if (sender.send.protection.flexfec) {
      vc.flexfec_ssrc = sender.local.video_fec;
      vc.flexfec_payload_type = pts.flexfec;
    }
    auto front = pipeline::RtpReceiveFront::Create(vc);
    if (!front) return Error{front.error()};
    tap->video_front_.emplace(std::move(front).value());
  }
  if (rc.audio) {
    pipeline::RtpReceiveFront::Config ac;
    ac.ssrc = sender.local.audio;
    ac.red_payload_type = pts.audio_red;
    auto front = pipeline::RtpReceiveFront::Create(ac);
    if (!front) return Error{front.error()};
    tap->audio_front_.emplace(std::move(front).value());
  }
  return tap;
}

WebmTap::WebmTap(std::unique_ptr<media::WebmRecorder> recorder, const pipeline::EndpointConfig& sender)
    : recorder_(std::move(recorder)),
      payload_types_(sender.payload_types),
      codec_(sender.send.video.value_or(codecs::CodecType::kVp8)) {}

void WebmTap::on_datagram(std::span<const uint8_t> datagram, Timestamp now) {
  if (rtp::is_rtcp(datagram)) return;
  auto parsed = rtp::RtpPacket::parse(datagram);
  if (!parsed) return;  // not RTP: nothing to record (B's endpoint counts what it cannot parse)
  const rtp::RtpPacket packet = std::move(parsed).value();
  // Whether a stream's front took the packet does not matter: others are not recorded.
  if (audio_front_ && audio_front_->on_rtp(packet, now, audio_in_)) return;
  if (video_front_) video_front_->on_rtp(packet, now, video_in_);
}

WebmTap::Verdict WebmTap::on_audio_packet(rtp::RtpPacket packet, pipeline::PacketOrigin origin, Timestamp now) {
  if (origin == pipeline::PacketOrigin::kRedundancy) return {};  // the primary block only
  if (packet.payload_type() != payload_types_.opus || packet.payload().empty()) return {};
  // A refused block (out of order, over a size limit) is counted in the recorder's stats.
  (void)recorder_->add_audio(packet.payload(), packet.timestamp(), now);
  return {};
}

WebmTap::Verdict WebmTap::on_video_packet(rtp::RtpPacket packet, pipeline::PacketOrigin origin, Timestamp now) {
  if (origin == pipeline::PacketOrigin::kRedundancy) return {};  // the primary block only
  const uint8_t pt = packet.payload_type();
  if (pt != payload_types_.vp8 && pt != payload_types_.vp9) return {};  // ULPFEC and anything else
  auto parsed = jitterbuffer::parse_video_packet(codec_, packet);
  if (!parsed) return {};  // not a VP8/VP9 payload: nothing to record
  const jitterbuffer::ParsedVideoPacket info = parsed.value();
  for (const jitterbuffer::EncodedVideoFrame& frame : packets_.insert(std::move(packet), info, now).frames) {
    (void)recorder_->add_video(frame.data, frame.rtp_timestamp, frame.keyframe, now);  // as add_audio
    packets_.clear_to(frame.last_seq);  // older incomplete frames are given up
  }
  return {};
}

}  // namespace tern::tools
