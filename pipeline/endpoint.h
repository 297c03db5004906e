// Endpoint: one side of a call, assembled from the stages (sans-I/O).
//
//   send:    AudioSendStream / VideoSendStream (capture -> encoder -> packetizer -> RtpSender,
//            FEC) -> SendTransport (pacer, transport-wide seq + abs-send-time, egress) -> DatagramSink
//   receive: on_packet() -> RFC 5761 demux -> RTCP: RtcpSession -> listener (this)
//                                          -> RTP: transport-cc / REMB estimators, then by SSRC to
//                                             AudioReceiveStream / VideoReceiveStream
//   control: RtcpSession (SR/RR/SDES, NACK, PLI/FIR, REMB, transport-cc) -> SendTransport
//            (NetworkController -> BitrateAllocator -> encoders, RTX budget, pacer); AvSync between
//            the receive streams.
//   stats:   StatsCollector reads the stages and the SendTransport (stats_collector.h).
//
// Drive it with next_wakeup()/process(now) and on_packet(); netsim::PollableAdapter
// (netsim/datagram_adapter.h) does that on a netsim::EventLoop. Media sources are pulled at their
// cadence inside process().
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "tern/congestion/remote_bitrate_estimator_abs_send_time.h"
#include "tern/congestion/transport_feedback_generator.h"
#include "tern/core/datagram_sink.h"
#include "tern/core/result.h"
#include "tern/pipeline/audio_receive_stream.h"
#include "tern/pipeline/audio_send_stream.h"
#include "tern/pipeline/av_sync.h"
#include "tern/pipeline/listeners.h"
#include "tern/pipeline/pipeline_config.h"
#include "tern/pipeline/rtcp_session.h"
#include "tern/pipeline/send_transport.h"
#include "tern/pipeline/stats.h"
#include "tern/pipeline/stats_collector.h"
#include "tern/pipeline/video_receive_stream.h"
#include "tern/pipeline/video_send_stream.h"
#include "tern/rtp/receive_statistics.h"
#include "tern/rtp/rtt_estimator.h"

namespace tern::pipeline {

// What Endpoint::on_packet() made of one datagram.
enum class PacketVerdict : uint8_t {
  kRtp,           // RTP of a stream this endpoint receives (media or its RTX)
  kRtcp,          // an RTCP compound that parsed whole
  kMalformedRtp,  // not parsable as RTP (counted malformed_packets)
  kUnknownSsrc,   // RTP of no stream this endpoint receives (counted unknown_ssrc_packets)
  kBadRtcp,       // RTCP with a part that did not parse (counted rtcp_parse_errors; the rest used)
};
// True for what belongs to the session: a driver may learn its peer from such a datagram.
inline bool of_session(PacketVerdict v) { return v == PacketVerdict::kRtp || v == PacketVerdict::kRtcp; }

class Endpoint : private RtcpSession::Listener, private SendTransport::Listener {
 public:
  using TransportCounters = pipeline::TransportCounters;
  using SendBudget = SendTransport::Budget;
  static constexpr int64_t kTransportOverheadBytes = SendTransport::kTransportOverheadBytes;

  // Validates `config`; `sink` (not owned, must outlive the endpoint) receives every datagram.
  static Result<std::unique_ptr<Endpoint>> Create(const EndpointConfig& config, DatagramSink* sink);
  ~Endpoint() override;

  // One received datagram (RTP or RTCP, RFC 5761 multiplexed) at `now`; what it was, counted.
  PacketVerdict on_packet(std::span<const uint8_t> datagram, Timestamp now);
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
  // The driver's own counters (not-RTP, truncated, SRTP failures, send failures), read whenever
  // stats or transport counters are asked for; unset: zero.
  void set_link_counters(LinkCountersSource source) { link_counters_ = std::move(source); }
  // The RTX SSRC of the received video, once learned (from an SDP's ssrc-group:FID or from the
  // first packet of the RTX payload type); replaces the configured one. No effect without video.
  void set_remote_video_rtx_ssrc(uint32_t ssrc);
  // The sender SSRC of a received stream that has had no packet yet (a stream announced but not
  // sent at first, started under a placeholder SSRC): the stream is made anew with it, keeping its
  // listeners; the other stream is untouched. Fails (nothing changed) when the kind is not
  // received or the SSRC collides with another.
  Status set_remote_audio_ssrc(uint32_t ssrc);
  Status set_remote_video_ssrc(uint32_t ssrc);

