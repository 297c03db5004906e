#include "tern/pipeline/endpoint.h"

#include <algorithm>

#include "tern/core/random.h"

namespace tern::pipeline {
namespace {

constexpr TimeDelta kControllerInterval = TimeDelta::Millis(25);
constexpr TimeDelta kSyncInterval = TimeDelta::Millis(100);
constexpr size_t kMaxPaddingPackets = 16;  // per padding request
constexpr uint8_t kPaddingBytes = 255;
// Overhead is measured over the last second, refreshed every 250 ms.
constexpr TimeDelta kOverheadInterval = TimeDelta::Millis(250);
constexpr size_t kOverheadSnapshots = 5;
// The allocation never gives more than this share of the target to overhead.
constexpr double kMaxOverheadShare = 0.4;
// Retransmissions may take up to this share of the target (see set_target()).
constexpr double kMaxRetransmissionShare = 0.25;
// Bytes of RTP header with this endpoint's extensions (mid, transport-wide seq, abs-send-time),
// for the overhead estimate before there is a measurement.
constexpr int64_t kNominalRtpHeaderBytes = 12 + 4 + 2 + 3 + 4 + 3;
// A frame is not encoded while the pacer needs longer than this to send what it holds.
constexpr TimeDelta kMaxPacerBacklog = TimeDelta::Millis(100);

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
    allocator_.set_audio(congestion::AudioAllocationConfig{send.audio_bitrate, send.audio_bitrate});
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
    congestion::VideoStreamConfig sc;
    sc.id = config_.local.video;
    sc.min_rate = send.video_min_rate;
    sc.max_rate = send.video_max_rate;
    sc.fec_overhead = send.protection.fec ? 0.15 : 0.0;
    if (Status s = allocator_.add_video_stream(sc); !s) return s;
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
  if (config_.congestion != CongestionControlMode::kFixed) {
    congestion::GoogCcNetworkController::Config cc;
    cc.min_rate = config_.min_rate;
    cc.start_rate = config_.start_rate;
    cc.max_rate = config_.max_rate;
    // Without transport feedback nothing would ever leave the window: no window then.
    cc.enable_congestion_window = config_.congestion == CongestionControlMode::kTransportCc;
    cc.enable_probing = config_.congestion == CongestionControlMode::kTransportCc;
    auto c = congestion::GoogCcNetworkController::Create(cc);
    if (!c) return Error{c.error()};
    controller_.emplace(std::move(c).value());
  }
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

// ---------------------------------------------------------------------------------------------
// Congestion control

void Endpoint::start(Timestamp now) {
  started_ = true;
  next_controller_tick_ = now;
  next_sample_ = now + config_.network_sample_interval;
  next_sync_ = now + kSyncInterval;
  next_overhead_update_ = now;
  if (controller_) {
    apply(controller_->on_network_availability(true, now), now);
    apply(controller_->on_process_interval(now), now);
  } else {
    set_target(config_.fixed_rate, now);
    pacer_.set_pacing_rates(config_.fixed_rate * 2.5, DataRate::Zero());
  }
}

void Endpoint::apply(const congestion::NetworkControlUpdate& update, Timestamp now) {
  if (update.pacer_config) {
    pacing_rate_ = update.pacer_config->data_rate;
    pacer_.set_pacing_config(*update.pacer_config);
  }
  for (const congestion::ProbeClusterConfig& p : update.probe_cluster_configs) pacer_.create_probe_cluster(p);
  if (update.target_rate) set_target(update.target_rate->target_rate, now);
}

DataRate Endpoint::overhead_rate() const {
  if (measured_overhead_) return max(*measured_overhead_ - audio_allocation_, DataRate::Zero());
  // Nominal until measured: 50 audio packets/s (plus RED's redundant copies), and for video one
  // packet per frame plus one per full packet of media at the current video rate.
  const int64_t per_packet = kNominalRtpHeaderBytes + Endpoint::kTransportOverheadBytes;
  double packets_per_second = 0;
  DataRate extra = DataRate::Zero();
  if (audio_send_) {
    packets_per_second += 1.0 / AudioSendStream::kFrameDuration.seconds_f();
    if (config_.send.protection.red) extra += config_.send.audio_bitrate;
  }
  if (video_send_) {
    const double payload_bits = static_cast<double>(config_.max_packet_size - static_cast<size_t>(per_packet)) * 8.0;
    packets_per_second += config_.send.fps + target_.bps_f() / payload_bits;
  }
  return extra + DataRate::BitsPerSec(static_cast<int64_t>(packets_per_second * static_cast<double>(per_packet) * 8.0));
}

void Endpoint::update_overhead(Timestamp now) {
  overhead_snapshots_.push_back(OverheadSnapshot{now, budget_.headers + budget_.audio});
  while (overhead_snapshots_.size() > kOverheadSnapshots) overhead_snapshots_.pop_front();
  if (overhead_snapshots_.size() < kOverheadSnapshots) return;  // under a second of history
  const OverheadSnapshot& first = overhead_snapshots_.front();
  const TimeDelta span = now - first.time;
  if (span <= TimeDelta::Zero()) return;
  measured_overhead_ = (budget_.headers + budget_.audio - first.bytes) / span;
  set_target(target_, now);
}

bool Endpoint::pacer_backlogged(Timestamp now) const {
  if (pacer_.queue_packets() == 0) return false;
  const DataRate rate = pacer_.current_pacing_rate(now);
  return pacer_.queue_size() / rate > kMaxPacerBacklog || pacer_.oldest_queue_time(now) > kMaxPacerBacklog;
}

void Endpoint::set_target(DataRate target, Timestamp now) {
  target_ = target;
  // Media + overhead <= target: the encoders share what the headers and redundancy leave.
  const DataRate overhead = min(overhead_rate(), target * kMaxOverheadShare);
  const congestion::BitrateAllocation a = allocator_.allocate(target - overhead);
  audio_allocation_ = a.audio;
  if (audio_send_) audio_send_->set_target(a.audio);
  if (video_send_ && !a.video.empty()) {
    video_media_rate_ = a.video.front().media;
    video_suspended_ = a.video.front().suspended;
    video_send_->set_target(video_media_rate_, video_suspended_);
    // Retransmissions may use up to a quarter of the target (over the history's 500 ms budget
    // window) beyond the allocator's small reserve: a loss burst needs its repair at once, and a
    // budget cut to the average loss rate starved retries for hundreds of milliseconds (4% loss in
    // bursts of 3 at 3 Mbps froze the video for 0.3-1.7 s per 20 s until the decoder asked for a
    // keyframe). Not more: under congestion retransmissions only lengthen the queue they repair;
    // libwebrtc allows the whole target over 1 s.
    video_send_->rtp().set_retransmission_rate(max(a.rtx, target * kMaxRetransmissionShare), now);
  }
  if (feedback_generator_) feedback_generator_->set_bitrate_hint(target);
}

// ---------------------------------------------------------------------------------------------
// Sending

void Endpoint::enqueue(OutgoingPacket packet, Timestamp now) {
  const uint64_t id = next_packet_id_++;
  congestion::PacedPacket p;
  p.id = id;
  p.size = DataSize::Bytes(static_cast<int64_t>(packet.packet.size()));
  p.priority = packet.priority;
  paced_.emplace(id, std::move(packet));
  if (std::optional<congestion::PacedPacket> dropped = pacer_.enqueue(p, now)) {
    paced_.erase(dropped->id);
    ++transport_.pacer_drops;
  }
}

void Endpoint::send_paced(Timestamp now) {
  const std::optional<Timestamp> due = pacer_.next_send_time();
  if (!due || *due > now) return;
  congestion::PacerOutput out = pacer_.process(now);
  for (const congestion::PacedPacket& p : out.packets) {
    auto it = paced_.find(p.id);
    if (it == paced_.end()) continue;
    OutgoingPacket packet = std::move(it->second);
    paced_.erase(it);
    const TimeDelta waited = max(now - p.enqueue_time, TimeDelta::Zero());
    budget_.total_queue_delay += waited;
    budget_.max_queue_delay = max(budget_.max_queue_delay, waited);
    send_rtp(packet, p.probe_cluster_id, now);
  }
  for (const congestion::PaddingRequest& r : out.padding) send_padding(r.size, r.probe_cluster_id, now);
}

void Endpoint::send_rtp(OutgoingPacket& o, int probe_cluster_id, Timestamp now) {
  const DataSize size = DataSize::Bytes(static_cast<int64_t>(o.packet.size()));
  const congestion::TransportFeedbackAdapter::Stamped stamped = feedback_adapter_.on_sent_packet(
      now, size, probe_cluster_id, o.audio,
      congestion::TransportFeedbackAdapter::RtpId{o.packet.ssrc(), o.packet.sequence_number()});
  (void)o.packet.set<rtp::TransportSequenceNumber>(extensions_, stamped.transport_seq);
  (void)o.packet.set<rtp::AbsSendTime>(extensions_, rtp::AbsSendTime::from_time(now));
  if (controller_) apply(controller_->on_sent_packet(stamped.info), now);
  if (audio_send_ && o.media_ssrc == config_.local.audio) {
    audio_send_->rtp().on_sent(o.packet, o.capture_time, now, o.retransmission);
  } else if (video_send_ && o.media_ssrc == config_.local.video) {
    video_send_->rtp().on_sent(o.packet, o.capture_time, now, o.retransmission);
  }
  count_budget(o);
  const std::span<const uint8_t> data = o.packet.data();
  send_datagram(std::vector<uint8_t>(data.begin(), data.end()), now);
}

void Endpoint::count_budget(const OutgoingPacket& o) {
  ++budget_.packets;
  const DataSize whole = DataSize::Bytes(static_cast<int64_t>(o.packet.size()) + kTransportOverheadBytes);
  if (o.priority == congestion::PacketPriority::kPadding) {
    budget_.padding += whole;
    return;
  }
  const DataSize payload = DataSize::Bytes(static_cast<int64_t>(o.packet.payload_size()));
  budget_.headers += whole - payload;
  if (o.retransmission) {
    budget_.retransmission += payload;
  } else if (o.priority == congestion::PacketPriority::kFec) {
    budget_.fec += payload;
  } else if (o.audio) {
    budget_.audio += payload;
  } else {
    budget_.video += payload;
  }
}

void Endpoint::send_padding(DataSize size, int probe_cluster_id, Timestamp now) {
  if (!video_send_ || !video_send_->rtp().rtx_ssrc()) return;
  DataSize left = size;
  for (size_t i = 0; i < kMaxPaddingPackets && left > DataSize::Zero(); ++i) {
    auto p = video_send_->rtp().build_padding(kPaddingBytes, static_cast<uint32_t>(now.us() * 9 / 100));
    if (!p) return;
    left -= DataSize::Bytes(static_cast<int64_t>(p->size()));
    OutgoingPacket o;
    o.packet = std::move(*p);
    o.capture_time = now;
    o.media_ssrc = 0;  // counted on no media stream
    o.priority = congestion::PacketPriority::kPadding;
    send_rtp(o, probe_cluster_id, now);
  }
}

void Endpoint::send_rtcp(std::vector<uint8_t> bytes, Timestamp now) {
  if (bytes.empty()) return;
  ++transport_.rtcp_packets_sent;
  send_datagram(std::move(bytes), now);
}

void Endpoint::send_datagram(std::vector<uint8_t> bytes, Timestamp now) {
  ++transport_.packets_sent;
  transport_.bytes_sent += bytes.size();
  sample_bytes_sent_ += bytes.size();
  sink_->send(std::move(bytes), now);
}

// ---------------------------------------------------------------------------------------------
// Receiving

void Endpoint::on_packet(std::span<const uint8_t> datagram, Timestamp now) {
  ++transport_.packets_received;
  transport_.bytes_received += datagram.size();
  sample_bytes_received_ += datagram.size();
  if (is_rtcp(datagram)) {
    ++transport_.rtcp_packets_received;
    const std::vector<uint32_t> own = own_ssrcs();
    rtcp_.on_receive(datagram, now, own, *this);
    return;
  }
  auto parsed = rtp::RtpPacket::parse(datagram);
  if (!parsed) {
    ++transport_.malformed_packets;
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
    ++transport_.unknown_ssrc_packets;
  }
}

void Endpoint::on_nack(uint32_t media_ssrc, std::span<const uint16_t> seqs, Timestamp now) {
  if (video_send_ && media_ssrc == config_.local.video) {
    video_send_->on_nack_received();
    const TimeDelta rtt = rtt_.smoothed().value_or(TimeDelta::Millis(100));
    for (rtp::RtpPacket& rtx : video_send_->rtp().on_nack(seqs, now, rtt)) {
      OutgoingPacket o;
      o.packet = std::move(rtx);
      o.capture_time = now;
      o.media_ssrc = config_.local.video;
      o.retransmission = true;
      o.priority = congestion::PacketPriority::kRetransmission;
      enqueue(std::move(o), now);
    }
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

void Endpoint::on_remb(DataRate bitrate, Timestamp now) {
  remote_remb_ = bitrate;
  if (controller_ && config_.congestion == CongestionControlMode::kRemb) {
    apply(controller_->on_remote_bitrate_report(bitrate, now), now);
  }
}

void Endpoint::on_transport_feedback(const rtcp::TransportFeedback& feedback, Timestamp now) {
  auto f = feedback_adapter_.on_transport_feedback(feedback, now);
  if (f && controller_ && config_.congestion == CongestionControlMode::kTransportCc) {
    apply(controller_->on_transport_feedback(*f), now);
  }
}

void Endpoint::on_report_block(const rtcp::ReportBlock& block, std::optional<TimeDelta> rtt,
                               int64_t packets_expected, Timestamp now) {
  RemoteInbound& r = remote_inbound_[block.source_ssrc];
  r.block = block;
  if (rtt) {
    r.rtt = rtt;
    r.rtts.on_rtt(*rtt);
    rtt_.on_rtt(*rtt);
    if (controller_) apply(controller_->on_rtt(*rtt, now), now);
    if (video_recv_) video_recv_->on_rtt(*rtt);
    if (remb_estimator_) remb_estimator_->on_rtt(*rtt);
  }
  // Loss figures from the video stream when we send one (it dominates), else from audio.
  const uint32_t loss_ssrc = video_send_ ? config_.local.video : config_.local.audio;
  if (block.source_ssrc != loss_ssrc) return;
  loss_fraction_ = block.fraction_lost / 256.0;
  if (controller_ && packets_expected > 0) {
    apply(controller_->on_loss_report(
              congestion::LossReport::FromFractionLost(block.fraction_lost, packets_expected, now)),
          now);
  }
  const TimeDelta path_rtt = rtt_.smoothed().value_or(TimeDelta::Millis(100));
  if (video_send_) video_send_->on_path_figures(path_rtt, loss_fraction_);
  if (audio_send_) audio_send_->on_loss(loss_fraction_);
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
  if (controller_) earliest(t, next_controller_tick_);
  earliest(t, next_sample_);
  earliest(t, next_overhead_update_);
  if (audio_recv_ && video_recv_) earliest(t, next_sync_);
  if (audio_send_) earliest(t, audio_send_->next_capture_time(Timestamp::MinusInfinity()));
  if (video_send_) earliest(t, video_send_->next_capture_time(Timestamp::MinusInfinity()));
  earliest(t, pacer_.next_send_time());
  if (audio_recv_) earliest(t, audio_recv_->next_wakeup());
  if (video_recv_) earliest(t, video_recv_->next_wakeup());
  if (feedback_generator_) earliest(t, feedback_generator_->next_wakeup());
  if (remb_estimator_) earliest(t, remb_estimator_->next_wakeup());
  earliest(t, rtcp_.next_wakeup());
  return t;
}

void Endpoint::process(Timestamp now) {
  if (!started_) start(now);
  if (controller_ && next_controller_tick_ <= now) {
    apply(controller_->on_process_interval(now), now);
    next_controller_tick_ = std::max(next_controller_tick_ + kControllerInterval, now);
  }
  // Capture and encode, then hand everything to the pacer.
  scratch_.clear();
  if (audio_send_) audio_send_->process(now, scratch_);
  if (video_send_) {
    video_send_->set_pacer_backlog(pacer_backlogged(now));
    video_send_->process(now, scratch_);
  }
  for (OutgoingPacket& p : scratch_) enqueue(std::move(p), now);
  scratch_.clear();
  send_paced(now);

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
    send_rtcp(rtcp_.build_feedback(std::span<const rtcp::RtcpPacket>(&f, 1), now), now);
  }

  // Regular reports.
  std::vector<RtcpSession::Sender> senders;
  if (audio_send_) senders.push_back({config_.local.audio, audio_send_->rtp().sender_report_info(now, config_.ntp_clock)});
  if (video_send_) senders.push_back({config_.local.video, video_send_->rtp().sender_report_info(now, config_.ntp_clock)});
  if (auto report = rtcp_.maybe_build_report(now, senders, statistics_)) send_rtcp(std::move(*report), now);

  if (audio_recv_ && video_recv_ && next_sync_ <= now) {
    next_sync_ = std::max(next_sync_ + kSyncInterval, now);
    if (config_.av_sync) {
      sync_.update(audio_recv_->current_delay(now, config_.ntp_clock), video_recv_->last_delay());
      audio_recv_->set_sync_delay(sync_.audio_extra_delay());
      video_recv_->set_sync_delay(sync_.video_extra_delay());
    }
  }
  if (next_overhead_update_ <= now) {
    update_overhead(now);
    next_overhead_update_ = std::max(next_overhead_update_ + kOverheadInterval, now);
  }
  if (next_sample_ <= now) {
    sample(now);
    next_sample_ = std::max(next_sample_ + config_.network_sample_interval, now);
  }
}

void Endpoint::sample(Timestamp now) {
  const double seconds = config_.network_sample_interval.seconds_f();
  NetworkSample s;
  s.time = now;
  s.target_bitrate = target_;
  s.pacing_rate = pacing_rate_;
  s.send_rate = DataRate::BitsPerSec(static_cast<int64_t>(static_cast<double>(sample_bytes_sent_) * 8 / seconds));
  s.receive_rate = DataRate::BitsPerSec(static_cast<int64_t>(static_cast<double>(sample_bytes_received_) * 8 / seconds));
  s.rtt = rtt_.latest();
  s.loss_fraction = loss_fraction_;
  s.video_target = video_media_rate_;
  s.video_suspended = video_suspended_;
  sample_bytes_sent_ = 0;
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
    auto it = remote_inbound_.find(ssrc);
    if (it == remote_inbound_.end()) return std::string();
    const RemoteInbound& ri = it->second;
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
    const rtp::OutboundRtpCounters& c = rtp.counters();
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
  TransportStats t;
  t.id = transport_id;
  t.timestamp_ms = ts;
  t.packets_sent = transport_.packets_sent;
  t.packets_received = transport_.packets_received;
  t.bytes_sent = transport_.bytes_sent;
  t.bytes_received = transport_.bytes_received;
  t.rtcp_packets_sent = transport_.rtcp_packets_sent;
  t.rtcp_packets_received = transport_.rtcp_packets_received;
  t.selected_candidate_pair_id = "CP01";
  r.transports.push_back(t);
  CandidatePairStats cp;
  cp.id = "CP01";
  cp.timestamp_ms = ts;
  cp.transport_id = transport_id;
  cp.packets_sent = transport_.packets_sent;
  cp.packets_received = transport_.packets_received;
  cp.bytes_sent = transport_.bytes_sent;
  cp.bytes_received = transport_.bytes_received;
  if (auto rtt = rtt_.latest()) cp.current_round_trip_time = rtt->seconds_f();
  if (audio_send_ || video_send_) cp.available_outgoing_bitrate = target_.bps_f();
  if (remb_estimator_) {
    if (auto e = remb_estimator_->estimate()) cp.available_incoming_bitrate = e->bps_f();
  }
  r.candidate_pairs.push_back(cp);
  return r;
}

}  // namespace tern::pipeline
