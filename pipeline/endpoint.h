// Endpoint: one side of a call, assembled from the stages (sans-I/O).
//
//   send:    AudioSendStream / VideoSendStream (capture -> encoder -> packetizer -> RtpSender,
//            FEC) -> Pacer -> stamp transport-wide seq + abs-send-time -> PacketSink
//   receive: on_packet() -> RFC 5761 demux -> RTCP: RtcpSession -> listener (this)
//                                          -> RTP: transport-cc / REMB estimators, then by SSRC to
//                                             AudioReceiveStream / VideoReceiveStream
//   control: RtcpSession (SR/RR/SDES, NACK, PLI/FIR, REMB, transport-cc) -> GoogCcNetworkController
//            -> BitrateAllocator -> encoders, RTX budget, pacer; AvSync between the receive streams.
//
// Drive it with next_wakeup()/process(now) and on_packet(); NetsimEndpoint (netsim_adapter.h)
// does that on a netsim::EventLoop. Media sources are pulled at their cadence inside process().
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "tern/congestion/bitrate_allocator.h"
#include "tern/congestion/goog_cc_network_controller.h"
#include "tern/congestion/pacer.h"
#include "tern/congestion/remote_bitrate_estimator_abs_send_time.h"
#include "tern/congestion/transport_feedback_adapter.h"
#include "tern/congestion/transport_feedback_generator.h"
#include "tern/core/result.h"
#include "tern/pipeline/audio_receive_stream.h"
#include "tern/pipeline/audio_send_stream.h"
#include "tern/pipeline/av_sync.h"
#include "tern/pipeline/listeners.h"
#include "tern/pipeline/pipeline_config.h"
#include "tern/pipeline/rtcp_session.h"
#include "tern/pipeline/stats.h"
#include "tern/pipeline/video_receive_stream.h"
#include "tern/pipeline/video_send_stream.h"
#include "tern/rtp/receive_statistics.h"
#include "tern/rtp/rtt_estimator.h"

namespace tern::pipeline {

class Endpoint : private RtcpSession::Listener {
 public:
  // Transport-level counters (RTP + RTCP datagrams).
  struct TransportCounters {
    uint64_t packets_sent = 0, bytes_sent = 0, packets_received = 0, bytes_received = 0;
    uint64_t rtcp_packets_sent = 0, rtcp_packets_received = 0;
    uint64_t unknown_ssrc_packets = 0, malformed_packets = 0, pacer_drops = 0;
  };
  // Send-side budget, cumulative since the start: the bytes of every RTP packet that left the
  // pacer split by purpose (payloads per class, and the per-packet overhead: RTP header with
  // extensions plus kTransportOverheadBytes of IPv4/UDP), and how long packets waited in the pacer.
  struct SendBudget {
    DataSize audio = DataSize::Zero();           // audio payload (Opus, RED included)
    DataSize video = DataSize::Zero();           // video payload (descriptor and RED header included)
    DataSize fec = DataSize::Zero();             // ULPFEC payload
    DataSize retransmission = DataSize::Zero();  // RTX payload
    DataSize padding = DataSize::Zero();         // padding-only packets, whole
    DataSize headers = DataSize::Zero();         // RTP + IP/UDP headers of everything above but padding
    int64_t packets = 0;
    TimeDelta total_queue_delay = TimeDelta::Zero();  // sum over packets of (sent - enqueued)
    TimeDelta max_queue_delay = TimeDelta::Zero();
    DataSize total() const { return audio + video + fec + retransmission + padding + headers; }
  };
  // IPv4 (20) + UDP (8) bytes counted on every datagram in budgets and rate allocation.
  static constexpr int64_t kTransportOverheadBytes = 28;

  // Validates `config`; `sink` (not owned, must outlive the endpoint) receives every datagram.
  static Result<std::unique_ptr<Endpoint>> Create(const EndpointConfig& config, PacketSink* sink);
  ~Endpoint() override;

  // One received datagram (RTP or RTCP, RFC 5761 multiplexed) at `now`.
  void on_packet(std::span<const uint8_t> datagram, Timestamp now);
  // Earliest time process() has work (media capture, pacer, timers, playout).
  std::optional<Timestamp> next_wakeup() const;
  // Does all work due at or before `now`.
  void process(Timestamp now);

  // A webrtc-stats shaped snapshot.
  StatsReport stats(Timestamp now) const;

  void set_video_render_listener(VideoRenderListener* l);
  void set_audio_playout_listener(AudioPlayoutListener* l);
  void set_video_capture_listener(VideoCaptureListener* l);
  // Media to send instead of the synthetic camera / microphone (not owned, must outlive the
  // endpoint or be reset; nullptr: synthetic). A video source must deliver
  // EndpointConfig::send.width x height pictures; an audio source 48 kHz mono or stereo.
  void set_video_source(media::VideoSource* source);
  void set_audio_source(media::AudioSource* source);
  // Source pictures for the quality measurement of received video (nullptr: regenerate them);
  // not owned, must outlive the endpoint or be reset.
  void set_reference_frame_provider(ReferenceFrameProvider* p);
  void set_network_sample_listener(NetworkSampleListener* l) { sample_listener_ = l; }

