#include "tern/pipeline/send_transport.h"

#include <algorithm>
#include <utility>

namespace tern::pipeline {
namespace {

constexpr size_t kMaxPaddingPackets = 16;  // per padding request
constexpr uint8_t kPaddingBytes = 255;
// Overhead is measured over the last second, refreshed every 250 ms.
constexpr TimeDelta kOverheadInterval = TimeDelta::Millis(250);
constexpr size_t kOverheadSnapshots = 5;
// The allocation never gives more than this share of the target to overhead.
constexpr double kMaxOverheadShare = 0.4;
// Retransmissions may take up to this share of the target (see set_target()).
constexpr double kMaxRetransmissionShare = 0.25;
// Bytes of RTP header with an endpoint's extensions (mid, transport-wide seq, abs-send-time), for
// the overhead estimate before there is a measurement.
constexpr int64_t kNominalRtpHeaderBytes = 12 + 4 + 2 + 3 + 4 + 3;
// The pacer's burst limit (congestion/pacer.h) applies below this target.
constexpr DataRate kMaxBurstLimitedTarget = DataRate::KilobitsPerSec(300);
// A frame is not encoded while the pacer needs longer than this to send what it holds.
constexpr TimeDelta kMaxPacerBacklog = TimeDelta::Millis(100);

}  // namespace

Result<std::unique_ptr<SendTransport>> SendTransport::Create(const Config& config, const rtp::ExtensionMap& extensions,
                                                             DatagramSink* sink, Listener* listener) {
  if (sink == nullptr) return Error{"send transport: no packet sink"};
  auto controller = congestion::CreateNetworkController(config.controller);
  if (!controller) return Error{controller.error()};
  std::unique_ptr<SendTransport> t(
      new SendTransport(config, extensions, sink, listener, std::move(controller).value()));
  if (Status s = t->allocator_.set_audio(config.audio); !s) return Error{s.error()};
  if (config.video) {
    if (Status s = t->allocator_.add_video_stream(*config.video); !s) return Error{s.error()};
  }
  return t;
}

SendTransport::SendTransport(const Config& config, const rtp::ExtensionMap& extensions, DatagramSink* sink,
                             Listener* listener, std::unique_ptr<congestion::NetworkController> controller)
    : config_(config),
      extensions_(extensions),
      sink_(sink),
      listener_(listener),
      controller_(std::move(controller)),
      feedback_adapter_(config.feedback) {}

Status SendTransport::add_stream(const RtpEgress::Config& config) {
  if (stream(config.ssrc) != nullptr) return Error{"send transport: SSRC registered twice"};
  auto egress = RtpEgress::Create(config);
  if (!egress) return Error{egress.error()};
  streams_.push_back(std::move(egress).value());
  return Status::Ok();
}

const RtpEgress* SendTransport::stream(uint32_t ssrc) const {
  for (const RtpEgress& e : streams_) {
    if (e.ssrc() == ssrc) return &e;
  }
  return nullptr;
}

RtpEgress* SendTransport::find_stream(uint32_t ssrc) {
  return const_cast<RtpEgress*>(std::as_const(*this).stream(ssrc));
}

const SendTransport::RemoteInbound* SendTransport::remote_inbound(uint32_t ssrc) const {
  auto it = remote_inbound_.find(ssrc);
  return it == remote_inbound_.end() ? nullptr : &it->second;
}

// ---------------------------------------------------------------------------------------------
// Congestion control

void SendTransport::start(Timestamp now) {
  if (controller_->process_interval()) next_controller_tick_ = now;
  next_overhead_update_ = now;
  apply(controller_->on_network_availability(true, now), now);
  apply(controller_->on_process_interval(now), now);
}

void SendTransport::update_controller(Timestamp now) {
  const std::optional<TimeDelta> interval = controller_->process_interval();
  if (!interval || next_controller_tick_ > now) return;
  apply(controller_->on_process_interval(now), now);
  next_controller_tick_ = std::max(next_controller_tick_ + *interval, now);
}

void SendTransport::apply(const congestion::NetworkControlUpdate& update, Timestamp now) {
  if (update.pacer_config) {
    pacing_rate_ = update.pacer_config->data_rate;
    pacer_.set_pacing_config(*update.pacer_config);
  }
  for (const congestion::ProbeClusterConfig& p : update.probe_cluster_configs) pacer_.create_probe_cluster(p);
  if (update.target_rate) set_target(update.target_rate->target_rate, now);
}

DataRate SendTransport::overhead_rate() const {
  // The allocation charges audio its codec rate x wire factor (RED's copies included); what audio
  // really sent differs (Opus DTX in pauses sends almost nothing, a codec may overshoot): the
  // difference is added to the headers, so audio's unused share goes to video (negative overhead)
  // instead of leaving the sender application-limited, where one noisy delay sample cuts the
  // estimate to 0.85 x a throughput far under the link. Speech resuming takes it back within the
  // measurement second; meanwhile the pacer's burst limit holds video behind audio.
  // FEC the same way: its rate follows the loss (kMinFecRate up to half the media) and, per frame,
  // rounds up to whole packets, so at a few hundred kbps with one or two packets per frame it is
  // far above the allocator's fixed reserve (500 kbps: 27% over the target before this).
  if (measured_headers_) {
    return *measured_headers_ + *measured_audio_ - audio_allocation_ + *measured_fec_ - fec_allocation_;
  }
  // Nominal until measured: 50 audio packets/s, and for video one packet per frame plus one per
  // full packet of media at the current video rate.
  const OverheadModel& m = config_.overhead;
  const int64_t per_packet = kNominalRtpHeaderBytes + kTransportOverheadBytes;
  double packets_per_second = 0;
  if (m.audio_frame) packets_per_second += 1.0 / m.audio_frame->seconds_f();
  if (m.video_fps) {
    const double payload_bits = static_cast<double>(m.max_packet_size - static_cast<size_t>(per_packet)) * 8.0;
    packets_per_second += *m.video_fps + target_.bps_f() / payload_bits;
  }
  return DataRate::BitsPerSec(static_cast<int64_t>(packets_per_second * static_cast<double>(per_packet) * 8.0));
}

void SendTransport::update_overhead(Timestamp now) {
  if (next_overhead_update_ > now) return;
  next_overhead_update_ = std::max(next_overhead_update_ + kOverheadInterval, now);
  overhead_snapshots_.push_back(OverheadSnapshot{now, budget_.headers + rtcp_bytes_, budget_.audio, budget_.fec});
  while (overhead_snapshots_.size() > kOverheadSnapshots) overhead_snapshots_.pop_front();
  if (overhead_snapshots_.size() < kOverheadSnapshots) return;  // under a second of history
  const OverheadSnapshot& first = overhead_snapshots_.front();
  const TimeDelta span = now - first.time;
  if (span <= TimeDelta::Zero()) return;
  measured_headers_ = (budget_.headers + rtcp_bytes_ - first.headers) / span;
  measured_audio_ = (budget_.audio - first.audio) / span;
  measured_fec_ = (budget_.fec - first.fec) / span;
  set_target(target_, now);
}

bool SendTransport::backlogged(Timestamp now) const {
  if (pacer_.queue_packets() == 0) return false;
  const DataRate rate = pacer_.current_pacing_rate(now);
  return pacer_.queue_size() / rate > kMaxPacerBacklog || pacer_.oldest_queue_time(now) > kMaxPacerBacklog;
}

void SendTransport::set_target(DataRate target, Timestamp now) {
  target_ = target;
  // The burst limit: an estimating controller's target is what the path drains; a fixed rate is a
  // budget, not a path estimate (its bursts stay at the pacing rate). Only at low targets, where a
  // frame lasts long on the link: above kMaxBurstLimitedTarget it raised the loss of the
  // cc-policer preset (1 Mbps, 10 ms queue) from 1.4% to 6% (cause not yet understood); at 500 kbps
  // it cost cc-rfc8867's 600 kbps phase 4% utilisation and the 20%-loss preset oscillated.
  const bool estimated = config_.controller.mode != congestion::NetworkControllerMode::kFixed;
  pacer_.set_link_rate(estimated && target < kMaxBurstLimitedTarget ? target : DataRate::PlusInfinity());
  // Media + overhead <= target: the encoders share what the headers and redundancy leave.
  // A negative overhead is what audio and FEC left of their shares: the active video streams may
  // have it on top.
  const DataRate measured = overhead_rate();
  const DataRate overhead = std::clamp(measured, DataRate::Zero(), target * kMaxOverheadShare);
  const DataRate spare = std::clamp(DataRate::Zero() - measured, DataRate::Zero(), audio_allocation_ + fec_allocation_);
  const congestion::BitrateAllocation a = allocator_.allocate(target - overhead, spare);
  audio_allocation_ = a.audio_wire;
  fec_allocation_ = DataRate::Zero();
  for (const congestion::VideoAllocation& v : a.video) fec_allocation_ += v.fec;
  Allocation out;
  out.target = target;
  out.audio = a.audio;
  out.audio_redundancy = a.audio_redundancy;
  if (!a.video.empty()) {
    out.video = a.video.front();
    video_media_rate_ = a.video.front().media;
    video_suspended_ = a.video.front().suspended;
    // Retransmissions may use up to a quarter of the target (over the history's 500 ms budget
    // window) beyond the allocator's small reserve: a loss burst needs its repair at once, and a
    // budget cut to the average loss rate starved retries for hundreds of milliseconds (4% loss in
    // bursts of 3 at 3 Mbps froze the video for 0.3-1.7 s per 20 s until the decoder asked for a
    // keyframe). Not more: under congestion retransmissions only lengthen the queue they repair;
    // libwebrtc allows the whole target over 1 s.
    if (RtpEgress* video = find_stream(a.video.front().id)) {
      video->set_retransmission_rate(max(a.rtx, target * kMaxRetransmissionShare), now);
    }
  }
  if (listener_ != nullptr) listener_->on_allocation(out, now);
}

// ---------------------------------------------------------------------------------------------
// Sending

void SendTransport::enqueue(OutgoingPacket packet, Timestamp now) {
  if (!config_.paced) {
    send_rtp(packet, unpaced_probe_cluster_, now);
    return;
  }
  congestion::PacedPacket p;
  p.size = DataSize::Bytes(static_cast<int64_t>(packet.packet.size()));
  p.priority = packet.priority;
  p.payload = std::move(packet);
  // A dropped packet (the new one or an evicted one) is gone with its payload: counted.
  if (pacer_.enqueue(std::move(p), now)) ++counters_.pacer_drops;
}

std::optional<size_t> SendTransport::retransmit(uint32_t media_ssrc, std::span<const uint16_t> seqs, TimeDelta rtt,
                                                Timestamp now) {
  RtpEgress* egress = find_stream(media_ssrc);
  if (egress == nullptr || egress->history() == nullptr) return std::nullopt;
  std::vector<rtp::RtpPacket> rtx = egress->on_nack(seqs, now, rtt);
  for (rtp::RtpPacket& p : rtx) {
    OutgoingPacket o;
    o.packet = std::move(p);
    o.capture_time = now;
    o.media_ssrc = media_ssrc;
    o.retransmission = true;
    o.priority = congestion::PacketPriority::kRetransmission;
    enqueue(std::move(o), now);
  }
  return rtx.size();
}

void SendTransport::send_packets(Timestamp now) {
  const std::optional<Timestamp> due = pacer_.next_send_time();
  if (!due || *due > now) return;
  congestion::PacerOutput out = pacer_.process(now);
  for (congestion::PacedPacket& p : out.packets) {
    auto* packet = std::any_cast<OutgoingPacket>(&p.payload);
    if (packet == nullptr) continue;  // only enqueue() fills the pacer, always with a packet
    const TimeDelta waited = max(now - p.enqueue_time, TimeDelta::Zero());
    budget_.total_queue_delay += waited;
    budget_.max_queue_delay = max(budget_.max_queue_delay, waited);
    send_rtp(*packet, p.probe_cluster_id, now);
  }
  for (const congestion::PaddingRequest& r : out.padding) send_padding(r.size, r.probe_cluster_id, now);
}

void SendTransport::send_rtp(OutgoingPacket& o, int probe_cluster_id, Timestamp now) {
  const DataSize size = DataSize::Bytes(static_cast<int64_t>(o.packet.size()));
  const congestion::TransportFeedbackAdapter::Stamped stamped = feedback_adapter_.on_sent_packet(
      now, size, probe_cluster_id, o.audio,
      congestion::TransportFeedbackAdapter::RtpId{o.packet.ssrc(), o.packet.sequence_number()});
  // Both slots were reserved when the packet was built (RtpSender) or came with it (a forwarded
  // packet); a packet without them goes out unstamped, as a peer without the extensions expects,
  // so set<>() returning false (no slot) is the intended outcome there, not an error.
  (void)o.packet.set<rtp::TransportSequenceNumber>(extensions_, stamped.transport_seq);
  (void)o.packet.set<rtp::AbsSendTime>(extensions_, rtp::AbsSendTime::from_time(now));
  apply(controller_->on_sent_packet(stamped.info), now);
  if (RtpEgress* egress = o.media_ssrc != 0 ? find_stream(o.media_ssrc) : nullptr) {
    egress->on_sent(o.packet, o.capture_time, now, o.retransmission, o.stored);
  } else {
    ++counters_.unknown_ssrc_sent;
  }
  count_budget(o);
  send_datagram(std::move(o.packet).release_bytes(), now);  // the history kept its own copy or reference
}

void SendTransport::count_budget(const OutgoingPacket& o) {
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

void SendTransport::send_padding(DataSize size, int probe_cluster_id, Timestamp now) {
  if (padding_sender_ == nullptr || !padding_sender_->rtx_ssrc()) return;
  RtpEgress* egress = find_stream(padding_sender_->ssrc());
  if (egress == nullptr) return;
  DataSize left = size;
  const auto rtp_timestamp =
      static_cast<uint32_t>(now.us() * static_cast<int64_t>(padding_sender_->clock_rate()) / 1'000'000);
  for (size_t i = 0; i < kMaxPaddingPackets && left > DataSize::Zero(); ++i) {
    const std::optional<uint16_t> seq = egress->take_rtx_sequence_number();
    if (!seq) return;  // no history: the egress has no RTX
    auto p = padding_sender_->build_padding(kPaddingBytes, rtp_timestamp, *seq);
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

DataSize SendTransport::send_probe_padding(DataSize size, int probe_cluster_id, Timestamp now) {
  const DataSize before = budget_.padding;
  const int64_t packets_before = budget_.packets;
  send_padding(size, probe_cluster_id, now);
  // The budget counts IP/UDP too; the caller compares with datagram bytes (counters_.bytes_sent).
  return budget_.padding - before - DataSize::Bytes(kTransportOverheadBytes * (budget_.packets - packets_before));
}

void SendTransport::send_rtcp(std::vector<uint8_t> bytes, Timestamp now) {
  if (bytes.empty()) return;
  ++counters_.rtcp_packets_sent;
  rtcp_bytes_ += DataSize::Bytes(static_cast<int64_t>(bytes.size()) + kTransportOverheadBytes);
  send_datagram(std::move(bytes), now);
}

void SendTransport::send_datagram(std::vector<uint8_t> bytes, Timestamp now) {
  ++counters_.packets_sent;
  counters_.bytes_sent += bytes.size();
  sink_->on_datagram(std::move(bytes), now);
}

std::optional<Timestamp> SendTransport::next_wakeup() const {
  std::optional<Timestamp> t;
  for (const std::optional<Timestamp> o :
       {std::optional<Timestamp>(next_controller_tick_), std::optional<Timestamp>(next_overhead_update_),
        pacer_.next_send_time()}) {
    if (o && o->is_finite() && (!t || *o < *t)) t = o;
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// Feedback

void SendTransport::on_transport_feedback(const rtcp::TransportFeedback& feedback, Timestamp now) {
  // The adapter always sees the report (its history stays in step); the controller decides
  // whether transport feedback drives its rate (NetworkControllerMode).
  if (auto f = feedback_adapter_.on_transport_feedback(feedback, now)) {
    count_feedback(*f, now);
    apply(controller_->on_transport_feedback(*f), now);
  }
}

void SendTransport::on_congestion_control_feedback(const rtcp::CongestionControlFeedback& feedback, Timestamp now) {
  if (auto f = feedback_adapter_.on_congestion_control_feedback(feedback, now)) {
    count_feedback(*f, now);
    apply(controller_->on_transport_feedback(*f), now);
  }
}

void SendTransport::count_feedback(const congestion::TransportPacketsFeedback& f, Timestamp now) {
  std::optional<TimeDelta> report_min;
  for (const congestion::PacketResult& p : f.packets) {
    // A packet given up by an earlier report and now received was overtaken, not lost.
    if (p.late) {
      burst_meter_.on_late_arrival(p.sent.sequence_number);
    } else {
      burst_meter_.on_packet(!p.is_received(), p.sent.sequence_number);
    }
    ++counters_.feedback_packets;
    if (!p.is_received()) {
      ++counters_.feedback_lost;
      continue;
    }
    const TimeDelta round_trip = now - p.sent.send_time;
    if (round_trip >= TimeDelta::Zero() && (!feedback_rtt_ || round_trip < *feedback_rtt_)) feedback_rtt_ = round_trip;
    // One-way delay plus the clock offset between the two sides: only differences mean anything.
    const TimeDelta d = p.receive_time - p.sent.send_time;
    if (!report_min || d < *report_min) report_min = d;
  }
  if (!report_min) return;
  if (!min_one_way_ || *report_min < *min_one_way_) min_one_way_ = report_min;
  standing_queue_delay_ = *report_min - *min_one_way_;
}

void SendTransport::on_remb(DataRate bitrate, Timestamp now) {
  apply(controller_->on_remote_bitrate_report(bitrate, now), now);
}

bool SendTransport::on_report_block(const rtcp::ReportBlock& block, std::optional<TimeDelta> rtt,
                                    int64_t packets_expected, Timestamp now) {
  RemoteInbound& r = remote_inbound_[block.source_ssrc];
  r.block = block;
  if (rtt) {
    r.rtt = rtt;
    r.rtts.on_rtt(*rtt);
    apply(controller_->on_rtt(*rtt, now), now);
  }
  if (block.source_ssrc != config_.loss_ssrc) return false;
  loss_fraction_ = block.fraction_lost / 256.0;
  if (packets_expected > 0) {
    apply(controller_->on_loss_report(
              congestion::LossReport::FromFractionLost(block.fraction_lost, packets_expected, now)),
          now);
  }
  return true;
}

}  // namespace tern::pipeline
