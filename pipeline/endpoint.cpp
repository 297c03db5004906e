#include "tern/pipeline/endpoint.h"

#include <algorithm>

#include "tern/core/random.h"
#include "tern/rtp/rtp_rtcp_split.h"

namespace tern::pipeline {
namespace {

constexpr TimeDelta kSyncInterval = TimeDelta::Millis(100);

// A feedback generator's config (transport-cc or RFC 8888) at the endpoint's feedback interval.
template <class Config>
Config feedback_timing(uint32_t sender_ssrc, TimeDelta interval) {
  Config c;
  c.sender_ssrc = sender_ssrc;
  c.default_interval = interval;
  c.min_interval = std::min(c.min_interval, interval);
  return c;
}

void earliest(std::optional<Timestamp>& t, std::optional<Timestamp> o) {
  if (o && o->is_finite() && (!t || *o < *t)) t = o;
}

}  // namespace

Result<std::unique_ptr<Endpoint>> Endpoint::Create(const EndpointConfig& config, DatagramSink* sink) {
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
  rc.ssrc = config.send.audio || !config.send.video
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

Endpoint::Endpoint(const EndpointConfig& config, DatagramSink* sink, rtp::ExtensionMap extensions,
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
  if (send.audio) {
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
  if (send.video) {
    VideoSendStream::Config vc;
    vc.codec = *send.video;
    vc.width = send.width;
    vc.height = send.height;
    vc.fps = send.fps;
    vc.source_seed = send.source_seed;
    vc.vp9_flexible_mode = send.vp9_flexible_mode;
    vc.temporal_layers = send.temporal_layers;
    vc.degradation = send.degradation;
    vc.encode_clock = config_.encode_clock;
    vc.start_rate = config_.congestion == CongestionControlMode::kFixed ? config_.fixed_rate : config_.start_rate;
    vc.protection = send.protection;
    vc.payload_types = config_.payload_types;
    vc.max_packet_size = config_.max_packet_size;
    vc.rtp.ssrc = config_.local.video;
    vc.rtp.rtx_ssrc = config_.local.video_rtx;
    vc.rtp.mid = config_.local.video_mid;
    vc.rtp.first_sequence_number = static_cast<uint16_t>(rng.next_u32());
    if (send.protection.flexfec) {  // drawn only then: other calls keep their numbers
      vc.flexfec_ssrc = config_.local.video_fec;
      vc.flexfec_first_sequence_number = static_cast<uint16_t>(rng.next_u32());
    }
    auto v = VideoSendStream::Create(vc, extensions_);
    if (!v) return Error{v.error()};
    video_send_ = std::move(v).value();
  }
  const MediaConfig& recv = config_.receive;
  if (Status s = make_audio_receive(); !s) return s;
  if (Status s = make_video_receive(); !s) return s;
  if (Status s = init_send_transport(); !s) return s;
  // Receive-side estimators for what the peer sends.
  if (recv.audio || recv.video) {
    if (config_.congestion == CongestionControlMode::kTransportCc) {
      auto fc = feedback_timing<congestion::TransportFeedbackGenerator::Config>(rtcp_.ssrc(), config_.feedback_interval);
      fc.media_ssrc = config_.remote.video;
      feedback_generator_.emplace(fc);
    } else if (config_.congestion == CongestionControlMode::kRfc8888) {
      ccfb_generator_.emplace(
          feedback_timing<congestion::CongestionControlFeedbackGenerator::Config>(rtcp_.ssrc(), config_.feedback_interval));
    } else if (config_.congestion == CongestionControlMode::kRemb) {
      congestion::RemoteBitrateEstimatorAbsSendTime::Config rc;
      rc.sender_ssrc = rtcp_.ssrc();
      remb_estimator_.emplace(rc);
    }
  }
  make_stats_collector();
  return Status::Ok();
}

Status Endpoint::make_audio_receive() {
  const MediaConfig& recv = config_.receive;
  if (!recv.audio) return Status::Ok();
  AudioReceiveStream::Config ac;
  ac.ssrc = config_.remote.audio;
  ac.red = recv.protection.red;
  ac.payload_types = config_.payload_types;
  ac.ntp_clock = config_.ntp_clock;
  auto a = AudioReceiveStream::Create(ac, statistics_);
  if (!a) return Error{a.error()};
  audio_recv_ = std::move(a).value();
  audio_recv_->set_playout_listener(playout_listener_);
  return Status::Ok();
}

Status Endpoint::make_video_receive() {
  const MediaConfig& recv = config_.receive;
  if (recv.video) {
    VideoReceiveStream::Config vc;
    vc.codec = *recv.video;
    vc.ssrc = config_.remote.video;
    vc.rtx_ssrc = config_.remote.video_rtx;
    if (recv.protection.flexfec) vc.flexfec_ssrc = config_.remote.video_fec;
    vc.local_ssrc = rtcp_.ssrc();
    vc.use_fir = config_.use_fir;
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
    video_recv_->set_render_listener(render_listener_);
    video_recv_->set_reference_provider(reference_provider_);
  }
  return Status::Ok();
}

void Endpoint::make_stats_collector() {
  StatsCollector::Sources sources;
  sources.config = &config_;
  sources.audio_send = audio_send_.get();
  sources.video_send = video_send_.get();
  sources.audio_recv = audio_recv_.get();
  sources.video_recv = video_recv_.get();
  sources.statistics = &statistics_;
  sources.send_transport = send_transport_.get();
  sources.sync = &sync_;
  sources.rtt = &rtt_;
  sources.remb_estimator = remb_estimator_ ? &*remb_estimator_ : nullptr;
  sources.received = &received_;
  sources.link = &link_counters_;
  stats_collector_ = std::make_unique<StatsCollector>(sources);
}

Status Endpoint::remake_receive_stream(uint32_t& remote, uint32_t ssrc, Status (Endpoint::*make)()) {
  const uint32_t old = remote;
  remote = ssrc;
  if (Status s = config_.validate(); !s) {
    remote = old;
    return s;
  }
  if (Status s = (this->*make)(); !s) return s;
  make_stats_collector();  // it reads the streams it was made with
  return Status::Ok();
}

Status Endpoint::set_remote_audio_ssrc(uint32_t ssrc) {
  if (!audio_recv_) return Error{"endpoint: no audio is received"};
  return remake_receive_stream(config_.remote.audio, ssrc, &Endpoint::make_audio_receive);
}

Status Endpoint::set_remote_video_ssrc(uint32_t ssrc) {
  if (!video_recv_) return Error{"endpoint: no video is received"};
  // The transport-cc feedback keeps the media SSRC it was made with: transport-wide feedback is
  // about every stream of the sender, the field is informational.
  return remake_receive_stream(config_.remote.video, ssrc, &Endpoint::make_video_receive);
}

Status Endpoint::init_send_transport() {
  const MediaConfig& send = config_.send;
  SendTransport::Config tc;
  const bool transport_feedback =
      config_.congestion == CongestionControlMode::kTransportCc || config_.congestion == CongestionControlMode::kRfc8888;
  tc.controller.mode = transport_feedback                                          ? congestion::NetworkControllerMode::kTransportCc
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
    // Opus follows the allocation between its low end and the configured rate (audio first: it
    // reaches that rate before video gets more than its minimum); RED's copies are sent, and
    // charged, only while the allocation grants them.
    tc.audio = congestion::AudioAllocationConfig{min(AudioSendStream::kMinBitrate, send.audio_bitrate),
                                                 send.audio_bitrate, AudioSendStream::wire_factor(send.protection.red)};
    tc.overhead.audio_frame = AudioSendStream::kFrameDuration;
  }
  if (video_send_) {
    congestion::VideoStreamConfig sc;
    sc.id = config_.local.video;
    sc.min_rate = send.video_min_rate;
    sc.max_rate = send.video_max_rate;
    // FEC alone: 15% from the start. Beside NACK none until the protection policy turns it on
    // (Endpoint::on_report_block follows it).
    sc.fec_overhead = (send.protection.fec || send.protection.flexfec) && !send.protection.nack ? 0.15 : 0.0;
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
  render_listener_ = l;
  if (video_recv_) video_recv_->set_render_listener(l);
}
void Endpoint::set_audio_playout_listener(AudioPlayoutListener* l) {
  playout_listener_ = l;
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
  reference_provider_ = p;
  if (video_recv_) video_recv_->set_reference_provider(p);
}

std::vector<uint32_t> Endpoint::own_ssrcs() const {
  std::vector<uint32_t> s;
  if (audio_send_) s.push_back(config_.local.audio);
  if (video_send_) s.push_back(config_.local.video);
  return s;
}

void Endpoint::on_allocation(const SendTransport::Allocation& a, Timestamp /*now*/) {
  if (audio_send_) {
    audio_send_->set_target(a.audio);
    audio_send_->set_red_active(a.audio_redundancy);
  }
  if (video_send_ && a.video) video_send_->set_target(a.video->media, a.video->suspended);
  if (feedback_generator_) feedback_generator_->set_bitrate_hint(a.target);
  if (ccfb_generator_) ccfb_generator_->set_bitrate_hint(a.target);
}

Endpoint::TransportCounters Endpoint::transport_counters() const { return stats_collector_->transport_counters(); }

// ---------------------------------------------------------------------------------------------
// Receiving

void Endpoint::set_remote_video_rtx_ssrc(uint32_t ssrc) {
  if (!video_recv_ || ssrc == 0) return;
  config_.remote.video_rtx = ssrc;
  video_recv_->set_rtx_ssrc(ssrc);
}

PacketVerdict Endpoint::on_packet(std::span<const uint8_t> datagram, Timestamp now) {
  ++received_.packets_received;
  received_.bytes_received += datagram.size();
  sample_bytes_received_ += datagram.size();
  if (rtp::is_rtcp(datagram)) {
    ++received_.rtcp_packets_received;
    const std::vector<uint32_t> own = own_ssrcs();
    const int64_t errors_before = rtcp_.counters().parse_errors;
    rtcp_.on_receive(datagram, now, own, *this);
    if (rtcp_.counters().parse_errors == errors_before) return PacketVerdict::kRtcp;
    ++received_.rtcp_parse_errors;
    return PacketVerdict::kBadRtcp;
  }
  auto parsed = rtp::RtpPacket::parse(datagram);
  if (!parsed) {
    ++received_.malformed_packets;
    return PacketVerdict::kMalformedRtp;
  }
  rtp::RtpPacket& packet = *parsed;
  packet.arrival_time = now;
  if (feedback_generator_) {
    if (auto seq = packet.get<rtp::TransportSequenceNumber>(extensions_)) {
      ++received_.transport_sequenced_received;
      // Without a remote video SSRC (audio only) the feedback names one the peer sends: Chromium
      // ignores transport-cc for media SSRC 0.
      if (config_.remote.video == 0) feedback_generator_->set_media_ssrc(packet.ssrc());
      feedback_generator_->on_received_packet(*seq, now);
    }
  }
  if (ccfb_generator_) ccfb_generator_->on_received_packet(packet.ssrc(), packet.sequence_number(), now);
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
    return PacketVerdict::kUnknownSsrc;
  }
  return PacketVerdict::kRtp;
}

void Endpoint::on_nack(uint32_t media_ssrc, std::span<const uint16_t> seqs, Timestamp now) {
  if (video_send_ && media_ssrc == config_.local.video) {
    video_send_->on_nack_received();
    const TimeDelta rtt = rtt_.smoothed().value_or(TimeDelta::Millis(100));
    // Returns how many were answered (nullopt: no history, NACK off); the RTX counters and the
    // egress statistics already record what was resent, so the count itself is not needed here.
    (void)send_transport_->retransmit(config_.local.video, seqs, rtt, now);
  } else if (audio_send_ && media_ssrc == config_.local.audio) {
    audio_send_->on_nack_received();
  }
}

void Endpoint::on_keyframe_request(uint32_t media_ssrc, bool fir, Timestamp /*now*/) {
  if (!video_send_ || media_ssrc != config_.local.video) return;
  if (fir) {
    video_send_->on_fir();
  } else {
    video_send_->on_pli();
  }
}

void Endpoint::on_remb(DataRate bitrate, Timestamp now) { send_transport_->on_remb(bitrate, now); }

void Endpoint::on_transport_feedback(const rtcp::TransportFeedback& feedback, Timestamp now) {
  ++received_.transport_feedback_received;
  send_transport_->on_transport_feedback(feedback, now);
  // Before the first report block's RTT (an SR and the RR answering it: 1-2 s into a call) the
  // FEC policy would judge the path by a 100 ms guess; transport feedback shows a long path within
  // one RTT, and there FEC must start at once (update_video_protection).
  if (video_send_ && config_.send.protection.nack && !rtt_.min()) {
    const auto f = send_transport_->feedback_rtt();
    if (f && *f >= video_send_->protection_policy().config().high_rtt) update_video_protection(*f, *f, 0.0);
  }
}

void Endpoint::on_congestion_control_feedback(const rtcp::CongestionControlFeedback& feedback, Timestamp now) {
  send_transport_->on_congestion_control_feedback(feedback, now);
}

void Endpoint::on_report_block(const rtcp::ReportBlock& block, std::optional<TimeDelta> rtt,
                               int64_t packets_expected, Timestamp now) {
  const bool loss_figures = send_transport_->on_report_block(block, rtt, packets_expected, now);
  // Opus's expected loss from the audio stream's own reports (as libwebrtc's audio channel does):
  // the video stream's undercount what the path loses once RTX repairs arrive before the report
  // (tern's receiver counts a restored packet as received), and audio has no retransmission.
  if (audio_send_ && block.source_ssrc == config_.local.audio) audio_send_->on_loss(block.fraction_lost / 256.0);
  if (rtt) {
    rtt_.on_rtt(*rtt);
    if (video_recv_) video_recv_->on_rtt(*rtt);
    if (remb_estimator_) remb_estimator_->on_rtt(*rtt);
  }
  if (!loss_figures) return;
  if (video_send_) {
    // A report before the first RTT (an RR before any SR) judges the path by transport feedback's
    // RTT when there is one: with the 100 ms guess it turned off the FEC that feedback had turned
    // on for a long path, and frames sent until the next feedback went bare (far-jittery seed 3:
    // its freeze at 2 s; over seeds 1-10 freeze share 1.31 -> 0.79%).
    const std::optional<TimeDelta> base = rtt_.min() ? rtt_.min() : send_transport_->feedback_rtt();
    update_video_protection(rtt_.smoothed().value_or(base.value_or(TimeDelta::Millis(100))), base,
                            send_transport_->loss_fraction());
  }
}

void Endpoint::update_video_protection(TimeDelta path_rtt, std::optional<TimeDelta> base_rtt, double rr_loss) {
  // Beside NACK, FEC follows what the path loses before repairs (transport feedback, as libwebrtc's
  // FEC controller): the report's fraction counts a packet restored by RTX in time as received.
  const std::optional<double> feedback_loss = send_transport_->feedback_loss_fraction();
  double loss = config_.send.protection.nack ? feedback_loss.value_or(rr_loss) : rr_loss;
  // On a long path a retransmission comes after the jitter buffer gave its frame up, and a call's
  // first losses come before any loss figure (transport feedback needs its outcomes: ~1-2 s): with
  // NACK alone there, each was a freeze (far-jittery: 18 of its 25 freezes in ten 30 s calls came
  // in the first 2 s). A long path is one of the policy's high_rtt; until the figure exists, FEC is
  // sized there for at least the least loss the policy protects against (its min_fec_loss).
  const recovery::ProtectionPolicy::Config& policy = video_send_->protection_policy().config();
  if (config_.send.protection.nack && !feedback_loss && base_rtt && *base_rtt >= policy.high_rtt)
    loss = std::max(loss, policy.min_fec_loss);
  video_send_->on_path_figures(path_rtt, loss, send_transport_->loss_bursty(), base_rtt);
  // Beside NACK, FEC is only sent when the policy turns it on: reserve what it sends.
  if (config_.send.protection.nack) send_transport_->set_video_fec_overhead(video_send_->fec_overhead());
}

void Endpoint::on_receiver_rtt(TimeDelta rtt, Timestamp /*now*/) {
  // The round trip to the next hop, seen from the receiving end: stats, NACK retry timing and REMB
  // use it; the video delay's allowance for retransmissions only above its guess (VideoReceiveStream).
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
  if (ccfb_generator_) earliest(t, ccfb_generator_->next_wakeup());
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
    for (rtcp::TransportFeedback& f : feedback_generator_->process(now)) {
      ++received_.transport_feedback_sent;  // the receive half's reply
      feedback.emplace_back(std::move(f));
    }
  }
  if (ccfb_generator_) {
    for (rtcp::CongestionControlFeedback& f : ccfb_generator_->process(now)) feedback.emplace_back(std::move(f));
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

StatsReport Endpoint::stats(Timestamp now) const { return stats_collector_->collect(now); }

}  // namespace tern::pipeline