  DataRate target_rate() const { return target_; }
  std::optional<TimeDelta> rtt() const { return rtt_.latest(); }
  std::optional<TimeDelta> sync_offset() const { return sync_.sync_offset(); }
  const TransportCounters& transport_counters() const { return transport_; }
  const SendBudget& send_budget() const { return budget_; }
  // How long the oldest packet now in the pacer queue has waited (zero when empty).
  TimeDelta pacer_queue_delay(Timestamp now) const { return pacer_.oldest_queue_time(now); }
  const EndpointConfig& config() const { return config_; }
  // The stages, for tests and tools (null when the configuration has no such stream).
  const VideoSendStream* video_send_stream() const { return video_send_.get(); }
  const AudioSendStream* audio_send_stream() const { return audio_send_.get(); }
  const VideoReceiveStream* video_receive_stream() const { return video_recv_.get(); }
  const AudioReceiveStream* audio_receive_stream() const { return audio_recv_.get(); }

 private:
  struct RemoteInbound {  // what the peer's report blocks say about one of our SSRCs
    rtcp::ReportBlock block;
    std::optional<TimeDelta> rtt;
    rtp::RttEstimator rtts;
  };
  Endpoint(const EndpointConfig& config, PacketSink* sink, rtp::ExtensionMap extensions,
           rtp::ReceiveStatistics statistics, RtcpSession rtcp);
  Status init();

  // RtcpSession::Listener
  void on_nack(uint32_t media_ssrc, std::span<const uint16_t> seqs, Timestamp now) override;
  void on_keyframe_request(uint32_t media_ssrc, bool fir, Timestamp now) override;
  void on_remb(DataRate bitrate, Timestamp now) override;
  void on_transport_feedback(const rtcp::TransportFeedback& feedback, Timestamp now) override;
  void on_report_block(const rtcp::ReportBlock& block, std::optional<TimeDelta> rtt, int64_t packets_expected,
                       Timestamp now) override;
  void on_sender_report(const rtcp::SenderReport& report, Timestamp now) override;
  void on_receiver_rtt(TimeDelta rtt, Timestamp now) override;

  void start(Timestamp now);
  void apply(const congestion::NetworkControlUpdate& update, Timestamp now);
  void set_target(DataRate target, Timestamp now);
  // Per-packet overhead (RTP/IP/UDP headers, audio redundancy) the allocation must leave room for.
  DataRate overhead_rate() const;
  void update_overhead(Timestamp now);
  bool pacer_backlogged(Timestamp now) const;
  void enqueue(OutgoingPacket packet, Timestamp now);
  void send_paced(Timestamp now);
  void send_rtp(OutgoingPacket& packet, int probe_cluster_id, Timestamp now);
  void count_budget(const OutgoingPacket& packet);
  void send_padding(DataSize size, int probe_cluster_id, Timestamp now);
  void send_rtcp(std::vector<uint8_t> bytes, Timestamp now);
  void send_datagram(std::vector<uint8_t> bytes, Timestamp now);
  std::vector<uint32_t> own_ssrcs() const;
  void sample(Timestamp now);

  EndpointConfig config_;
  PacketSink* sink_;
  rtp::ExtensionMap extensions_;
  rtp::ReceiveStatistics statistics_;
  RtcpSession rtcp_;
  std::unique_ptr<AudioSendStream> audio_send_;
  std::unique_ptr<VideoSendStream> video_send_;
  std::unique_ptr<AudioReceiveStream> audio_recv_;
  std::unique_ptr<VideoReceiveStream> video_recv_;

  std::optional<congestion::GoogCcNetworkController> controller_;
  congestion::Pacer pacer_;
  congestion::BitrateAllocator allocator_;
  congestion::TransportFeedbackAdapter feedback_adapter_;
  std::optional<congestion::TransportFeedbackGenerator> feedback_generator_;
  std::optional<congestion::RemoteBitrateEstimatorAbsSendTime> remb_estimator_;
  std::optional<DataRate> remote_remb_;

  // Packets waiting in the pacer, by pacer id (bounded by the pacer's own queue limits).
  std::map<uint64_t, OutgoingPacket> paced_;
  uint64_t next_packet_id_ = 1;
  std::vector<OutgoingPacket> scratch_;

  bool started_ = false;
  Timestamp next_controller_tick_ = Timestamp::PlusInfinity();
  Timestamp next_sample_ = Timestamp::PlusInfinity();
  Timestamp next_sync_ = Timestamp::PlusInfinity();
  DataRate target_ = DataRate::Zero();
  DataRate pacing_rate_ = DataRate::Zero();
  DataRate video_media_rate_ = DataRate::Zero();
  bool video_suspended_ = false;
  rtp::RttEstimator rtt_;
  double loss_fraction_ = 0;
  std::map<uint32_t, RemoteInbound> remote_inbound_;  // keyed by our SSRCs only
  AvSync sync_;
  TransportCounters transport_;
  SendBudget budget_;
  // Overhead bytes (headers of every RTP packet but padding, plus audio payload) at the last few
  // update_overhead() calls, oldest first: their rate over ~1 s, minus the audio allocation, is
  // what the media encoders cannot have.
  struct OverheadSnapshot {
    Timestamp time = Timestamp::MinusInfinity();
    DataSize bytes = DataSize::Zero();
  };
  std::deque<OverheadSnapshot> overhead_snapshots_;  // at most kOverheadSnapshots
  std::optional<DataRate> measured_overhead_;
  DataRate audio_allocation_ = DataRate::Zero();
  Timestamp next_overhead_update_ = Timestamp::PlusInfinity();
  uint64_t sample_bytes_sent_ = 0, sample_bytes_received_ = 0;
  NetworkSampleListener* sample_listener_ = nullptr;
};

}  // namespace tern::pipeline
