// Value types that flow into and out of the send-side congestion controller (GCC).
//
// Shaped after libwebrtc's api/transport/network_types.h: every input carries its own time, every
// output is a plain value. A transport-cc adapter (RTP/RTCP side) converts wire feedback
// (draft-holmer-rmcat-transport-wide-cc-extensions-01) into TransportPacketsFeedback.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "tern/core/units.h"

namespace tern::congestion {

// Probe cluster id of a packet that is not part of a probe.
inline constexpr int kNotAProbe = -1;

// What the sender knew about a packet when it left.
struct SentPacketInfo {
  int64_t sequence_number = 0;  // unwrapped transport-wide sequence number
  Timestamp send_time = Timestamp::MinusInfinity();
  DataSize size = DataSize::Zero();  // whole packet on the wire (headers + payload)
  int probe_cluster_id = kNotAProbe;
  bool audio = false;

  bool is_probe() const { return probe_cluster_id != kNotAProbe; }
};

// One packet's fate as reported by transport feedback.
struct PacketResult {
  SentPacketInfo sent;
  Timestamp receive_time = Timestamp::PlusInfinity();  // PlusInfinity if lost
  // Received, after an earlier report had given it up as lost (overtaken: reordering, or a report
  // sent before it arrived). Set by SendTimeHistory::report().
  bool late = false;

  bool is_received() const { return receive_time.is_finite(); }
};

// One transport feedback report, already matched against the send history.
struct TransportPacketsFeedback {
  Timestamp feedback_time = Timestamp::MinusInfinity();  // when the report reached the sender
  std::vector<PacketResult> packets;                      // in sequence-number order
  DataSize data_in_flight = DataSize::Zero();             // sent but not yet reported, after this

  std::vector<PacketResult> received_with_send_info() const;  // received only, seq order
  std::vector<PacketResult> sorted_by_receive_time() const;   // received only, arrival order
};

// Bandwidth usage hypothesis of the delay-based detector (draft-ietf-rmcat-gcc-02 section 5.4).
enum class BandwidthUsage { kNormal, kUnderusing, kOverusing };

// Probe cluster ids at or above this are a caller's own (NetworkController::on_external_probe_cluster,
// a forwarder's prober); a controller's clusters count up from 1 and never get there in a session.
inline constexpr int kExternalProbeClusterIdBase = 1 << 24;

// A request to the pacer to send a probe: target_rate during at least target_duration and
// target_probe_count packets.
struct ProbeClusterConfig {
  Timestamp at_time = Timestamp::MinusInfinity();
  DataRate target_rate = DataRate::Zero();
  TimeDelta target_duration = TimeDelta::Millis(15);
  int target_probe_count = 5;
  int id = 0;
  // The start-up round (nothing measured yet): its padding keeps the pacer's full burst size
  // (Pacer::Config::min_probe_padding_size), which reads an unknown path through jitter better.
  bool start_up = false;

  // Bytes the cluster must carry so that the result can be trusted.
  DataSize min_bytes() const { return target_rate * target_duration; }
};
using ProbeCluster = ProbeClusterConfig;

struct TargetTransferRate {
  Timestamp at_time = Timestamp::MinusInfinity();
  DataRate target_rate = DataRate::Zero();
  DataRate stable_target_rate = DataRate::Zero();  // a rate unlikely to cause congestion soon
  TimeDelta rtt = TimeDelta::Zero();
  double loss_rate = 0.0;  // fraction in [0, 1]
};

struct PacingConfig {
  DataRate data_rate = DataRate::Zero();     // media pacing rate
  DataRate padding_rate = DataRate::Zero();  // pad up to this when the media rate is lower
};

// What the controller asks of the rest of the sender after one input; empty when nothing changed.
struct [[nodiscard]] NetworkControlUpdate {
  std::optional<TargetTransferRate> target_rate;
  std::optional<PacingConfig> pacer_config;
  std::vector<ProbeClusterConfig> probe_cluster_configs;
  std::optional<DataSize> congestion_window;

  bool empty() const {
    return !target_rate && !pacer_config && probe_cluster_configs.empty() && !congestion_window;
  }
};

}  // namespace tern::congestion
