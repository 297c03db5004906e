#include "tern/pipeline/endpoint.h"

#include <algorithm>

#include "tern/core/random.h"

namespace tern::pipeline {
namespace {

constexpr TimeDelta kSyncInterval = TimeDelta::Millis(100);

void earliest(std::optional<Timestamp>& t, std::optional<Timestamp> o) {
  if (o && o->is_finite() && (!t || *o < *t)) t = o;
}

double ms(Timestamp t) { return static_cast<double>(t.us()) / 1000.0; }

}  // namespace

Result<std::unique_ptr<Endpoint>> Endpoint::Create(const EndpointConfig& config, PacketSink* sink) {
  if (Status s = config.validate(); !s) return Error{s.error()};
  if (sink == nullptr) return Error{"endpoint: no packet sink"};
  rtp::ExtensionMap ext;
  if (!ext.register_extension<rtp::AbsSendTime>(config.extension_ids.abs_send_time) ||
      !ext.register_extension<rtp::TransportSequenceNumber>(config.extension_ids.transport_sequence_number) ||
      !ext.register_extension<rtp::Mid>(config.extension_ids.mid)) {
    return Error{"endpoint: extension ids"};
  }
  auto stats = rtp::ReceiveStatistics::Create({});
  if (!stats) return Error{stats.error()};
  RtcpSession::Config rc;
  rc.ssrc = config.send.audio != AudioCodecKind::kNone || config.send.video == VideoCodecKind::kNone
                ? config.local.audio
                : config.local.video;
  rc.cname = config.cname;
  rc.min_interval = config.rtcp_interval;
  rc.ntp_clock = config.ntp_clock;
  rc.seed = config.seed;
  rc.send_rrtr = config.receiver_rtt;
  auto rtcp = RtcpSession::Create(rc);
  if (!rtcp) return Error{rtcp.error()};
  std::unique_ptr<Endpoint> e(new Endpoint(config, sink, ext, std::move(stats).value(), std::move(rtcp).value()));
  if (Status s = e->init(); !s) return Error{s.error()};
  return e;
}

Endpoint::Endpoint(const EndpointConfig& config, PacketSink* sink, rtp::ExtensionMap extensions,
                   rtp::ReceiveStatistics statistics, RtcpSession rtcp)
    : config_(config),
      sink_(sink),
      extensions_(extensions),
      statistics_(std::move(statistics)),
      rtcp_(std::move(rtcp)) {}

Endpoint::~Endpoint() = default;

Status Endpoint::init() {
  Random rng(config_.seed);
  const MediaConfig& send = config_.send;
  if (send.audio == AudioCodecKind::kOpus) {
    AudioSendStream::Config ac;
    ac.bitrate = send.audio_bitrate;
    ac.source_seed = send.source_seed;
    ac.red = send.protection.red;
    ac.payload_types = config_.payload_types;
    ac.rtp.ssrc = config_.local.audio;
    ac.rtp.mid = config_.local.audio_mid;
    ac.rtp.first_sequence_number = static_cast<uint16_t>(rng.next_u32());
    auto a = AudioSendStream::Create(ac, extensions_);
    if (!a) return Error{a.error()};
    audio_send_ = std::move(a).value();
  }
  if (send.video != VideoCodecKind::kNone) {
    VideoSendStream::Config vc;
    vc.codec = send.video;
    vc.width = send.width;
    vc.height = send.height;
    vc.fps = send.fps;
    vc.source_seed = send.source_seed;
    vc.vp9_flexible_mode = send.vp9_flexible_mode;
    vc.start_rate = config_.congestion == CongestionControlMode::kFixed ? config_.fixed_rate : config_.start_rate;
    vc.protection = send.protection;
    vc.payload_types = config_.payload_types;
    vc.max_packet_size = config_.max_packet_size;
    vc.rtp.ssrc = config_.local.video;
    vc.rtp.rtx_ssrc = config_.local.video_rtx;
    vc.rtp.mid = config_.local.video_mid;
    vc.rtp.first_sequence_number = static_cast<uint16_t>(rng.next_u32());
    auto v = VideoSendStream::Create(vc, extensions_);
    if (!v) return Error{v.error()};
    video_send_ = std::move(v).value();
  }
  const MediaConfig& recv = config_.receive;
  if (recv.audio == AudioCodecKind::kOpus) {
    AudioReceiveStream::Config ac;
    ac.ssrc = config_.remote.audio;
    ac.red = recv.protection.red;
    ac.payload_types = config_.payload_types;
    auto a = AudioReceiveStream::Create(ac, statistics_);
    if (!a) return Error{a.error()};
    audio_recv_ = std::move(a).value();
  }
  if (recv.video != VideoCodecKind::kNone) {
    VideoReceiveStream::Config vc;
    vc.codec = recv.video;
    vc.ssrc = config_.remote.video;
    vc.rtx_ssrc = config_.remote.video_rtx;
    vc.local_ssrc = rtcp_.ssrc();
    vc.protection = recv.protection;
    vc.payload_types = config_.payload_types;
    vc.source.width = recv.width;
    vc.source.height = recv.height;
    vc.source.fps = recv.fps;
    vc.source.seed = recv.source_seed;
    vc.measure_quality = config_.measure_quality;
    vc.ssim_every = config_.ssim_every;
    vc.ntp_clock = config_.ntp_clock;
    auto v = VideoReceiveStream::Create(vc, statistics_);
    if (!v) return Error{v.error()};
    video_recv_ = std::move(v).value();
  }
  if (Status s = init_send_transport(); !s) return s;
  // Receive-side estimators for what the peer sends.
  if (recv.audio != AudioCodecKind::kNone || recv.video != VideoCodecKind::kNone) {
    if (config_.congestion == CongestionControlMode::kTransportCc) {
      congestion::TransportFeedbackGenerator::Config fc;
      fc.sender_ssrc = rtcp_.ssrc();
      fc.media_ssrc = config_.remote.video;
      fc.default_interval = config_.feedback_interval;
      fc.min_interval = std::min(fc.min_interval, config_.feedback_interval);
      feedback_generator_.emplace(fc);
    } else if (config_.congestion == CongestionControlMode::kRemb) {
      congestion::RemoteBitrateEstimatorAbsSendTime::Config rc;
      rc.sender_ssrc = rtcp_.ssrc();
      remb_estimator_.emplace(rc);
    }
  }
  return Status::Ok();
}

Status Endpoint::init_send_transport() {
  const MediaConfig& send = config_.send;
  SendTransport::Config tc;
  tc.controller.mode = config_.congestion == CongestionControlMode::kTransportCc ? congestion::NetworkControllerMode::kTransportCc
                       : config_.congestion == CongestionControlMode::kRemb      ? congestion::NetworkControllerMode::kRemb
                                                                                 : congestion::NetworkControllerMode::kFixed;
  tc.controller.min_rate = config_.min_rate;
  tc.controller.start_rate = config_.start_rate;
  tc.controller.max_rate = config_.max_rate;
  tc.controller.fixed_rate = config_.fixed_rate;
  // Loss figures from the video stream when we send one (it dominates), else from audio.
  tc.loss_ssrc = video_send_ ? config_.local.video : config_.local.audio;
  tc.overhead.max_packet_size = config_.max_packet_size;
  if (audio_send_) {
    tc.audio = congestion::AudioAllocationConfig{send.audio_bitrate, send.audio_bitrate};
    tc.overhead.audio_frame = AudioSendStream::kFrameDuration;
    if (send.protection.red) tc.overhead.audio_redundancy = send.audio_bitrate;
  }
  if (video_send_) {
    congestion::VideoStreamConfig sc;
    sc.id = config_.local.video;
    sc.min_rate = send.video_min_rate;
    sc.max_rate = send.video_max_rate;
    sc.fec_overhead = send.protection.fec ? 0.15 : 0.0;
    tc.video = sc;
    tc.overhead.video_fps = send.fps;
  }
  auto t = SendTransport::Create(tc, extensions_, sink_, this);
  if (!t) return Error{t.error()};
  send_transport_ = std::move(t).value();
  if (audio_send_) {
    if (Status s = send_transport_->add_stream(audio_send_->rtp().egress_config()); !s) return s;
  }
  if (video_send_) {
    if (Status s = send_transport_->add_stream(video_send_->rtp().egress_config()); !s) return s;
    send_transport_->set_padding_sender(&video_send_->rtp());
  }
  return Status::Ok();
}

void Endpoint::set_video_render_listener(VideoRenderListener* l) {
  if (video_recv_) video_recv_->set_render_listener(l);
}
void Endpoint::set_audio_playout_listener(AudioPlayoutListener* l) {
  if (audio_recv_) audio_recv_->set_playout_listener(l);
}
void Endpoint::set_video_capture_listener(VideoCaptureListener* l) {
  if (video_send_) video_send_->set_capture_listener(l);
}
void Endpoint::set_video_source(media::VideoSource* source) {
  if (video_send_) video_send_->set_source(source);
}
void Endpoint::set_audio_source(media::AudioSource* source) {
  if (audio_send_) audio_send_->set_source(source);
}
void Endpoint::set_reference_frame_provider(ReferenceFrameProvider* p) {
  if (video_recv_) video_recv_->set_reference_provider(p);
}

std::vector<uint32_t> Endpoint::own_ssrcs() const {
  std::vector<uint32_t> s;
  if (audio_send_) s.push_back(config_.local.audio);
  if (video_send_) s.push_back(config_.local.video);
  return s;
}

void Endpoint::on_allocation(const SendTransport::Allocation& a, Timestamp /*now*/) {
  if (audio_send_) audio_send_->set_target(a.audio);
  if (video_send_ && a.video) video_send_->set_target(a.video->media, a.video->suspended);
  if (feedback_generator_) feedback_generator_->set_bitrate_hint(a.target);
}

Endpoint::TransportCounters Endpoint::transport_counters() const {
  const SendTransport::Counters& sent = send_transport_->counters();
  TransportCounters c = received_;
  c.packets_sent = sent.packets_sent;
  c.bytes_sent = sent.bytes_sent;
  c.rtcp_packets_sent = sent.rtcp_packets_sent;
  c.pacer_drops = sent.pacer_drops;
  return c;
}

// ---------------------------------------------------------------------------------------------
// Receiving

void Endpoint::on_packet(std::span<const uint8_t> datagram, Timestamp now) {
  ++received_.packets_received;
  received_.bytes_received += datagram.size();
  sample_bytes_received_ += datagram.size();
  if (is_rtcp(datagram)) {
    ++received_.rtcp_packets_received;
    const std::vector<uint32_t> own = own_ssrcs();
    rtcp_.on_receive(datagram, now, own, *this);
    return;
  }
  auto parsed = rtp::RtpPacket::parse(datagram);
  if (!parsed) {
    ++received_.malformed_packets;
    return;
  }
  rtp::RtpPacket& packet = *parsed;
  packet.arrival_time = now;
  if (feedback_generator_) {
    if (auto seq = packet.get<rtp::TransportSequenceNumber>(extensions_)) {
      feedback_generator_->on_received_packet(*seq, now);
    }
  }
  if (remb_estimator_) {
    if (auto ast = packet.get<rtp::AbsSendTime>(extensions_)) {
      remb_estimator_->on_received_packet(*ast, now, DataSize::Bytes(static_cast<int64_t>(packet.size())),
                                          packet.ssrc());
    }
  }
  if (audio_recv_ && packet.ssrc() == config_.remote.audio) {
    audio_recv_->on_rtp(packet, now);
  } else if (video_recv_ && video_recv_->owns_ssrc(packet.ssrc())) {
    video_recv_->on_rtp(packet, now);
  } else {
    ++received_.unknown_ssrc_packets;
  }
}

void Endpoint::on_nack(uint32_t media_ssrc, std::span<const uint16_t> seqs, Timestamp now) {
  if (video_send_ && media_ssrc == config_.local.video) {
    video_send_->on_nack_received();
    const TimeDelta rtt = rtt_.smoothed().value_or(TimeDelta::Millis(100));
    // nullopt: no history (NACK off), nothing to answer with.
    (void)send_transport_->retransmit(config_.local.video, seqs, rtt, now);
  } else if (audio_send_ && media_ssrc == config_.local.audio) {
    audio_send_->on_nack_received();
  }
}

void Endpoint::on_keyframe_request(uint32_t media_ssrc, bool fir, Timestamp now) {
  (void)now;
  if (!video_send_ || media_ssrc != config_.local.video) return;
  if (fir) {
    video_send_->on_fir();
  } else {
    video_send_->on_pli();
  }
}

void Endpoint::on_remb(DataRate bitrate, Timestamp now) { send_transport_->on_remb(bitrate, now); }

void Endpoint::on_transport_feedback(const rtcp::TransportFeedback& feedback, Timestamp now) {
  send_transport_->on_transport_feedback(feedback, now);
}

void Endpoint::on_report_block(const rtcp::ReportBlock& block, std::optional<TimeDelta> rtt,
                               int64_t packets_expected, Timestamp now) {
  const bool loss_figures = send_transport_->on_report_block(block, rtt, packets_expected, now);
  if (rtt) {
    rtt_.on_rtt(*rtt);
    if (video_recv_) video_recv_->on_rtt(*rtt);
    if (remb_estimator_) remb_estimator_->on_rtt(*rtt);
  }
  if (!loss_figures) return;
  const double loss = send_transport_->loss_fraction();
  const TimeDelta path_rtt = rtt_.smoothed().value_or(TimeDelta::Millis(100));
  if (video_send_) video_send_->on_path_figures(path_rtt, loss);
  if (audio_send_) audio_send_->on_loss(loss);
}

void Endpoint::on_receiver_rtt(TimeDelta rtt, Timestamp /*now*/) {
  // The round trip to the next hop, seen from the receiving end: stats, NACK retry timing and REMB
  // use it; the video delay's allowance for retransmissions does not (VideoReceiveStream).
  rtt_.on_rtt(rtt);
  if (video_recv_) video_recv_->on_receiver_rtt(rtt);
  if (remb_estimator_) remb_estimator_->on_rtt(rtt);
}

void Endpoint::on_sender_report(const rtcp::SenderReport& report, Timestamp now) {
  statistics_.on_sender_report(report.sender_ssrc, report.ntp, now);
  if (audio_recv_ && report.sender_ssrc == config_.remote.audio) {
    audio_recv_->on_sender_report(report.ntp, report.rtp_timestamp);
  } else if (video_recv_ && report.sender_ssrc == config_.remote.video) {
    video_recv_->on_sender_report(report.ntp, report.rtp_timestamp);
  }
}

// ---------------------------------------------------------------------------------------------
// Driving

std::optional<Timestamp> Endpoint::next_wakeup() const {
  if (!started_) return Timestamp::MinusInfinity();  // process() at once to start
  std::optional<Timestamp> t;
  earliest(t, send_transport_->next_wakeup());
  earliest(t, next_sample_);
  if (audio_recv_ && video_recv_) earliest(t, next_sync_);
  if (audio_send_) earliest(t, audio_send_->next_capture_time(Timestamp::MinusInfinity()));
  if (video_send_) earliest(t, video_send_->next_capture_time(Timestamp::MinusInfinity()));
  if (audio_recv_) earliest(t, audio_recv_->next_wakeup());
  if (video_recv_) earliest(t, video_recv_->next_wakeup());
  if (feedback_generator_) earliest(t, feedback_generator_->next_wakeup());
  if (remb_estimator_) earliest(t, remb_estimator_->next_wakeup());
  earliest(t, rtcp_.next_wakeup());
  return t;
}

void Endpoint::process(Timestamp now) {
  if (!started_) {
    started_ = true;
    next_sample_ = now + config_.network_sample_interval;
    next_sync_ = now + kSyncInterval;
    send_transport_->start(now);
  }
  // The order below is part of the behaviour: the controller's tick reaches the encoders before
  // they run, what they produce can leave in the same call, the overhead refresh follows RTCP.
  send_transport_->update_controller(now);
  // Capture and encode, then hand everything to the pacer.
  scratch_.clear();
  if (audio_send_) audio_send_->process(now, scratch_);
  if (video_send_) {
    video_send_->set_pacer_backlog(send_transport_->backlogged(now));
    video_send_->process(now, scratch_);
  }
  for (OutgoingPacket& p : scratch_) send_transport_->enqueue(std::move(p), now);
  scratch_.clear();
  send_transport_->send_packets(now);

  // Receive side: playout, rendering and the feedback they ask for.
  std::vector<rtcp::RtcpPacket> feedback;
  if (video_recv_) video_recv_->process(now, feedback);
  if (audio_recv_) audio_recv_->process(now);
  if (feedback_generator_) {
    for (rtcp::TransportFeedback& f : feedback_generator_->process(now)) feedback.emplace_back(std::move(f));
  }
  if (remb_estimator_) {
    if (std::optional<rtcp::Remb> remb = remb_estimator_->process(now)) feedback.emplace_back(std::move(*remb));
  }
  for (const rtcp::RtcpPacket& f : feedback) {
    send_transport_->send_rtcp(rtcp_.build_feedback(std::span<const rtcp::RtcpPacket>(&f, 1), now), now);
  }

  // Regular reports.
  std::vector<RtcpSession::Sender> senders;
  for (const uint32_t ssrc : own_ssrcs()) {
    senders.push_back({ssrc, send_transport_->stream(ssrc)->sender_report_info(now, config_.ntp_clock)});
  }
  if (auto report = rtcp_.maybe_build_report(now, senders, statistics_)) send_transport_->send_rtcp(std::move(*report), now);

  if (audio_recv_ && video_recv_ && next_sync_ <= now) {
    next_sync_ = std::max(next_sync_ + kSyncInterval, now);
    if (config_.av_sync) {
      sync_.update(audio_recv_->current_delay(now, config_.ntp_clock), video_recv_->last_delay());
      audio_recv_->set_sync_delay(sync_.audio_extra_delay());
      video_recv_->set_sync_delay(sync_.video_extra_delay());
    }
  }
  send_transport_->update_overhead(now);
  if (next_sample_ <= now) {
    sample(now);
    next_sample_ = std::max(next_sample_ + config_.network_sample_interval, now);
  }
}

void Endpoint::sample(Timestamp now) {
  const double seconds = config_.network_sample_interval.seconds_f();
  NetworkSample s;
  s.time = now;
  const SendTransport& t = *send_transport_;
  const uint64_t bytes_sent = t.counters().bytes_sent - sampled_bytes_sent_;
  sampled_bytes_sent_ = t.counters().bytes_sent;
  s.target_bitrate = t.target();
  s.pacing_rate = t.pacing_rate();
  s.send_rate = DataRate::BitsPerSec(static_cast<int64_t>(static_cast<double>(bytes_sent) * 8 / seconds));
  s.receive_rate = DataRate::BitsPerSec(static_cast<int64_t>(static_cast<double>(sample_bytes_received_) * 8 / seconds));
  s.rtt = rtt_.latest();
  s.loss_fraction = t.loss_fraction();
  s.video_target = t.video_media_rate();
  s.video_suspended = t.video_suspended();
  sample_bytes_received_ = 0;
  if (sample_listener_ != nullptr) sample_listener_->on_network_sample(s);
}

// ---------------------------------------------------------------------------------------------
// Stats

StatsReport Endpoint::stats(Timestamp now) const {
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
    const SendTransport::RemoteInbound* found = send_transport_->remote_inbound(ssrc);
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
    const rtp::OutboundRtpCounters& c = send_transport_->stream(rtp.ssrc())->counters();
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
    codec(codec_id.c_str(), audio_send_->payload_type(), "audio/opus", 48000, 2);
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
    m.frames_per_second = config_.send.fps;
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
    s.frames_sent = static_cast<uint32_t>(vc.frames_encoded);
    s.key_frames_encoded = static_cast<uint32_t>(vc.key_frames_encoded);
    s.frame_width = static_cast<uint32_t>(vc.frame_width);
    s.frame_height = static_cast<uint32_t>(vc.frame_height);
    s.pli_count = static_cast<uint32_t>(vc.pli_count);
    s.fir_count = static_cast<uint32_t>(vc.fir_count);
    s.frames_per_second = video_send_->frames_per_second(now);
    s.fec_packets_sent = static_cast<uint64_t>(vc.fec_packets_sent);
    s.quality_limitation_reason =
        video_send_->suspended() || video_send_->target() < config_.send.video_max_rate ? "bandwidth" : "none";
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
    codec(codec_id.c_str(), config_.payload_types.opus, "audio/opus", 48000, 2);
    const jitterbuffer::AudioJitterBufferStats& j = audio_recv_->jitter_buffer_stats();
    InboundRtpStats s;
    s.id = "ITA" + std::to_string(config_.remote.audio);
    fill_inbound_common(s, config_.remote.audio, "audio");
    s.codec_id = codec_id;
    s.mid = config_.remote.audio_mid;
    s.jitter_buffer_delay = j.jitter_buffer_delay_s;
    s.jitter_buffer_target_delay = j.jitter_buffer_target_delay_s;
    s.jitter_buffer_emitted_count = j.jitter_buffer_emitted_count;
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
    const media::FreezeStats& f = video_recv_->freeze_stats();
    InboundRtpStats s;
    s.id = "ITV" + std::to_string(config_.remote.video);
    fill_inbound_common(s, config_.remote.video, "video");
    s.codec_id = codec_id;
    s.mid = config_.remote.video_mid;
    s.nack_count = static_cast<uint32_t>(vc.nack_count);
    s.jitter_buffer_delay = j.jitter_buffer_delay.seconds_f();
    s.jitter_buffer_target_delay = j.target_delay.seconds_f() * static_cast<double>(j.jitter_buffer_emitted_count);
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
    if (config_.receive.protection.fec) {
      s.fec_packets_received = static_cast<uint64_t>(vc.fec_packets_received);
      s.fec_packets_recovered = static_cast<uint64_t>(vc.fec_packets_recovered);
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
  if (auto rtt = rtt_.latest()) cp.current_round_trip_time = rtt->seconds_f();
  if (audio_send_ || video_send_) cp.available_outgoing_bitrate = send_transport_->target().bps_f();
  if (remb_estimator_) {
    if (auto e = remb_estimator_->estimate()) cp.available_incoming_bitrate = e->bps_f();
  }
  r.candidate_pairs.push_back(cp);
  return r;
}

}  // namespace tern::pipeline