  DataRate target_rate() const { return send_transport_->target(); }
  std::optional<TimeDelta> rtt() const { return rtt_.latest(); }
  std::optional<TimeDelta> sync_offset() const { return sync_.sync_offset(); }
  TransportCounters transport_counters() const;
  const SendBudget& send_budget() const { return send_transport_->budget(); }
  // How long the oldest packet now in the pacer queue has waited (zero when empty).
  TimeDelta pacer_queue_delay(Timestamp now) const { return send_transport_->pacer().oldest_queue_time(now); }
  const SendTransport& send_transport() const { return *send_transport_; }
  const EndpointConfig& config() const { return config_; }
  // The stages, for tests and tools (null when the configuration has no such stream).
  const VideoSendStream* video_send_stream() const { return video_send_.get(); }
  const AudioSendStream* audio_send_stream() const { return audio_send_.get(); }
  const VideoReceiveStream* video_receive_stream() const { return video_recv_.get(); }
  const AudioReceiveStream* audio_receive_stream() const { return audio_recv_.get(); }

 private:
  Endpoint(const EndpointConfig& config, DatagramSink* sink, rtp::ExtensionMap extensions,
           rtp::ReceiveStatistics statistics, RtcpSession rtcp);
  Status init();

  // RtcpSession::Listener
  void on_nack(uint32_t media_ssrc, std::span<const uint16_t> seqs, Timestamp now) override;
  void on_keyframe_request(uint32_t media_ssrc, bool fir, Timestamp now) override;
  void on_remb(DataRate bitrate, Timestamp now) override;
  void on_transport_feedback(const rtcp::TransportFeedback& feedback, Timestamp now) override;
  void on_congestion_control_feedback(const rtcp::CongestionControlFeedback& feedback, Timestamp now) override;
  void on_report_block(const rtcp::ReportBlock& block, std::optional<TimeDelta> rtt, int64_t packets_expected,
                       Timestamp now) override;
  void on_sender_report(const rtcp::SenderReport& report, Timestamp now) override;
  void on_receiver_rtt(TimeDelta rtt, Timestamp now) override;

  // SendTransport::Listener
  void on_allocation(const SendTransport::Allocation& allocation, Timestamp now) override;

  // The video stream's FEC from the path's figures (its RTT, least RTT, and the loss FEC is sized
  // for: beside NACK what the path loses before repairs, transport feedback's figure once it has
  // its outcomes, else the report's `rr_loss`; on a long path (the policy's high_rtt) without that
  // figure yet at least the policy's min_fec_loss, see endpoint.cpp).
  void update_video_protection(TimeDelta path_rtt, std::optional<TimeDelta> base_rtt, double rr_loss);

  Status init_send_transport();
  // The receive streams from config_ (with the listeners kept below), and the stats collector
  // that reads them.
  Status make_audio_receive();
  Status make_video_receive();
  void make_stats_collector();
  // Sets `remote` (a member of config_.remote) to `ssrc` if the configuration stays valid, then
  // makes that stream again with `make` and the stats collector with it.
  Status remake_receive_stream(uint32_t& remote, uint32_t ssrc, Status (Endpoint::*make)());
  std::vector<uint32_t> own_ssrcs() const;
  void sample(Timestamp now);

  EndpointConfig config_;
  DatagramSink* sink_;
  rtp::ExtensionMap extensions_;
  rtp::ReceiveStatistics statistics_;
  RtcpSession rtcp_;
  std::unique_ptr<AudioSendStream> audio_send_;
  std::unique_ptr<VideoSendStream> video_send_;
  std::unique_ptr<AudioReceiveStream> audio_recv_;
  std::unique_ptr<VideoReceiveStream> video_recv_;

  std::unique_ptr<SendTransport> send_transport_;
  std::optional<congestion::TransportFeedbackGenerator> feedback_generator_;
  std::optional<congestion::CongestionControlFeedbackGenerator> ccfb_generator_;  // kRfc8888
  std::optional<congestion::RemoteBitrateEstimatorAbsSendTime> remb_estimator_;
  std::vector<OutgoingPacket> scratch_;

  bool started_ = false;
  Timestamp next_sample_ = Timestamp::PlusInfinity();
  Timestamp next_sync_ = Timestamp::PlusInfinity();
  rtp::RttEstimator rtt_;
  AvSync sync_;
  TransportCounters received_;  // the receive half; the send half is the SendTransport's
  uint64_t sampled_bytes_sent_ = 0, sample_bytes_received_ = 0;
  NetworkSampleListener* sample_listener_ = nullptr;
  LinkCountersSource link_counters_;
  VideoRenderListener* render_listener_ = nullptr;
  AudioPlayoutListener* playout_listener_ = nullptr;
  ReferenceFrameProvider* reference_provider_ = nullptr;
  std::unique_ptr<StatsCollector> stats_collector_;  // reads the members above: declared last
};

}  // namespace tern::pipeline
