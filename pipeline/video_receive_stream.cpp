#include "tern/pipeline/video_receive_stream.h"

#include "tern/codecs/codec_factory.h"
#include "tern/media/frame_stamp.h"

namespace tern::pipeline {

Result<std::unique_ptr<VideoReceiveStream>> VideoReceiveStream::Create(const Config& config,
                                                                       rtp::ReceiveStatistics& statistics) {
  if (config.codec == VideoCodecKind::kNone) return Error{"video receive stream: no codec"};
  if (config.ssrc == 0) return Error{"video receive stream: zero SSRC"};
  codecs::VideoDecoderConfig dc;
  dc.codec = config.codec == VideoCodecKind::kVp9 ? codecs::CodecType::kVp9 : codecs::CodecType::kVp8;
  auto decoder = codecs::CreateVideoDecoder(dc);
  if (!decoder) return Error{decoder.error()};
  if (config.measure_quality) {
    if (Status s = media::SyntheticVideoSource::Validate(config.source); !s.ok()) return Error{s.error()};
    if (config.ssim_every < 0) return Error{"video receive stream: ssim_every must be 0 or positive"};
  }
  const uint8_t pt = config.codec == VideoCodecKind::kVp9 ? config.payload_types.vp9 : config.payload_types.vp8;
  (void)statistics.register_payload_type(pt, 90000);
  (void)statistics.register_payload_type(config.payload_types.red, 90000);
  return std::unique_ptr<VideoReceiveStream>(
      new VideoReceiveStream(config, statistics, std::move(decoder).value()));
}

namespace {
recovery::RtxReceiver::Config rtx_config(const VideoReceiveStream::Config& c) {
  recovery::RtxReceiver::Config r;
  r.media_ssrc = c.ssrc;
  r.rtx_ssrc = c.rtx_ssrc;
  // The sender retransmits packets as it sent them: RED-wrapped when FEC is on.
  const uint8_t media_pt = c.codec == VideoCodecKind::kVp9 ? c.payload_types.vp9 : c.payload_types.vp8;
  r.rtx_to_media_pt[c.payload_types.video_rtx] = c.protection.fec ? c.payload_types.red : media_pt;
  return r;
}
jitterbuffer::VideoJitterBufferConfig jitter_config(const VideoReceiveStream::Config& c) {
  jitterbuffer::VideoJitterBufferConfig j;
  j.codec = c.codec == VideoCodecKind::kVp9 ? jitterbuffer::VideoCodec::kVp9 : jitterbuffer::VideoCodec::kVp8;
  j.timing.add_rtt_after_retransmission = c.protection.nack;
  return j;
}
}  // namespace

VideoReceiveStream::VideoReceiveStream(const Config& config, rtp::ReceiveStatistics& statistics,
                                       std::unique_ptr<codecs::VideoDecoder> decoder)
    : config_(config),
      statistics_(statistics),
      decoder_(std::move(decoder)),
      rtx_(rtx_config(config)),
      jitter_buffer_(jitter_config(config)) {
  if (config_.protection.fec) {
    recovery::UlpfecReceiver::Config fc;
    fc.media_ssrc = config_.ssrc;
    fc.ulpfec_payload_type = config_.payload_types.ulpfec;
    fc.red_payload_type = config_.payload_types.red;
    fec_.emplace(fc);
  }
}

uint8_t VideoReceiveStream::payload_type() const {
  return config_.codec == VideoCodecKind::kVp9 ? config_.payload_types.vp9 : config_.payload_types.vp8;
}

void VideoReceiveStream::on_rtt(TimeDelta rtt) {
  nack_.on_rtt(rtt);
  jitter_buffer_.on_rtt(rtt);
}

void VideoReceiveStream::on_receiver_rtt(TimeDelta rtt) { nack_.on_rtt(rtt); }

void VideoReceiveStream::on_rtp(const rtp::RtpPacket& packet, Timestamp now) {
  bool retransmitted = false;
  const rtp::RtpPacket* media = &packet;
  std::optional<rtp::RtpPacket> unwrapped;
  if (packet.ssrc() == config_.rtx_ssrc && config_.rtx_ssrc != 0) {
    auto r = rtx_.unwrap(packet);
    if (!r) return;  // padding-only probe or foreign packet
    unwrapped.emplace(std::move(r).value());
    unwrapped->arrival_time = now;
    media = &*unwrapped;
    retransmitted = true;
    ++counters_.retransmitted_packets_received;
  } else if (packet.ssrc() != config_.ssrc) {
    return;
  }
  if (fec_) {
    const bool is_fec_or_red = media->payload_type() == config_.payload_types.red;
    recovery::UlpfecReceiver::Output out = fec_->on_packet(*media);
    if (is_fec_or_red && !out.media) {
      // A FEC packet: count it in the RFC 3550 figures of the media SSRC (it carries its seq).
      ++counters_.fec_packets_received;
      (void)statistics_.on_rtp_packet(media->header(), now, media->size(), retransmitted);
      nack_.on_packet(media->sequence_number(), false, retransmitted, now);
    }
    if (out.media) {
      out.media->arrival_time = now;
      // Statistics see the packet as it travelled (RED-wrapped) for sizes and sequence numbers.
      (void)statistics_.on_rtp_packet(media->header(), now, media->size(), retransmitted);
      on_media_packet(std::move(*out.media), now, retransmitted, false);
    }
    for (rtp::RtpPacket& rec : out.recovered) {
      ++counters_.fec_packets_recovered;
      rec.arrival_time = now;
      on_media_packet(std::move(rec), now, false, true);
    }
    return;
  }
  (void)statistics_.on_rtp_packet(media->header(), now, media->size(), retransmitted);
  on_media_packet(unwrapped ? std::move(*unwrapped) : packet, now, retransmitted, false);
}

void VideoReceiveStream::on_media_packet(rtp::RtpPacket packet, Timestamp now, bool retransmitted, bool recovered) {
  const uint16_t seq = packet.sequence_number();
  const jitterbuffer::VideoJitterBuffer::InsertResult r = jitter_buffer_.insert(std::move(packet), now);
  if (config_.protection.nack) {
    const auto nr = nack_.on_packet(seq, r.keyframe_packet, retransmitted || recovered, now);
    if (nr.keyframe_needed) keyframe_wanted_ = true;
    if (r.keyframe_first_seq) nack_.clear_up_to(*r.keyframe_first_seq);
  }
}

std::optional<Timestamp> VideoReceiveStream::next_wakeup() const {
  std::optional<Timestamp> t = jitter_buffer_.next_wakeup();
  auto earliest = [&t](std::optional<Timestamp> o) {
    if (o && (!t || *o < *t)) t = o;
  };
  if (config_.protection.nack) earliest(nack_.next_wakeup());
  if (!renders_.empty()) earliest(renders_.front().due);
  return t;
}

void VideoReceiveStream::process(Timestamp now, std::vector<rtcp::RtcpPacket>& feedback) {
  for (jitterbuffer::EncodedVideoFrame& f : jitter_buffer_.process(now)) {
    auto decoded = decoder_->decode(f.data, f.rtp_timestamp);
    if (!decoded) {
      ++counters_.decode_errors;
      ++counters_.frames_dropped;
      if (decoder_->waiting_for_keyframe()) keyframe_wanted_ = true;
      continue;
    }
    ++counters_.frames_decoded;
    counters_.total_decode_bytes += static_cast<int64_t>(f.data.size());
    if (f.keyframe) ++counters_.key_frames_decoded;
    if (!decoded->has_value()) continue;
    if (renders_.size() >= kMaxPendingRenders) {
      renders_.pop_front();  // the renderer is too far behind: drop the oldest
      ++counters_.frames_dropped;
    }
    renders_.push_back(PendingRender{std::move(**decoded), now + sync_delay_, now, f.keyframe});
  }
  while (!renders_.empty() && renders_.front().due <= now) {
    render(renders_.front(), now);
    renders_.pop_front();
  }
  if (config_.protection.nack) {
    std::vector<uint16_t> lost = nack_.process(now);
    if (!lost.empty()) {
      ++counters_.nack_count;
      feedback.emplace_back(recovery::NackGenerator::make_nack(config_.local_ssrc, config_.ssrc, std::move(lost)));
    }
  }
  std::optional<jitterbuffer::KeyframeRequest> kr = jitter_buffer_.poll_keyframe_request(now);
  if (!kr && keyframe_wanted_) kr = jitterbuffer::KeyframeRequest{};
  if (kr) {
    keyframe_wanted_ = false;
    if (kr->kind == jitterbuffer::KeyframeRequest::Kind::kFir) {
      ++counters_.fir_count;
      rtcp::Fir fir;
      fir.sender_ssrc = config_.local_ssrc;
      fir.entries.push_back(rtcp::FirEntry{config_.ssrc, kr->fir_seq_nr});
      feedback.emplace_back(std::move(fir));
    } else {
      ++counters_.pli_count;
      feedback.emplace_back(rtcp::Pli{config_.local_ssrc, config_.ssrc});
    }
  }
}

void VideoReceiveStream::render(PendingRender& pending, Timestamp now) {
  ++counters_.frames_rendered;
  counters_.frame_width = pending.frame.width;
  counters_.frame_height = pending.frame.height;
  freezes_.on_frame_rendered(now);
  recent_renders_.push_back(now);
  while (!recent_renders_.empty() && now - recent_renders_.front() > TimeDelta::Seconds(1)) recent_renders_.pop_front();
  RenderedVideoFrame r;
  r.ssrc = config_.ssrc;
  r.frame_number = media::FrameStamp::read(pending.frame);
  r.rtp_timestamp = pending.frame.rtp_timestamp;
  r.capture_time = rtp_to_ntp_.to_local(pending.frame.rtp_timestamp, config_.ntp_clock);
  r.render_time = now;
  r.width = pending.frame.width;
  r.height = pending.frame.height;
  r.keyframe = pending.keyframe;
  if (r.capture_time) last_delay_ = pending.decoded - *r.capture_time;
  if (config_.measure_quality && r.frame_number && pending.frame.width == config_.source.width &&
      pending.frame.height == config_.source.height) {
    const bool ssim = config_.ssim_every > 0 && *r.frame_number % static_cast<uint32_t>(config_.ssim_every) == 0;
    const codecs::VideoFrame* ref = reference(*r.frame_number);
    auto q = ref == nullptr ? Result<media::FrameQuality>(Error{"no reference"})
                            : media::compare_frames(*ref, pending.frame,
                                                    ssim ? media::QualityMetrics::kPsnrAndSsim : media::QualityMetrics::kPsnr);
    if (q) {
      r.quality = *q;
      counters_.total_psnr += q->psnr;
      ++counters_.quality_measurements;
      if (q->ssim) {
        counters_.total_ssim += *q->ssim;
        ++counters_.ssim_measurements;
      }
    }
  }
  r.picture = &pending.frame;
  if (render_listener_ != nullptr) render_listener_->on_video_frame_rendered(r);
}

const codecs::VideoFrame* VideoReceiveStream::reference(uint32_t frame_number) {
  if (reference_provider_ != nullptr) {
    const codecs::VideoFrame* f = reference_provider_->reference_frame(frame_number);
    if (f != nullptr && f->width == config_.source.width && f->height == config_.source.height && f->is_valid()) {
      return f;
    }
  }
  if (!source_) {
    auto s = media::SyntheticVideoSource::Create(config_.source);
    if (!s) return nullptr;  // validated in Create(): not reached
    source_.emplace(std::move(s).value());
  }
  source_->render_into(frame_number, scratch_);
  return &scratch_;
}

double VideoReceiveStream::frames_per_second(Timestamp now) const {
  int64_t n = 0;
  for (const Timestamp t : recent_renders_) {
    if (now - t <= TimeDelta::Seconds(1)) ++n;
  }
  return static_cast<double>(n);
}

}  // namespace tern::pipeline
