#include "tern/pipeline/stats.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace tern::pipeline {
namespace {

using Json = nlohmann::json;  // std::map objects: keys come out sorted

// Fixed precision so that tiny floating-point noise cannot reach the text.
double num(double v) {
  if (!std::isfinite(v)) return 0;
  return std::round(v * 1e6) / 1e6;
}

template <typename T>
void opt(Json& j, const char* key, const std::optional<T>& v) {
  if (!v) return;
  if constexpr (std::is_floating_point_v<T>) {
    j[key] = num(*v);
  } else {
    j[key] = *v;
  }
}

Json base(const RtcStatsBase& s, const char* type) {
  Json j = Json::object();
  j["id"] = s.id;
  j["type"] = type;
  j["timestamp"] = num(s.timestamp_ms);
  return j;
}

Json to_json(const CodecStats& s) {
  Json j = base(s, "codec");
  j["payloadType"] = s.payload_type;
  j["mimeType"] = s.mime_type;
  j["clockRate"] = s.clock_rate;
  opt(j, "channels", s.channels);
  j["transportId"] = s.transport_id;
  return j;
}

Json to_json(const MediaSourceStats& s) {
  Json j = base(s, "media-source");
  j["kind"] = s.kind;
  j["trackIdentifier"] = s.track_identifier;
  opt(j, "width", s.width);
  opt(j, "height", s.height);
  opt(j, "frames", s.frames);
  opt(j, "framesPerSecond", s.frames_per_second);
  opt(j, "totalSamplesDuration", s.total_samples_duration);
  return j;
}

Json to_json(const OutboundRtpStats& s) {
  Json j = base(s, "outbound-rtp");
  j["ssrc"] = s.ssrc;
  j["kind"] = s.kind;
  j["transportId"] = s.transport_id;
  j["codecId"] = s.codec_id;
  j["mediaSourceId"] = s.media_source_id;
  if (!s.remote_id.empty()) j["remoteId"] = s.remote_id;
  j["mid"] = s.mid;
  opt(j, "rtxSsrc", s.rtx_ssrc);
  j["packetsSent"] = s.packets_sent;
  j["bytesSent"] = s.bytes_sent;
  j["headerBytesSent"] = s.header_bytes_sent;
  j["retransmittedPacketsSent"] = s.retransmitted_packets_sent;
  j["retransmittedBytesSent"] = s.retransmitted_bytes_sent;
  j["targetBitrate"] = num(s.target_bitrate);
  j["nackCount"] = s.nack_count;
  j["active"] = s.active;
  opt(j, "framesEncoded", s.frames_encoded);
  opt(j, "keyFramesEncoded", s.key_frames_encoded);
  opt(j, "frameWidth", s.frame_width);
  opt(j, "frameHeight", s.frame_height);
  opt(j, "pliCount", s.pli_count);
  opt(j, "firCount", s.fir_count);
  opt(j, "totalEncodedBytesTarget", s.total_encoded_bytes_target);
  opt(j, "framesPerSecond", s.frames_per_second);
  opt(j, "framesSent", s.frames_sent);
  opt(j, "ternFecPacketsSent", s.fec_packets_sent);
  opt(j, "ternFecMaskType", s.fec_mask_type);
  opt(j, "qualityLimitationReason", s.quality_limitation_reason);
  if (s.quality_limitation_durations) {
    Json d = Json::object();
    for (const auto& [reason, seconds] : *s.quality_limitation_durations) d[reason] = num(seconds);
    j["qualityLimitationDurations"] = d;
  }
  opt(j, "qualityLimitationResolutionChanges", s.quality_limitation_resolution_changes);
  return j;
}

Json to_json(const InboundRtpStats& s) {
  Json j = base(s, "inbound-rtp");
  j["ssrc"] = s.ssrc;
  j["kind"] = s.kind;
  j["transportId"] = s.transport_id;
  j["codecId"] = s.codec_id;
  if (!s.remote_id.empty()) j["remoteId"] = s.remote_id;
  j["mid"] = s.mid;
  j["packetsReceived"] = s.packets_received;
  j["packetsLost"] = s.packets_lost;
  j["jitter"] = num(s.jitter);
  j["bytesReceived"] = s.bytes_received;
  j["headerBytesReceived"] = s.header_bytes_received;
  opt(j, "lastPacketReceivedTimestamp", s.last_packet_received_timestamp);
  j["retransmittedPacketsReceived"] = s.retransmitted_packets_received;
  j["retransmittedBytesReceived"] = s.retransmitted_bytes_received;
  j["nackCount"] = s.nack_count;
  j["jitterBufferDelay"] = num(s.jitter_buffer_delay);
  j["jitterBufferTargetDelay"] = num(s.jitter_buffer_target_delay);
  j["jitterBufferEmittedCount"] = s.jitter_buffer_emitted_count;
  opt(j, "framesReceived", s.frames_received);
  opt(j, "framesDecoded", s.frames_decoded);
  opt(j, "keyFramesDecoded", s.key_frames_decoded);
  opt(j, "framesDropped", s.frames_dropped);
  opt(j, "framesRendered", s.frames_rendered);
  opt(j, "frameWidth", s.frame_width);
  opt(j, "frameHeight", s.frame_height);
  opt(j, "freezeCount", s.freeze_count);
  opt(j, "pauseCount", s.pause_count);
  opt(j, "pliCount", s.pli_count);
  opt(j, "firCount", s.fir_count);
  opt(j, "framesPerSecond", s.frames_per_second);
  opt(j, "totalFreezesDuration", s.total_freezes_duration);
  opt(j, "totalPausesDuration", s.total_pauses_duration);
  opt(j, "fecPacketsReceived", s.fec_packets_received);
  opt(j, "fecPacketsDiscarded", s.fec_packets_discarded);
  opt(j, "packetsDiscarded", s.packets_discarded);
  opt(j, "ternFecPacketsRecovered", s.fec_packets_recovered);
  opt(j, "ternFecRecoveredThenReceived", s.tern_fec_recovered_then_received);
  opt(j, "ternPacketsRepairedByRtx", s.tern_packets_repaired_by_rtx);
  opt(j, "ternMeanPsnr", s.tern_mean_psnr);
  opt(j, "ternMeanSsim", s.tern_mean_ssim);
  opt(j, "totalSamplesReceived", s.total_samples_received);
  opt(j, "concealedSamples", s.concealed_samples);
  opt(j, "silentConcealedSamples", s.silent_concealed_samples);
  opt(j, "concealmentEvents", s.concealment_events);
  opt(j, "insertedSamplesForDeceleration", s.inserted_samples_for_deceleration);
  opt(j, "removedSamplesForAcceleration", s.removed_samples_for_acceleration);
  opt(j, "totalSamplesDuration", s.total_samples_duration);
  opt(j, "ternSyncOffset", s.tern_sync_offset);
  opt(j, "ternSyncDelay", s.tern_sync_delay);
  return j;
}

Json to_json(const RemoteInboundRtpStats& s) {
  Json j = base(s, "remote-inbound-rtp");
  j["ssrc"] = s.ssrc;
  j["kind"] = s.kind;
  j["transportId"] = s.transport_id;
  j["codecId"] = s.codec_id;
  j["localId"] = s.local_id;
  j["packetsLost"] = s.packets_lost;
  j["fractionLost"] = num(s.fraction_lost);
  j["jitter"] = num(s.jitter);
  opt(j, "roundTripTime", s.round_trip_time);
  j["totalRoundTripTime"] = num(s.total_round_trip_time);
  j["roundTripTimeMeasurements"] = s.round_trip_time_measurements;
  return j;
}

Json to_json(const TransportStats& s) {
  Json j = base(s, "transport");
  j["packetsSent"] = s.packets_sent;
  j["packetsReceived"] = s.packets_received;
  j["bytesSent"] = s.bytes_sent;
  j["bytesReceived"] = s.bytes_received;
  j["ternRtcpPacketsSent"] = s.rtcp_packets_sent;
  j["ternRtcpPacketsReceived"] = s.rtcp_packets_received;
  j["ternMalformedPackets"] = s.malformed_packets;
  j["ternUnknownSsrcPackets"] = s.unknown_ssrc_packets;
  j["ternRtcpParseErrors"] = s.rtcp_parse_errors;
  j["ternNotRtpPackets"] = s.not_rtp_packets;
  j["ternTruncatedPackets"] = s.truncated_packets;
  j["ternSrtpFailures"] = s.srtp_failures;
  j["selectedCandidatePairId"] = s.selected_candidate_pair_id;
  return j;
}

Json to_json(const CandidatePairStats& s) {
  Json j = base(s, "candidate-pair");
  j["transportId"] = s.transport_id;
  j["state"] = s.state;
  j["nominated"] = s.nominated;
  j["packetsSent"] = s.packets_sent;
  j["packetsReceived"] = s.packets_received;
  j["bytesSent"] = s.bytes_sent;
  j["bytesReceived"] = s.bytes_received;
  j["packetsDiscardedOnSend"] = s.packets_discarded_on_send;
  opt(j, "currentRoundTripTime", s.current_round_trip_time);
  opt(j, "availableOutgoingBitrate", s.available_outgoing_bitrate);
  opt(j, "availableIncomingBitrate", s.available_incoming_bitrate);
  return j;
}

template <typename T>
void add_all(Json& root, const std::vector<T>& items) {
  for (const T& s : items) root[s.id] = to_json(s);
}

template <typename T>
const T* find_kind(const std::vector<T>& items, std::string_view kind) {
  for (const T& s : items) {
    if (s.kind == kind) return &s;
  }
  return nullptr;
}

}  // namespace

std::string StatsReport::to_json(int indent) const {
  Json root = Json::object();
  add_all(root, codecs);
  add_all(root, media_sources);
  add_all(root, outbound_rtp);
  add_all(root, inbound_rtp);
  add_all(root, remote_inbound_rtp);
  add_all(root, transports);
  add_all(root, candidate_pairs);
  return root.dump(indent);
}

const InboundRtpStats* StatsReport::inbound(std::string_view kind) const& { return find_kind(inbound_rtp, kind); }
const OutboundRtpStats* StatsReport::outbound(std::string_view kind) const& { return find_kind(outbound_rtp, kind); }
const RemoteInboundRtpStats* StatsReport::remote_inbound(std::string_view kind) const& {
  return find_kind(remote_inbound_rtp, kind);
}

}  // namespace tern::pipeline
