// SendTransport: the send half of one transport (the role of libwebrtc's RtpTransportControllerSend).
// Every RTP packet a side sends goes one way through it:
//
//   send streams --enqueue()--> Pacer (the only queue) --due--> stamp transport-wide seq +
//   abs-send-time -> controller.on_sent_packet -> RtpEgress (SR counters, RTX history) -> budget
//   -> DatagramSink
//
// and feedback comes back into it: transport-cc (TransportFeedbackAdapter -> controller), REMB,
// report blocks (RTT, loss) -> NetworkController -> target -> BitrateAllocator -> the Listener
// (encoders), the video stream's RTX budget and the pacer's rate and probes. NACKs are answered
// from the RtpEgress history by retransmit(). RTCP goes out through send_rtcp() so the transport
// counts every datagram.
//
// Sans-I/O. An endpoint calls, in this order, within one process(now): update_controller(now)
// (the controller's tick, before the encoders run), the streams' enqueue(), send_packets(now)
// (what the pacer releases), and after its RTCP, update_overhead(now). With Config::paced false
// (a media server's hop) enqueue() sends at once and only the stamping, egress and feedback parts
// are used.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "tern/congestion/bitrate_allocator.h"
#include "tern/congestion/network_controller.h"
#include "tern/congestion/pacer.h"
#include "tern/congestion/transport_feedback_adapter.h"
#include "tern/recovery/loss_burst_meter.h"
#include "tern/core/datagram_sink.h"
#include "tern/core/result.h"
#include "tern/pipeline/listeners.h"
#include "tern/pipeline/outgoing_packet.h"
#include "tern/pipeline/rtp_egress.h"
#include "tern/pipeline/rtp_sender.h"
#include "tern/rtp/header_extensions.h"
#include "tern/rtp/rtcp/report_block.h"
#include "tern/rtp/rtcp/transport_feedback.h"
#include "tern/rtp/rtt_estimator.h"

namespace tern::pipeline {

class SendTransport {
 public:
  // IPv4 (20) + UDP (8) bytes counted on every datagram in budgets and rate allocation.
  static constexpr int64_t kTransportOverheadBytes = 28;

  // Send-side budget, cumulative since the start: the bytes of every RTP packet that left the
  // pacer split by purpose (payloads per class, and the per-packet overhead: RTP header with
  // extensions plus kTransportOverheadBytes of IPv4/UDP), and how long packets waited in the pacer.
  struct Budget {
    DataSize audio = DataSize::Zero();           // audio payload (Opus, RED included)
    DataSize video = DataSize::Zero();           // video payload (descriptor and RED header included)
    DataSize fec = DataSize::Zero();             // ULPFEC or FlexFEC payload
    DataSize retransmission = DataSize::Zero();  // RTX payload
    DataSize padding = DataSize::Zero();         // padding-only packets, whole
    DataSize headers = DataSize::Zero();         // RTP + IP/UDP headers of everything above but padding
    int64_t packets = 0;
    TimeDelta total_queue_delay = TimeDelta::Zero();  // sum over packets of (sent - enqueued)
    TimeDelta max_queue_delay = TimeDelta::Zero();
    DataSize total() const { return audio + video + fec + retransmission + padding + headers; }
  };
  // Datagrams that went to the sink (RTP and RTCP), and packets the full pacer queue dropped.
  struct Counters {
    uint64_t packets_sent = 0, bytes_sent = 0, rtcp_packets_sent = 0, pacer_drops = 0;
    uint64_t unknown_ssrc_sent = 0;  // RTP counted on no registered egress (padding included)
    // Packets transport feedback (or RFC 8888) reported on, and of those, reported lost.
    uint64_t feedback_packets = 0, feedback_lost = 0;
  };
  // What the remote side's report blocks say about one of our SSRCs.
  struct RemoteInbound {
    rtcp::ReportBlock block;
    std::optional<TimeDelta> rtt;
    rtp::RttEstimator rtts;
  };
  // A new target and how it was split; the assembly hands the media rates to its encoders.
  struct Allocation {
    DataRate target = DataRate::Zero();
    DataRate audio = DataRate::Zero();
    bool audio_redundancy = false;  // audio RED's copies fit the budget (see BitrateAllocator)
    std::optional<congestion::VideoAllocation> video;  // the first video stream, if any
  };
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void on_allocation(const Allocation& allocation, Timestamp now) = 0;
  };
  // What the nominal overhead estimate (before one is measured) assumes about the streams.
  struct OverheadModel {
    std::optional<TimeDelta> audio_frame;  // set: one audio packet per this
    std::optional<double> video_fps;       // set: a video stream at this frame rate
    size_t max_packet_size = 1200;
  };
  struct Config {
    congestion::NetworkControllerConfig controller;
    bool paced = true;  // false: enqueue() sends at once (no queue, no pacing, no allocation)
    std::optional<congestion::AudioAllocationConfig> audio;
    std::optional<congestion::VideoStreamConfig> video;  // its id is the video egress SSRC
    // Report blocks about this SSRC carry the loss figures fed to the controller.
    uint32_t loss_ssrc = 0;
    OverheadModel overhead;
    // The transport-wide send history's bounds (an endpoint keeps the defaults; a forwarder's hop
    // keeps a few seconds: its feedback comes back within an RTT).
    congestion::TransportFeedbackAdapter::Config feedback;
  };

