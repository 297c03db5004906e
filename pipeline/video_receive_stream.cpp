#include "tern/pipeline/video_receive_stream.h"

#include <algorithm>

#include "tern/codecs/codec_factory.h"
#include "tern/media/frame_stamp.h"
#include "tern/media/video_scaler.h"

namespace tern::pipeline {

namespace {
RtpReceiveFront::Config front_config(const VideoReceiveStream::Config& c, rtp::ReceiveStatistics& statistics) {
  const uint8_t media_pt = c.payload_types.of(c.codec);
  RtpReceiveFront::Config f;
  f.ssrc = c.ssrc;
  f.local_ssrc = c.local_ssrc;
  f.use_fir = c.use_fir;
  f.rtx_ssrc = c.rtx_ssrc;
  // The RTX payload type's apt is the codec's: with FEC on the sender retransmits the media packet
  // inside the RED wrapping (recovery::PacketHistory::Config::unwrap_red_payload_type).
  f.rtx_payload_types[c.payload_types.video_rtx] = media_pt;
  if (c.protection.fec && c.payload_types.red_rtx != 0) f.rtx_payload_types[c.payload_types.red_rtx] = c.payload_types.red;
  if (c.protection.fec) {
    f.red_payload_type = c.payload_types.red;
    f.ulpfec_payload_type = c.payload_types.ulpfec;
  }
  if (c.protection.flexfec) {
    f.flexfec_ssrc = c.flexfec_ssrc;
    f.flexfec_payload_type = c.payload_types.flexfec;
  }
  f.statistics = &statistics;
  f.clock_rates = {{media_pt, 90000}, {c.payload_types.red, 90000}};
  if (c.protection.nack) f.nack = recovery::NackGeneratorConfig{};
  return f;
}
jitterbuffer::VideoJitterBufferConfig jitter_config(const VideoReceiveStream::Config& c) {
  jitterbuffer::VideoJitterBufferConfig j;
  j.codec = c.codec;
  j.timing.add_rtt_after_retransmission = c.protection.nack;
  // FEC beside NACK: hold the RTT only while RTX-restored packets are frequent.
  if (c.protection.fec || c.protection.flexfec) j.timing.frequent_repair_fraction = c.frequent_repair_fraction;
  j.timing.repair_lateness = c.repair_lateness;
  j.timing.repair_quantile = c.repair_quantile;
  // Without NACK nothing repairs a frame later than its FEC group (FecLossWatch asks for a keyframe
  // once that is over), and without FEC nothing repairs it at all: a stream undecodable for 250 ms
  // will not recover by itself. With NACK a retransmission may still come, up to a few RTTs: 500 ms.
  if (!c.protection.nack) j.undecodable_limit = TimeDelta::Millis(250);
  return j;
}
}  // namespace

Result<std::unique_ptr<VideoReceiveStream>> VideoReceiveStream::Create(const Config& config,
                                                                       rtp::ReceiveStatistics& statistics) {
  if (!codecs::is_video(config.codec)) return Error{"video receive stream: not a video codec"};
  if (config.ssrc == 0) return Error{"video receive stream: zero SSRC"};
  codecs::VideoDecoderConfig dc;
  dc.codec = config.codec;
  auto decoder = codecs::CreateVideoDecoder(dc);
  if (!decoder) return Error{decoder.error()};
  if (config.measure_quality) {
    if (Status s = media::SyntheticVideoSource::Validate(config.source); !s.ok()) return Error{s.error()};
    if (config.ssim_every < 0) return Error{"video receive stream: ssim_every must be 0 or positive"};
  }
  auto front = RtpReceiveFront::Create(front_config(config, statistics));
  if (!front) return Error{front.error()};
  return std::unique_ptr<VideoReceiveStream>(
      new VideoReceiveStream(config, std::move(front).value(), std::move(decoder).value()));
}

VideoReceiveStream::VideoReceiveStream(const Config& config, RtpReceiveFront front,
                                       std::unique_ptr<codecs::VideoDecoder> decoder)
    : config_(config), front_(std::move(front)), decoder_(std::move(decoder)), jitter_buffer_(jitter_config(config)) {}

uint8_t VideoReceiveStream::payload_type() const {
  return config_.payload_types.of(config_.codec);
}

VideoReceiveCounters VideoReceiveStream::counters() const {
  VideoReceiveCounters c = counters_;
  const RtpReceiveFrontCounters& f = front_.counters();
  c.nack_count = f.nack_count;
  c.pli_count = f.pli_count;
  c.fir_count = f.fir_count;
  c.fec_packets_received = f.fec_packets_received;
  c.fec_packets_recovered = f.fec_packets_recovered;
  c.fec_recovered_then_received = f.fec_recovered_then_received;
  c.fec_packets_discarded = f.fec_packets_discarded;
  c.retransmitted_packets_received = f.retransmitted_packets_received;
  c.packets_repaired_by_rtx = static_cast<int64_t>(front_.nack_stats().packets_repaired_by_rtx);
  return c;
}

void VideoReceiveStream::on_rtt(TimeDelta rtt) {
  front_.on_rtt(rtt);
  jitter_buffer_.on_rtt(rtt);
}

void VideoReceiveStream::on_receiver_rtt(TimeDelta rtt) {
  front_.on_rtt(rtt);
  jitter_buffer_.on_rtt(std::max(rtt, jitter_buffer_.config().timing.initial_rtt));
}

void VideoReceiveStream::on_rtp(const rtp::RtpPacket& packet, Timestamp now) {
  // false for a packet of another SSRC: not ours, nothing to do.
  const int64_t fec_before = front_.counters().fec_packets_received;
  front_.on_rtp(packet, now, *this);
  // FEC arriving tells the jitter buffer that FEC, not only NACK, repairs this stream.
  if (front_.counters().fec_packets_received != fec_before) jitter_buffer_.on_fec_packet(now);
}

RtpReceiveFront::Listener::Verdict VideoReceiveStream::on_media_packet(rtp::RtpPacket packet, PacketOrigin origin,
                                                                       Timestamp now) {
  const jitterbuffer::VideoJitterBuffer::InsertResult r = jitter_buffer_.insert(std::move(packet), now);
  if (origin == PacketOrigin::kRetransmission && r.accepted) jitter_buffer_.on_retransmitted_packet(now);
  Verdict v{r.keyframe_packet, r.keyframe_first_seq, std::nullopt};
  if (r.picture_id) {
    v.picture = Verdict::Picture{*r.picture_id, static_cast<uint16_t>(r.picture_id_15bit ? 0x8000 : 0x80), r.first_packet_in_frame};
  }
  return v;
}

std::optional<Timestamp> VideoReceiveStream::next_wakeup() const {
  std::optional<Timestamp> t = jitter_buffer_.next_wakeup();
  auto earliest = [&t](std::optional<Timestamp> o) {
    if (o && (!t || *o < *t)) t = o;
  };
  earliest(front_.next_wakeup());
  if (!renders_.empty()) earliest(renders_.front().due);
  return t;
}

void VideoReceiveStream::process(Timestamp now, std::vector<rtcp::RtcpPacket>& feedback) {
  for (jitterbuffer::EncodedVideoFrame& f : jitter_buffer_.process(now)) {
    auto decoded = decoder_->decode(f.data, f.rtp_timestamp);
    if (!decoded) {
      ++counters_.decode_errors;
      ++counters_.frames_dropped;
      if (decoder_->waiting_for_keyframe()) front_.request_keyframe();
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
    // A frame released late (it waited for a repair) is not the playout delay sync should match:
    // the schedule's delay is.
    renders_.push_back(PendingRender{std::move(**decoded), now + sync_delay_, std::min(now, f.render_time), f.keyframe});
  }
  while (!renders_.empty() && renders_.front().due <= now) {
    render(renders_.front(), now);
    renders_.pop_front();
  }
  if (std::optional<jitterbuffer::KeyframeRequest> kr = jitter_buffer_.poll_keyframe_request(now)) {
    const bool fir = kr->kind == jitterbuffer::KeyframeRequest::Kind::kFir;
    front_.request_keyframe(fir ? std::optional<uint8_t>(kr->fir_seq_nr) : std::nullopt);
  }
  front_.process(now, feedback);  // NACK, then the keyframe request
}

void VideoReceiveStream::render(PendingRender& pending, Timestamp now) {
  ++counters_.frames_rendered;
  counters_.frame_width = pending.frame.width;
  counters_.frame_height = pending.frame.height;
  freezes_.on_frame(now);
  renders_per_second_.on_frame(now);
  RenderedVideoFrame r;
  r.ssrc = config_.ssrc;
  r.frame_number = media::FrameStamp::read(pending.frame);
  r.rtp_timestamp = pending.frame.rtp_timestamp;
  r.capture_time = rtp_to_ntp_.to_local(pending.frame.rtp_timestamp, config_.ntp_clock);
  r.render_time = now;
  r.width = pending.frame.width;
  r.height = pending.frame.height;
  r.keyframe = pending.keyframe;
  if (r.capture_time) last_delay_ = pending.scheduled - *r.capture_time;
  if (config_.measure_quality && r.frame_number) {
    const bool ssim = config_.ssim_every > 0 && *r.frame_number % static_cast<uint32_t>(config_.ssim_every) == 0;
    const codecs::VideoFrame* ref = reference(*r.frame_number);
    // An adapted (smaller) picture is scored against the source scaled the way the sender scaled
    // it, as full-stack analyzers do: the encoder's own input, so PSNR measures the coding only.
    if (ref != nullptr && (pending.frame.width != ref->width || pending.frame.height != ref->height)) {
      const bool smaller = pending.frame.width <= ref->width && pending.frame.height <= ref->height;
      ref = smaller && media::scale_stamped_picture(*ref, pending.frame.width, pending.frame.height, scaled_reference_).ok()
                ? &scaled_reference_
                : nullptr;
    }
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

double VideoReceiveStream::frames_per_second(Timestamp now) const { return renders_per_second_.frames_per_second(now); }

}  // namespace tern::pipeline
