// PeerConnectionStats::to_json: the pipeline's webrtc-stats object with the transport, candidate,
// data-channel and peer-connection entries the PeerConnection adds.
#include <nlohmann/json.hpp>

#include "tern/webrtc/peer_connection.h"

namespace tern::webrtc {
namespace {

using Json = nlohmann::json;  // std::map objects: keys come out sorted

Json entry(const std::string& id, const char* type, double timestamp_ms) {
  Json j = Json::object();
  j["id"] = id;
  j["type"] = type;
  j["timestamp"] = timestamp_ms;
  return j;
}

void set_if(Json& j, const char* key, const std::string& value) {
  if (!value.empty()) j[key] = value;
}

}  // namespace

std::string PeerConnectionStats::to_json(int indent) const {
  Json root = Json::parse(media.to_json(-1));
  const double ts = timestamp_ms;

  const std::string transport_id = media.transports.empty() ? "T01" : media.transports.front().id;
  if (!root.contains(transport_id)) root[transport_id] = entry(transport_id, "transport", ts);
  Json& t = root[transport_id];
  set_if(t, "tlsVersion", transport.tls_version);
  set_if(t, "dtlsCipher", transport.dtls_cipher);
  set_if(t, "srtpCipher", transport.srtp_cipher);
  set_if(t, "dtlsRole", transport.dtls_role);
  set_if(t, "dtlsState", transport.dtls_state);
  set_if(t, "iceState", transport.ice_state);
  set_if(t, "iceRole", transport.ice_role);
  t["ternIcePacketsSent"] = transport.packets_sent;
  t["ternIcePacketsReceived"] = transport.packets_received;
  t["ternIceBytesSent"] = transport.bytes_sent;
  t["ternIceBytesReceived"] = transport.bytes_received;

  if (transport.local_candidate && transport.remote_candidate) {
    auto candidate = [&](const char* id, const char* type, const CandidateInfo& c) {
      Json j = entry(id, type, ts);
      j["transportId"] = transport_id;
      j["candidateType"] = c.candidate_type;
      j["address"] = c.address;
      j["port"] = c.port;
      j["protocol"] = "udp";
      root[id] = std::move(j);
    };
    candidate("CL01", "local-candidate", *transport.local_candidate);
    candidate("CR01", "remote-candidate", *transport.remote_candidate);
    const std::string pair_id = media.candidate_pairs.empty() ? "CP01" : media.candidate_pairs.front().id;
    if (!root.contains(pair_id)) {
      root[pair_id] = entry(pair_id, "candidate-pair", ts);
      root[pair_id]["transportId"] = transport_id;
      if (transport.round_trip_time) root[pair_id]["currentRoundTripTime"] = *transport.round_trip_time;
    }
    root[pair_id]["localCandidateId"] = "CL01";
    root[pair_id]["remoteCandidateId"] = "CR01";
    t["selectedCandidatePairId"] = pair_id;
  }

  for (const sctp::DataChannelStats& d : data_channels) {
    std::string id = "D";  // (not "D" + to_string: GCC 12's -Wrestrict false positive)
    id += std::to_string(d.data_channel_identifier);
    Json j = entry(id, "data-channel", ts);
    j["label"] = d.label;
    j["protocol"] = d.protocol;
    j["dataChannelIdentifier"] = d.data_channel_identifier;
    j["state"] = std::string(sctp::to_string(d.state));
    j["messagesSent"] = d.messages_sent;
    j["bytesSent"] = d.bytes_sent;
    j["messagesReceived"] = d.messages_received;
    j["bytesReceived"] = d.bytes_received;
    root[id] = std::move(j);
  }

  Json pc = entry("P", "peer-connection", ts);
  pc["ternRemoteDescriptionsRefused"] = counters.remote_descriptions_refused;
  pc["ternDatagramsBeforeIce"] = counters.datagrams_before_ice;
  pc["ternCandidatesRefused"] = counters.candidates_refused;
  pc["ternDtlsBeforeTransport"] = counters.dtls_before_transport;
  pc["ternMediaBeforeSrtp"] = counters.media_before_srtp;
  pc["ternUnknownDatagrams"] = counters.unknown_datagrams;
  pc["ternSrtpUnprotectFailures"] = counters.srtp_unprotect_failures;
  pc["ternSrtpProtectFailures"] = counters.srtp_protect_failures;
  pc["ternIceSendFailures"] = counters.ice_send_failures;
  pc["ternSctpPacketsRefused"] = counters.sctp_packets_refused;
  pc["ternOutgoingDropped"] = counters.outgoing_dropped;
  pc["ternEventsDropped"] = counters.events_dropped;
  pc["ternFingerprintMismatches"] = counters.fingerprint_mismatches;
  pc["ternDtlsHandshakes"] = counters.dtls_handshakes;
  pc["ternRenegotiations"] = counters.renegotiations;
  pc["ternRenegotiationsRefused"] = counters.renegotiations_refused;
  pc["ternIceRestarts"] = counters.ice_restarts;
  pc["ternIceRestartsRemote"] = counters.ice_restarts_remote;
  pc["ternSelectedPairChanges"] = counters.selected_pair_changes;
  pc["ternStaleCandidates"] = counters.stale_candidates;
  root["P"] = std::move(pc);
  return root.dump(indent);
}

}  // namespace tern::webrtc