  // Validates `config`; `sink` (not owned) receives every datagram; `listener` (not owned, may be
  // null) every allocation. `extensions` locates the transport-wide seq and abs-send-time slots.
  static Result<std::unique_ptr<SendTransport>> Create(const Config& config, const rtp::ExtensionMap& extensions,
                                                       DatagramSink* sink, Listener* listener);

  // Registers the egress of one outgoing SSRC (rejects a duplicate or what RtpEgress rejects).
  Status add_stream(const RtpEgress::Config& config);
  // Padding for probes is built by this sender (its RTX SSRC); not owned, null: no padding.
  void set_padding_sender(RtpSender* sender) { padding_sender_ = sender; }

  // Starts the congestion loop: the controller's first target, the timers.
  void start(Timestamp now);
  // The controller's periodic tick, when due.
  void update_controller(Timestamp now);
  // A packet from a send stream: queued in the pacer (or, unpaced, sent at once).
  void enqueue(OutgoingPacket packet, Timestamp now);
  // RTX for a NACK about `media_ssrc`, from its egress history, queued at retransmission priority.
  // Returns how many packets were queued; nullopt when the SSRC has no history.
  std::optional<size_t> retransmit(uint32_t media_ssrc, std::span<const uint16_t> seqs, TimeDelta rtt, Timestamp now);
  // A probe cluster the caller paces itself (unpaced transports: a forwarder's prober), registered
  // with the controller's probe estimator, and `size` bytes of its padding sent now (padding-only
  // packets on the padding sender's RTX SSRC, at least one, each up to 255 padding bytes; nothing
  // without a padding sender). Returns the bytes sent (RTP datagrams, IP/UDP not counted).
  void register_probe_cluster(const congestion::ProbeClusterConfig& cluster) {
    controller_->on_external_probe_cluster(cluster);
  }
  DataSize send_probe_padding(DataSize size, int probe_cluster_id, Timestamp now);
  // Unpaced: packets enqueue() sends from now on belong to this probe cluster (kNotAProbe: none),
  // as a pacer sends media inside a cluster.
  void set_probe_cluster(int probe_cluster_id) { unpaced_probe_cluster_ = probe_cluster_id; }
  // Sends what the pacer releases by `now` (packets and padding).
  void send_packets(Timestamp now);
  // Refreshes the measured overhead (and with it the allocation), when due.
  void update_overhead(Timestamp now);
  // An RTCP compound packet (empty: nothing is sent).
  void send_rtcp(std::vector<uint8_t> bytes, Timestamp now);
  // The earliest of the controller tick, the overhead refresh and the pacer.
  std::optional<Timestamp> next_wakeup() const;

  // Feedback from the remote side.
  void on_transport_feedback(const rtcp::TransportFeedback& feedback, Timestamp now);
  // RFC 8888: matched by (SSRC, RTP sequence number) against the same send history.
  void on_congestion_control_feedback(const rtcp::CongestionControlFeedback& feedback, Timestamp now);
  void on_remb(DataRate bitrate, Timestamp now);
  // A report block about one of our SSRCs; returns true when it carried the loss figures
  // (Config::loss_ssrc), which loss_fraction() then holds.
  bool on_report_block(const rtcp::ReportBlock& block, std::optional<TimeDelta> rtt, int64_t packets_expected,
                       Timestamp now);

