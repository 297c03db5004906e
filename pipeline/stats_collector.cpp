#include "tern/pipeline/stats_collector.h"

#include <string>
#include <string_view>

namespace tern::pipeline {
namespace {

double ms(Timestamp t) { return static_cast<double>(t.us()) / 1000.0; }

}  // namespace

StatsCollector::StatsCollector(const Sources& s)
    : config_(*s.config),
      audio_send_(s.audio_send),
      video_send_(s.video_send),
      audio_recv_(s.audio_recv),
      video_recv_(s.video_recv),
      statistics_(*s.statistics),
      send_transport_(*s.send_transport),
      sync_(*s.sync),
      rtt_(*s.rtt),
      remb_estimator_(s.remb_estimator),
      received_(*s.received),
      link_(s.link) {}

TransportCounters StatsCollector::transport_counters() const {
  const SendTransport::Counters& sent = send_transport_.counters();
  TransportCounters c = received_;
  c.packets_sent = sent.packets_sent;
  c.bytes_sent = sent.bytes_sent;
  c.rtcp_packets_sent = sent.rtcp_packets_sent;
  c.pacer_drops = sent.pacer_drops;
  if (link_ != nullptr && *link_) c.link = (*link_)();
  return c;
}

StatsReport StatsCollector::collect(Timestamp now) const {
  StatsReport r;
  r.timestamp_ms = ms(now);
  const double ts = r.timestamp_ms;
  const std::string transport_id = "T01";
  auto codec = [&](const char* id, uint8_t pt, const char* mime, uint32_t clock, std::optional<uint32_t> ch) {
    CodecStats c;
    c.id = id;
    c.timestamp_ms = ts;
    c.payload_type = pt;
    c.mime_type = mime;
    c.clock_rate = clock;
    c.channels = ch;
    c.transport_id = transport_id;
    r.codecs.push_back(c);
  };
  auto fill_remote = [&](uint32_t ssrc, const char* kind, const std::string& codec_id, const std::string& local_id) {
    const SendTransport::RemoteInbound* found = send_transport_.remote_inbound(ssrc);
    if (found == nullptr) return std::string();
    const SendTransport::RemoteInbound& ri = *found;
    RemoteInboundRtpStats s;
    s.id = std::string("RI") + kind + std::to_string(ssrc);
    s.timestamp_ms = ts;
    s.ssrc = ssrc;
    s.kind = kind;
    s.transport_id = transport_id;
    s.codec_id = codec_id;
    s.local_id = local_id;
    s.packets_lost = ri.block.cumulative_lost;
    s.fraction_lost = ri.block.fraction_lost / 256.0;
    s.jitter = static_cast<double>(ri.block.jitter) / (std::string_view(kind) == "audio" ? 48000.0 : 90000.0);
    if (ri.rtt) s.round_trip_time = ri.rtt->seconds_f();
    s.total_round_trip_time = ri.rtts.total().seconds_f();
    s.round_trip_time_measurements = static_cast<uint64_t>(ri.rtts.count());
    r.remote_inbound_rtp.push_back(s);
    return s.id;
  };
  auto fill_outbound_common = [&](OutboundRtpStats& s, const RtpSender& rtp, const char* kind) {
    const rtp::OutboundRtpCounters& c = send_transport_.stream(rtp.ssrc())->counters();
    s.timestamp_ms = ts;
    s.ssrc = rtp.ssrc();
    s.kind = kind;
    s.transport_id = transport_id;
    s.packets_sent = static_cast<uint64_t>(c.packets_sent);
    s.bytes_sent = static_cast<uint64_t>(c.bytes_sent);
    s.header_bytes_sent = static_cast<uint64_t>(c.header_bytes_sent);
    s.retransmitted_packets_sent = static_cast<uint64_t>(c.retransmitted_packets_sent);
    s.retransmitted_bytes_sent = static_cast<uint64_t>(c.retransmitted_bytes_sent);
  };
  if (audio_send_) {
    const std::string codec_id = "COT01_" + std::to_string(audio_send_->payload_type());
    codec(codec_id.c_str(), audio_send_->payload_type(), codecs::mime_type(codecs::CodecType::kOpus), 48000, 2);
    MediaSourceStats m;
    m.id = "SA1";
    m.timestamp_ms = ts;
    m.kind = "audio";
    m.track_identifier = "audio-" + config_.local.audio_mid;
    m.total_samples_duration = static_cast<double>(audio_send_->counters().total_samples_sent) / 48000.0;
    r.media_sources.push_back(m);
    OutboundRtpStats s;
    s.id = "OTA" + std::to_string(config_.local.audio);
    fill_outbound_common(s, audio_send_->rtp(), "audio");
    s.codec_id = codec_id;
    s.media_source_id = m.id;
    s.mid = config_.local.audio_mid;
    s.target_bitrate = audio_send_->target().bps_f();
    s.nack_count = static_cast<uint32_t>(audio_send_->counters().nack_count);
    s.remote_id = fill_remote(config_.local.audio, "audio", s.codec_id, s.id);
    r.outbound_rtp.push_back(s);
  }
  if (video_send_) {
    const VideoSendCounters& vc = video_send_->counters();
    const std::string codec_id = "COT01_" + std::to_string(video_send_->payload_type());
    codec(codec_id.c_str(), video_send_->payload_type(), video_send_->mime_type(), 90000, std::nullopt);
    MediaSourceStats m;
    m.id = "SV2";
    m.timestamp_ms = ts;
    m.kind = "video";
    m.track_identifier = "video-" + config_.local.video_mid;
    m.width = static_cast<uint32_t>(config_.send.width);
    m.height = static_cast<uint32_t>(config_.send.height);
    m.frames = static_cast<uint32_t>(vc.frames_captured);
    m.frames_per_second = video_send_->capture_frames_per_second(now);
    r.media_sources.push_back(m);
    OutboundRtpStats s;
    s.id = "OTV" + std::to_string(config_.local.video);
    fill_outbound_common(s, video_send_->rtp(), "video");
    s.codec_id = codec_id;
    s.media_source_id = m.id;
    s.mid = config_.local.video_mid;
    s.rtx_ssrc = video_send_->rtp().rtx_ssrc();
    s.target_bitrate = video_send_->target().bps_f();
    s.nack_count = static_cast<uint32_t>(vc.nack_count);
    s.active = !video_send_->suspended();
    s.frames_encoded = static_cast<uint32_t>(vc.frames_encoded);
    s.frames_sent = static_cast<uint32_t>(send_transport_.stream(video_send_->rtp().ssrc())->frames_sent());
    s.key_frames_encoded = static_cast<uint32_t>(vc.key_frames_encoded);
    s.frame_width = static_cast<uint32_t>(vc.frame_width);
    s.frame_height = static_cast<uint32_t>(vc.frame_height);
    s.pli_count = static_cast<uint32_t>(vc.pli_count);
    s.fir_count = static_cast<uint32_t>(vc.fir_count);
    s.frames_per_second = video_send_->frames_per_second(now);
    s.fec_packets_sent = static_cast<uint64_t>(vc.fec_packets_sent);
    if (config_.send.protection.fec || config_.send.protection.flexfec) s.fec_mask_type = vc.fec_bursty_masks ? "bursty" : "random";
    const VideoAdapter& adapter = video_send_->adapter();
    s.quality_limitation_reason = to_string(adapter.reason());
    const auto& d = adapter.durations();
    s.quality_limitation_durations = std::map<std::string, double>{
        {"none", d[static_cast<size_t>(QualityLimitationReason::kNone)].seconds_f()},
        {"bandwidth", d[static_cast<size_t>(QualityLimitationReason::kBandwidth)].seconds_f()},
        {"cpu", d[static_cast<size_t>(QualityLimitationReason::kCpu)].seconds_f()},
        {"other", 0.0}};
    s.quality_limitation_resolution_changes = static_cast<uint32_t>(adapter.resolution_changes());
    s.remote_id = fill_remote(config_.local.video, "video", s.codec_id, s.id);
    r.outbound_rtp.push_back(s);
  }
  auto fill_inbound_common = [&](InboundRtpStats& s, uint32_t ssrc, const char* kind) {
    s.timestamp_ms = ts;
    s.ssrc = ssrc;
    s.kind = kind;
    s.transport_id = transport_id;
    if (auto c = statistics_.stats(ssrc)) {
      s.packets_received = static_cast<uint64_t>(c->packets_received);
      s.packets_lost = c->packets_lost;
      s.jitter = c->jitter_seconds;
      s.bytes_received = static_cast<uint64_t>(c->bytes_received);
      s.header_bytes_received = static_cast<uint64_t>(c->header_bytes_received);
      if (c->last_packet_received.is_finite()) s.last_packet_received_timestamp = ms(c->last_packet_received);
      s.retransmitted_packets_received = static_cast<uint64_t>(c->retransmitted_packets_received);
      s.retransmitted_bytes_received = static_cast<uint64_t>(c->retransmitted_bytes_received);
    }
  };
  if (audio_recv_) {
    const std::string codec_id = "CIT01_" + std::to_string(config_.payload_types.opus);
    codec(codec_id.c_str(), config_.payload_types.opus, codecs::mime_type(codecs::CodecType::kOpus), 48000, 2);
    const jitterbuffer::AudioJitterBufferStats& j = audio_recv_->jitter_buffer_stats();
    InboundRtpStats s;
    s.id = "ITA" + std::to_string(config_.remote.audio);
    fill_inbound_common(s, config_.remote.audio, "audio");
    s.codec_id = codec_id;
    s.mid = config_.remote.audio_mid;
    s.jitter_buffer_delay = j.jitter_buffer_delay_s;
    s.jitter_buffer_target_delay = j.jitter_buffer_target_delay_s;
    s.jitter_buffer_emitted_count = j.jitter_buffer_emitted_count;
    s.packets_discarded = j.packets_discarded;
    s.fec_packets_received = audio_recv_->fec_packets_received();
    s.fec_packets_discarded = audio_recv_->fec_packets_discarded();
    s.fec_packets_recovered = j.fec_packets_received;  // lost packets rebuilt from Opus in-band FEC
    s.total_samples_received = j.total_samples_received;
    s.concealed_samples = j.concealed_samples;
    s.silent_concealed_samples = j.silent_concealed_samples;
    s.concealment_events = j.concealment_events;
    s.inserted_samples_for_deceleration = j.inserted_samples_for_deceleration;
    s.removed_samples_for_acceleration = j.removed_samples_for_acceleration;
    s.total_samples_duration = static_cast<double>(j.total_samples_received) / 48000.0;
    if (video_recv_) s.tern_sync_delay = audio_recv_->sync_delay().seconds_f();
    r.inbound_rtp.push_back(s);
  }
  if (video_recv_) {
    const std::string codec_id = "CIT01_" + std::to_string(video_recv_->payload_type());
    codec(codec_id.c_str(), video_recv_->payload_type(), video_recv_->mime_type(), 90000, std::nullopt);
    const VideoReceiveCounters& vc = video_recv_->counters();
    const jitterbuffer::VideoJitterBufferStats j = video_recv_->jitter_buffer_stats();
    const jitterbuffer::FreezeStats& f = video_recv_->freeze_stats();
    InboundRtpStats s;
    s.id = "ITV" + std::to_string(config_.remote.video);
    fill_inbound_common(s, config_.remote.video, "video");
    s.codec_id = codec_id;
    s.mid = config_.remote.video_mid;
    s.nack_count = static_cast<uint32_t>(vc.nack_count);
    s.jitter_buffer_delay = j.jitter_buffer_delay.seconds_f();
    s.jitter_buffer_target_delay = j.jitter_buffer_target_delay.seconds_f();
    s.jitter_buffer_emitted_count = j.jitter_buffer_emitted_count;
    s.frames_received = static_cast<uint32_t>(j.frames_received);
    s.frames_decoded = static_cast<uint32_t>(vc.frames_decoded);
    s.key_frames_decoded = static_cast<uint32_t>(vc.key_frames_decoded);
    s.frames_dropped = static_cast<uint32_t>(static_cast<int64_t>(j.frames_dropped) + vc.frames_dropped);
    s.frames_rendered = static_cast<uint32_t>(vc.frames_rendered);
    s.frame_width = static_cast<uint32_t>(vc.frame_width);
    s.frame_height = static_cast<uint32_t>(vc.frame_height);
    s.freeze_count = static_cast<uint32_t>(f.freeze_count);
    s.total_freezes_duration = f.total_freezes_duration.seconds_f();
    s.pause_count = static_cast<uint32_t>(f.pause_count);
    s.total_pauses_duration = f.total_pauses_duration.seconds_f();
    s.pli_count = static_cast<uint32_t>(vc.pli_count);
    s.fir_count = static_cast<uint32_t>(vc.fir_count);
    s.frames_per_second = video_recv_->frames_per_second(now);
    if (config_.receive.protection.fec || config_.receive.protection.flexfec) {
      s.fec_packets_received = static_cast<uint64_t>(vc.fec_packets_received);
      s.fec_packets_recovered = static_cast<uint64_t>(vc.fec_packets_recovered);
      s.tern_fec_recovered_then_received = static_cast<uint64_t>(vc.fec_recovered_then_received);
      s.fec_packets_discarded = static_cast<uint64_t>(vc.fec_packets_discarded);
    }
    if (config_.receive.protection.nack) {
      s.tern_packets_repaired_by_rtx = static_cast<uint64_t>(vc.packets_repaired_by_rtx);
    }
    if (vc.quality_measurements > 0) {
      s.tern_mean_psnr = vc.total_psnr / static_cast<double>(vc.quality_measurements);
      if (vc.ssim_measurements > 0) s.tern_mean_ssim = vc.total_ssim / static_cast<double>(vc.ssim_measurements);
    }
    if (auto off = sync_.sync_offset()) s.tern_sync_offset = off->seconds_f();
    if (audio_recv_) s.tern_sync_delay = video_recv_->sync_delay().seconds_f();
    r.inbound_rtp.push_back(s);
  }
  const TransportCounters transport = transport_counters();
  TransportStats t;
  t.id = transport_id;
  t.timestamp_ms = ts;
  t.packets_sent = transport.packets_sent;
  t.packets_received = transport.packets_received;
  t.bytes_sent = transport.bytes_sent;
  t.bytes_received = transport.bytes_received;
  t.rtcp_packets_sent = transport.rtcp_packets_sent;
  t.rtcp_packets_received = transport.rtcp_packets_received;
  t.malformed_packets = transport.malformed_packets;
  t.unknown_ssrc_packets = transport.unknown_ssrc_packets;
  t.rtcp_parse_errors = transport.rtcp_parse_errors;
  t.not_rtp_packets = transport.link.not_rtp;
  t.truncated_packets = transport.link.truncated;
  t.srtp_failures = transport.link.srtp_failures;
  t.selected_candidate_pair_id = "CP01";
  r.transports.push_back(t);
  CandidatePairStats cp;
  cp.id = "CP01";
  cp.timestamp_ms = ts;
  cp.transport_id = transport_id;
  cp.packets_sent = transport.packets_sent;
  cp.packets_received = transport.packets_received;
  cp.bytes_sent = transport.bytes_sent;
  cp.bytes_received = transport.bytes_received;
  cp.packets_discarded_on_send = transport.link.send_failures;
  if (auto rtt = rtt_.latest()) cp.current_round_trip_time = rtt->seconds_f();
  if (audio_send_ || video_send_) cp.available_outgoing_bitrate = send_transport_.target().bps_f();
  if (remb_estimator_) {
    if (auto e = remb_estimator_->estimate()) cp.available_incoming_bitrate = e->bps_f();
  }
  r.candidate_pairs.push_back(cp);
  return r;
}

}  // namespace tern::pipeline
