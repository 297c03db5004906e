#include "tern/tools/net/receive_tap.h"

#include <algorithm>

#include "tern/codecs/codec_factory.h"
#include "tern/core/seq_num.h"

namespace tern::tools::net {
namespace {

constexpr int kAudioChannels = 2;  // RFC 7587: opus/48000/2; decoded as stereo

}  // namespace

ReceiveTapConfig receive_tap_config(const pipeline::EndpointConfig& config, int fps, const std::string& webm_path) {
  const pipeline::MediaConfig& in = config.receive;
  const pipeline::PayloadTypes& pt = config.payload_types;
  ReceiveTapConfig rc;
  rc.video = in.video;
  rc.video_pt = pt.of(in.video.value_or(codecs::CodecType::kVp8));
  rc.video_ssrc = config.remote.video;
  if (in.protection.nack) rc.rtx_pt = pt.video_rtx;
  rc.rtx_ssrc = config.remote.video_rtx;
  if (in.protection.fec) {
    rc.red_pt = pt.red;
    rc.ulpfec_pt = pt.ulpfec;
  }
  if (in.protection.flexfec) {
    rc.flexfec_ssrc = config.remote.video_fec;
    rc.flexfec_pt = pt.flexfec;
  }
  rc.audio = in.audio.has_value();
  rc.audio_pt = pt.opus;
  rc.audio_ssrc = config.remote.audio;
  if (in.protection.red) rc.audio_red_pt = pt.audio_red;
  rc.fps = fps;
  rc.webm_path = webm_path;
  return rc;
}

ReceiveTap::ReceiveTap(const ReceiveTapConfig& config)
    : config_(config),
      jitter_buffer_([&] {
        jitterbuffer::VideoJitterBufferConfig c;
        c.codec = config.video.value_or(codecs::CodecType::kVp8);
        c.timing.min_delay = kRecordingDelay;
        return c;
      }()) {}

Result<std::unique_ptr<ReceiveTap>> ReceiveTap::Create(const ReceiveTapConfig& config) {
  std::unique_ptr<ReceiveTap> tap(new ReceiveTap(config));
  if (config.video) {
    pipeline::RtpReceiveFront::Config fc;
    fc.ssrc = config.video_ssrc;
    if (config.rtx_pt) {
      fc.rtx_ssrc = config.rtx_ssrc;
      // The RTX payload type's apt is the codec's (SDP): a sender with RED retransmits the media
      // packet inside (as tern and a standard receiver expect), not the RED wrapping.
      fc.rtx_payload_types[*config.rtx_pt] = config.video_pt;
    }
    fc.red_payload_type = config.red_pt;
    if (config.red_pt) fc.ulpfec_payload_type = config.ulpfec_pt;
    fc.flexfec_ssrc = config.flexfec_ssrc;
    fc.flexfec_payload_type = config.flexfec_pt;
    auto front = pipeline::RtpReceiveFront::Create(fc);
    if (!front) return Error{front.error()};
    tap->video_front_.emplace(std::move(front).value());
    codecs::VideoDecoderConfig dc;
    dc.codec = *config.video;
    auto d = codecs::CreateVideoDecoder(dc);
    if (!d) return Error{d.error()};
    tap->video_decoder_ = std::move(d.value());
  }
  if (config.audio) {
    pipeline::RtpReceiveFront::Config fc;
    fc.ssrc = config.audio_ssrc;
    fc.red_payload_type = config.audio_red_pt;
    auto front = pipeline::RtpReceiveFront::Create(fc);
    if (!front) return Error{front.error()};
    tap->audio_front_.emplace(std::move(front).value());
  }
  if (!config.webm_path.empty() && !config.video) {
    media::WebmRecorderConfig wc;
    wc.audio = true;
    wc.audio_channels = kAudioChannels;
    auto r = media::WebmRecorder::Create(config.webm_path, wc);
    if (!r) return Error{r.error()};
    tap->webm_ = std::move(r.value());
  }
  return tap;
}

void ReceiveTap::on_rtp(std::span<const uint8_t> bytes, Timestamp now) {
  if (finished_ || !open_error_.ok()) return;
  auto parsed = rtp::RtpPacket::parse(bytes);
  if (!parsed) return;
  rtp::RtpPacket packet = std::move(parsed.value());
  packet.arrival_time = now;
  if (video_front_ && video_front_->on_rtp(packet, now, video_in_)) {
    process(now);
    return;
  }
  if (audio_front_ && audio_front_->on_rtp(packet, now, audio_in_)) return;
  ++counters_.foreign_packets;
}

ReceiveTap::Verdict ReceiveTap::on_video_packet(rtp::RtpPacket packet, pipeline::PacketOrigin origin, Timestamp now) {
  if (packet.payload_type() != config_.video_pt) {
    ++counters_.foreign_packets;
    return {};
  }
  if (origin == pipeline::PacketOrigin::kFecRecovery) ++counters_.fec_recovered;
  // The Endpoint sends the NACKs; the tap only listens (its front has no NACK generator).
  jitter_buffer_.insert(std::move(packet), now);
  return {};
}

ReceiveTap::Verdict ReceiveTap::on_audio_packet(rtp::RtpPacket packet, pipeline::PacketOrigin origin, Timestamp now) {
  // Arrival-order decoding takes the primary block of RED only.
  if (origin != pipeline::PacketOrigin::kRedundancy) on_audio(packet, now);
  return {};
}

bool ReceiveTap::recorded(const Status& status) {
  // A refused frame or packet (before the first keyframe, out of order, malformed) leaves the
  // rest of the file good: counted, and the recording goes on.
  if (!status.ok()) ++counters_.frames_not_recorded;
  return status.ok();
}

void ReceiveTap::recorded_video(const jitterbuffer::EncodedVideoFrame& frame, const Status& status) {
  if (!recorded(status)) return;
  ++counters_.video_frames_recorded;
  if (frame.keyframe) ++counters_.video_keyframes_recorded;
  if (last_recorded_video_seq_ && frame.first_seq != *last_recorded_video_seq_ + 1) ++counters_.gaps;
  last_recorded_video_seq_ = frame.last_seq;
}

void ReceiveTap::on_audio(const rtp::RtpPacket& packet, Timestamp now) {
  if (packet.payload_type() != config_.audio_pt) {
    ++counters_.foreign_packets;
    return;
  }
  if (last_audio_seq_ && !seq_newer(packet.sequence_number(), *last_audio_seq_)) {
    ++counters_.duplicate_audio_packets;  // late or repeated: arrival-order decoding skips it
    return;
  }
  const bool continuous = !last_audio_seq_ || packet.sequence_number() == static_cast<uint16_t>(*last_audio_seq_ + 1);
  last_audio_seq_ = packet.sequence_number();
  if (webm_) {
    record_audio(packet.payload(), packet.timestamp(), continuous, now);
  } else if (config_.video && !config_.webm_path.empty() && open_error_.ok()) {  // until the first picture opens the file
    if (audio_preroll_.size() >= kMaxAudioPreroll) audio_preroll_.pop_front();
    const auto payload = packet.payload();
    audio_preroll_.push_back({std::vector<uint8_t>(payload.begin(), payload.end()), packet.timestamp(), continuous, now});
  }
}

void ReceiveTap::record_audio(std::span<const uint8_t> payload, uint32_t rtp_timestamp, bool continuous, Timestamp arrival) {
  if (!recorded(webm_->add_audio(payload, rtp_timestamp, arrival))) return;
  if (counters_.audio_packets_recorded > 0 && !continuous) ++counters_.gaps;
  ++counters_.audio_packets_recorded;
}

std::optional<Timestamp> ReceiveTap::next_wakeup() const {
  return config_.video && !finished_ ? jitter_buffer_.next_wakeup() : std::nullopt;
}

void ReceiveTap::process(Timestamp now) {
  if (!config_.video || finished_) return;
  for (const jitterbuffer::EncodedVideoFrame& frame : jitter_buffer_.process(now)) decode(frame, now);
  (void)jitter_buffer_.poll_keyframe_request(now);  // the Endpoint sends PLIs; the tap only listens
}

void ReceiveTap::decode(const jitterbuffer::EncodedVideoFrame& frame, Timestamp now) {
  ++counters_.video_frames_assembled;
  // The frame's own arrival (its last packet), not its release from the jitter buffer: the
  // recorder places the audio track against the video's first arrival.
  const Timestamp arrival = frame.receive_time.is_finite() ? std::min(frame.receive_time, now) : now;
  if (webm_) {  // the first decoded picture gave the track's size
    recorded_video(frame, webm_->add_video(frame.data, frame.rtp_timestamp, frame.keyframe, arrival));
    return;
  }
  auto decoded = video_decoder_->decode(frame.data, frame.rtp_timestamp);
  if (!decoded) {
    ++counters_.video_decode_errors;
    return;
  }
  if (!decoded.value()) return;  // not for display
  const codecs::VideoFrame& picture = *decoded.value();
  counters_.width = picture.width;
  counters_.height = picture.height;
  if (config_.webm_path.empty()) return;
  media::WebmRecorderConfig wc;
  wc.video = *config_.video;
  wc.width = picture.width;
  wc.height = picture.height;
  wc.audio = config_.audio;
  wc.audio_channels = kAudioChannels;
  auto r = media::WebmRecorder::Create(config_.webm_path, wc);
  if (!r) {
    open_error_ = Error{r.error()};  // a write error for the session: it stops
    return;
  }
  webm_ = std::move(r.value());
  // The audio that came before the picture first (the tracks placed by their first arrivals), the
  // audio that came while the jitter buffer held it after.
  size_t early = 0;
  for (; early < audio_preroll_.size() && audio_preroll_[early].arrival <= arrival; ++early) {
    const PrerollAudio& a = audio_preroll_[early];
    record_audio(a.payload, a.rtp_timestamp, a.continuous, a.arrival);
  }
  recorded_video(frame, webm_->add_video(frame.data, frame.rtp_timestamp, frame.keyframe, arrival));
  for (size_t i = early; i < audio_preroll_.size(); ++i) {
    const PrerollAudio& a = audio_preroll_[i];
    record_audio(a.payload, a.rtp_timestamp, a.continuous, a.arrival);
  }
  audio_preroll_.clear();
}

Status ReceiveTap::finish(Timestamp now) {
  if (finished_) return Status{};
  if (config_.video && open_error_.ok()) {
    // Everything complete and decodable is released regardless of its render time.
    for (const jitterbuffer::EncodedVideoFrame& frame : jitter_buffer_.process(now + TimeDelta::Seconds(60))) {
      decode(frame, now);
    }
    // What stays waits for a frame that never completed.
    counters_.video_frames_unrepaired_at_end = static_cast<int64_t>(jitter_buffer_.frames_held());
  }
  finished_ = true;
  audio_preroll_.clear();
  return webm_ ? webm_->finish() : open_error_;
}

}  // namespace tern::tools::net