  // True when the pacer needs longer than the backlog limit to send what it holds.
  bool backlogged(Timestamp now) const;
  DataRate target() const { return target_; }
  DataRate pacing_rate() const { return pacing_rate_; }
  DataRate video_media_rate() const { return video_media_rate_; }
  bool video_suspended() const { return video_suspended_; }
  double loss_fraction() const { return loss_fraction_; }
  // Losses come in runs (recovery::LossBurstMeter over the packets transport feedback reported;
  // false without transport feedback).
  bool loss_bursty() const { return burst_meter_.bursty(); }
  // The video stream's FEC share of its media rate as the protection policy set it (the next
  // allocation reserves it).
  void set_video_fec_overhead(double fec_overhead) {
    if (config_.video) allocator_.set_fec_overhead(config_.video->id, fec_overhead);
  }
  // The path's loss before repairs over the last LossBurstMeter window (1000 packets) of transport
  // feedback; nullopt before kMinFeedbackLossPackets outcomes (or without transport feedback).
  std::optional<double> feedback_loss_fraction() const {
    if (burst_meter_.packets() < kMinFeedbackLossPackets) return std::nullopt;
    return burst_meter_.loss_fraction();
  }
  static constexpr size_t kMinFeedbackLossPackets = 200;
  // The queue the path holds for good: the least delay of any packet in the latest feedback report,
  // over the least ever reported (transport feedback's receive times; the two clocks' offset
  // cancels). Bursts do not raise it, a saturated bottleneck does. Nullopt before feedback.
  std::optional<TimeDelta> standing_queue_delay() const { return standing_queue_delay_; }
  // The least round trip transport feedback has shown: a report's arrival less the send time of a
  // packet it says was received (the receiver's feedback batching included, so at most a feedback
  // interval above the path's RTT). Known within one RTT and a feedback interval of the first
  // packet, long before a report block's RTT (which needs an SR and the RR answering it: 1-2 s).
  std::optional<TimeDelta> feedback_rtt() const { return feedback_rtt_; }
  const Budget& budget() const { return budget_; }
  const Counters& counters() const { return counters_; }
  const congestion::Pacer& pacer() const { return pacer_; }
  const congestion::NetworkController& controller() const { return *controller_; }
  const RtpEgress* stream(uint32_t ssrc) const;
  const RemoteInbound* remote_inbound(uint32_t ssrc) const;

 private:
  SendTransport(const Config& config, const rtp::ExtensionMap& extensions, DatagramSink* sink, Listener* listener,
                std::unique_ptr<congestion::NetworkController> controller);
  RtpEgress* find_stream(uint32_t ssrc);
  void apply(const congestion::NetworkControlUpdate& update, Timestamp now);
  void set_target(DataRate target, Timestamp now);
  // Overhead the allocation must leave room for: RTP/IP/UDP headers, RTCP, and audio sent beyond
  // its allocation (measured over ~1 s; nominal headers before that).
  DataRate overhead_rate() const;
  // Sends and consumes the packet's bytes (they become the datagram).
  void send_rtp(OutgoingPacket& packet, int probe_cluster_id, Timestamp now);
  void count_budget(const OutgoingPacket& packet);
  void send_padding(DataSize size, int probe_cluster_id, Timestamp now);
  void send_datagram(std::vector<uint8_t> bytes, Timestamp now);
  void count_feedback(const congestion::TransportPacketsFeedback& f, Timestamp now);

  Config config_;
  rtp::ExtensionMap extensions_;
  DatagramSink* sink_;
  Listener* listener_;
  std::unique_ptr<congestion::NetworkController> controller_;
  congestion::Pacer pacer_;
  congestion::BitrateAllocator allocator_;
  congestion::TransportFeedbackAdapter feedback_adapter_;
  std::vector<RtpEgress> streams_;  // a handful: searched linearly
  RtpSender* padding_sender_ = nullptr;
  int unpaced_probe_cluster_ = congestion::kNotAProbe;
  std::optional<TimeDelta> min_one_way_;  // smallest (receive - send) feedback ever reported
  std::optional<TimeDelta> standing_queue_delay_;
  std::optional<TimeDelta> feedback_rtt_;
  std::map<uint32_t, RemoteInbound> remote_inbound_;  // keyed by our SSRCs only

  Timestamp next_controller_tick_ = Timestamp::PlusInfinity();
  Timestamp next_overhead_update_ = Timestamp::PlusInfinity();
  DataRate target_ = DataRate::Zero();
  DataRate pacing_rate_ = DataRate::Zero();
  DataRate video_media_rate_ = DataRate::Zero();
  bool video_suspended_ = false;
  double loss_fraction_ = 0;
  recovery::LossBurstMeter burst_meter_;
  Budget budget_;
  Counters counters_;
  // Header bytes of every RTP packet but padding, audio payload and FEC payload bytes, at the last
  // few update_overhead() calls, oldest first: over ~1 s, the header rate plus what audio and FEC
  // sent beyond their allocations (codec rate x wire factor; the allocator's FEC reserve) is what
  // the media encoders cannot have.
  struct OverheadSnapshot {
    Timestamp time = Timestamp::MinusInfinity();
    DataSize headers = DataSize::Zero();
    DataSize audio = DataSize::Zero();
    DataSize fec = DataSize::Zero();
  };
  std::deque<OverheadSnapshot> overhead_snapshots_;  // at most kOverheadSnapshots
  std::optional<DataRate> measured_headers_;
  std::optional<DataRate> measured_audio_;
  std::optional<DataRate> measured_fec_;
  DataSize rtcp_bytes_ = DataSize::Zero();  // RTCP sent, IP/UDP included (overhead like headers)
  DataRate audio_allocation_ = DataRate::Zero();
  DataRate fec_allocation_ = DataRate::Zero();  // the allocator's FEC reserve for the video stream
};

}  // namespace tern::pipeline
