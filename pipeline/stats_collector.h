// StatsCollector: maps an endpoint's stages onto W3C webrtc-stats dictionaries (stats.h): codec,
// media-source, outbound-rtp, remote-inbound-rtp, inbound-rtp, transport and candidate-pair. It
// only reads: every stage through its const accessors, the send side through the SendTransport
// (egress counters, report blocks, target), so an assembly other than Endpoint can reuse it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "tern/congestion/remote_bitrate_estimator_abs_send_time.h"
#include "tern/pipeline/audio_receive_stream.h"
#include "tern/pipeline/audio_send_stream.h"
#include "tern/pipeline/av_sync.h"
#include "tern/pipeline/pipeline_config.h"
#include "tern/pipeline/send_transport.h"
#include "tern/pipeline/stats.h"
#include "tern/pipeline/video_receive_stream.h"
#include "tern/pipeline/video_send_stream.h"
#include "tern/rtp/receive_statistics.h"
#include "tern/rtp/rtt_estimator.h"

namespace tern::pipeline {

// What a driver below an endpoint counts (sockets, SRTP, RFC 7983 demultiplexing): datagrams that
// never reached Endpoint::on_packet() or never left. All zero under netsim.
struct LinkCounters {
  uint64_t not_rtp = 0;        // neither RTP nor RTCP (first byte, or shorter than a header)
  uint64_t truncated = 0;      // larger than the receive buffer
  uint64_t srtp_failures = 0;  // SRTP/SRTCP authentication, replay or format failures
  uint64_t send_failures = 0;  // the kernel refused a datagram, or protecting it failed
};
using LinkCountersSource = std::function<LinkCounters()>;

// Transport-level counters (RTP + RTCP datagrams) of one endpoint.
struct TransportCounters {
  uint64_t packets_sent = 0, bytes_sent = 0, packets_received = 0, bytes_received = 0;
  uint64_t rtcp_packets_sent = 0, rtcp_packets_received = 0;
  uint64_t unknown_ssrc_packets = 0, malformed_packets = 0, pacer_drops = 0;
  uint64_t rtcp_parse_errors = 0;  // RTCP datagrams with a part that did not parse
  // Transport-wide congestion control (transport-cc): received RTP packets that carried the
  // transport-wide sequence number extension, and the feedback packets sent and received (counted
  // when the endpoint's congestion control is transport-cc).
  uint64_t transport_sequenced_received = 0, transport_feedback_sent = 0, transport_feedback_received = 0;
  LinkCounters link;               // the driver's, when it gave a source
};

class StatsCollector {
 public:
  // What is read. Everything is borrowed and must outlive the collector; a null stream or
  // estimator is one the configuration does not have.
  struct Sources {
    const EndpointConfig* config = nullptr;
    const AudioSendStream* audio_send = nullptr;
    const VideoSendStream* video_send = nullptr;
    const AudioReceiveStream* audio_recv = nullptr;
    const VideoReceiveStream* video_recv = nullptr;
    const rtp::ReceiveStatistics* statistics = nullptr;
    const SendTransport* send_transport = nullptr;
    const AvSync* sync = nullptr;
    const rtp::RttEstimator* rtt = nullptr;  // the endpoint's (report blocks and receiver RTT)
    const congestion::RemoteBitrateEstimatorAbsSendTime* remb_estimator = nullptr;
    const TransportCounters* received = nullptr;  // the receive half; the send half is the transport's
    const LinkCountersSource* link = nullptr;     // the driver's counters (optional; may hold none)
  };
  // Sources must all be set but the streams and the REMB estimator.
  explicit StatsCollector(const Sources& sources);

  // A webrtc-stats shaped snapshot at `now`.
  StatsReport collect(Timestamp now) const;
  // Datagrams sent (the SendTransport's) and received.
  TransportCounters transport_counters() const;

 private:
  const EndpointConfig& config_;
  const AudioSendStream* audio_send_;
  const VideoSendStream* video_send_;
  const AudioReceiveStream* audio_recv_;
  const VideoReceiveStream* video_recv_;
  const rtp::ReceiveStatistics& statistics_;
  const SendTransport& send_transport_;
  const AvSync& sync_;
  const rtp::RttEstimator& rtt_;
  const congestion::RemoteBitrateEstimatorAbsSendTime* remb_estimator_;
  const TransportCounters& received_;
  const LinkCountersSource* link_;
};

}  // namespace tern::pipeline
