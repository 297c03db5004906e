// A stats snapshot shaped like W3C webrtc-stats (https://www.w3.org/TR/webrtc-stats/): one struct
// per dictionary (codec, media-source, outbound-rtp, inbound-rtp, remote-inbound-rtp, transport,
// candidate-pair) with the standard member names in JSON, plus a few tern-specific members
// prefixed "tern" (PSNR/SSIM, A/V sync offset). Members that do not apply are left unset and
// omitted from the JSON.
//
// to_json() is deterministic: keys sorted, numbers rounded to 6 decimal places, timestamps in
// milliseconds of driver time; the same simulation seed gives a byte-identical string.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/units.h"

namespace tern::pipeline {

struct RtcStatsBase {
  std::string id;
  double timestamp_ms = 0;
};

struct CodecStats : RtcStatsBase {
  uint32_t payload_type = 0;
  std::string mime_type;  // "video/VP8", "audio/opus", ...
  uint32_t clock_rate = 0;
  std::optional<uint32_t> channels;
  std::string transport_id;
};

struct MediaSourceStats : RtcStatsBase {
  std::string kind;  // "audio" | "video"
  std::string track_identifier;
  std::optional<uint32_t> width, height, frames;
  std::optional<double> frames_per_second;
  std::optional<double> total_samples_duration;  // audio, seconds
};

struct OutboundRtpStats : RtcStatsBase {
  uint32_t ssrc = 0;
  std::string kind;
  std::string transport_id, codec_id, media_source_id, remote_id, mid;
  std::optional<uint32_t> rtx_ssrc;
  uint64_t packets_sent = 0;
  uint64_t bytes_sent = 0;
  uint64_t header_bytes_sent = 0;
  uint64_t retransmitted_packets_sent = 0;
  uint64_t retransmitted_bytes_sent = 0;
  double target_bitrate = 0;  // bits per second
  uint32_t nack_count = 0;
  bool active = true;
  // video
  std::optional<uint32_t> frames_encoded, key_frames_encoded, frame_width, frame_height, pli_count, fir_count;
  std::optional<uint64_t> total_encoded_bytes_target;
  std::optional<double> frames_per_second;
  std::optional<uint32_t> frames_sent;
  std::optional<uint64_t> fec_packets_sent;  // tern: ULPFEC or FlexFEC packets
  std::optional<std::string> fec_mask_type;  // tern: "random" or "bursty" (FEC on)
  std::optional<std::string> quality_limitation_reason;
  // Seconds in each reason ("none", "bandwidth", "cpu", "other"; webrtc-stats record), and the
  // resolution changes the adaptation made.
  std::optional<std::map<std::string, double>> quality_limitation_durations;
  std::optional<uint32_t> quality_limitation_resolution_changes;
};

struct InboundRtpStats : RtcStatsBase {
  uint32_t ssrc = 0;
  std::string kind;
  std::string transport_id, codec_id, remote_id, mid;
  uint64_t packets_received = 0;
  int64_t packets_lost = 0;
  double jitter = 0;  // seconds
  uint64_t bytes_received = 0;
  uint64_t header_bytes_received = 0;
  std::optional<double> last_packet_received_timestamp;
  uint64_t retransmitted_packets_received = 0;
  uint64_t retransmitted_bytes_received = 0;
  uint32_t nack_count = 0;
  double jitter_buffer_delay = 0;  // seconds, summed over emitted frames/samples
  double jitter_buffer_target_delay = 0;
  uint64_t jitter_buffer_emitted_count = 0;
  // video
  std::optional<uint32_t> frames_received, frames_decoded, key_frames_decoded, frames_dropped, frames_rendered;
  std::optional<uint32_t> frame_width, frame_height, freeze_count, pause_count, pli_count, fir_count;
  std::optional<double> frames_per_second, total_freezes_duration, total_pauses_duration;
  std::optional<uint64_t> fec_packets_received, fec_packets_recovered, fec_packets_discarded;
  // tern, video: of fec_packets_recovered, packets whose own copy arrived later (reordered past the
  // FEC packet, not lost); losses FEC repaired = fec_packets_recovered - this.
  std::optional<uint64_t> tern_fec_recovered_then_received;
  std::optional<uint64_t> packets_discarded;  // audio: late, evicted by the bounds, or flushed
  // tern: missing packets a retransmission filled (with NACK on); retransmitted_packets_received
  // also counts RTX of packets that had arrived (reordered ones NACKed, duplicates, RTX padding).
  std::optional<uint64_t> tern_packets_repaired_by_rtx;
  std::optional<double> tern_mean_psnr, tern_mean_ssim;
  // audio
  std::optional<uint64_t> total_samples_received, concealed_samples, silent_concealed_samples, concealment_events;
  std::optional<uint64_t> inserted_samples_for_deceleration, removed_samples_for_acceleration;
  std::optional<double> total_samples_duration;
  // A/V sync (on the video stream): video minus audio playout of one capture instant, seconds.
  std::optional<double> tern_sync_offset;
  std::optional<double> tern_sync_delay;  // extra delay this stream gets for sync, seconds
};

struct RemoteInboundRtpStats : RtcStatsBase {
  uint32_t ssrc = 0;
  std::string kind;
  std::string transport_id, codec_id, local_id;
  int64_t packets_lost = 0;
  double fraction_lost = 0;
  double jitter = 0;  // seconds
  std::optional<double> round_trip_time;  // seconds, latest
  double total_round_trip_time = 0;
  uint64_t round_trip_time_measurements = 0;
};

struct TransportStats : RtcStatsBase {
  uint64_t packets_sent = 0, packets_received = 0;
  uint64_t bytes_sent = 0, bytes_received = 0;
  uint64_t rtcp_packets_sent = 0, rtcp_packets_received = 0;  // tern
  // tern: received datagrams rejected, by reason (no webrtc-stats member counts them). Malformed
  // RTP, RTP of an unknown SSRC and RTCP with a parse error reached the endpoint (and are in
  // packetsReceived); not-RTP, truncated and SRTP failures were dropped by the driver below it.
  uint64_t malformed_packets = 0, unknown_ssrc_packets = 0, rtcp_parse_errors = 0;
  uint64_t not_rtp_packets = 0, truncated_packets = 0, srtp_failures = 0;
  std::string selected_candidate_pair_id;
};

struct CandidatePairStats : RtcStatsBase {
  std::string transport_id;
  std::string state = "succeeded";
  bool nominated = true;
  uint64_t packets_sent = 0, packets_received = 0;
  uint64_t bytes_sent = 0, bytes_received = 0;
  uint64_t packets_discarded_on_send = 0;  // the driver's send failures
  std::optional<double> current_round_trip_time;   // seconds
  std::optional<double> available_outgoing_bitrate;  // bits per second (congestion controller)
  std::optional<double> available_incoming_bitrate;  // bits per second (our REMB estimate)
};

struct StatsReport {
  double timestamp_ms = 0;
  std::vector<CodecStats> codecs;
  std::vector<MediaSourceStats> media_sources;
  std::vector<OutboundRtpStats> outbound_rtp;
  std::vector<InboundRtpStats> inbound_rtp;
  std::vector<RemoteInboundRtpStats> remote_inbound_rtp;
  std::vector<TransportStats> transports;
  std::vector<CandidatePairStats> candidate_pairs;

  // {"<id>": {"id": ..., "type": "outbound-rtp", "timestamp": ..., ...}, ...}, keys sorted,
  // numbers rounded to 6 decimals; `indent` < 0 gives one line.
  std::string to_json(int indent = 2) const;
  // The first entry of that kind ("audio"/"video"), or null. Pointers into this report: not
  // callable on a temporary.
  const InboundRtpStats* inbound(std::string_view kind) const&;
  const OutboundRtpStats* outbound(std::string_view kind) const&;
  const RemoteInboundRtpStats* remote_inbound(std::string_view kind) const&;
  const InboundRtpStats* inbound(std::string_view kind) const&& = delete;
  const OutboundRtpStats* outbound(std::string_view kind) const&& = delete;
  const RemoteInboundRtpStats* remote_inbound(std::string_view kind) const&& = delete;
};

}  // namespace tern::pipeline
