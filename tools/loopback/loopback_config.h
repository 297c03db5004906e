// LoopbackConfig: everything one tern-loopback run needs (media, network, topology, protection,
// congestion control, outputs), the named presets, and the translation into pipeline and netsim
// configurations. Plain struct with defaults; validate() names the first bad field in a message a
// user can act on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/units.h"
#include "tern/netsim/link.h"
#include "tern/netsim/nat.h"
#include "tern/netsim/network.h"
#include "tern/pipeline/pipeline_config.h"

namespace tern::tools {

enum class Topology : uint8_t { kDirect, kRelay, kMediaServer };
const char* topology_name(Topology t);  // "direct", "relay", "sfu"

// One direction of the emulated access link (A -> B; the return path mirrors it without loss).
struct LinkSpec {
  bool has_trace() const { return !rate_trace.empty() || !delivery_trace.empty(); }
  DataRate capacity = DataRate::MegabitsPerSec(2);  // PlusInfinity: unlimited
  // Rate trace text ("<ms> <kbps>" per line), e.g. read from --trace or built by a preset; wins
  // over `capacity` when set.
  std::string rate_trace;
  // Mahimahi delivery-opportunity trace text (one ms timestamp per line, 1500 bytes each, looping),
  // e.g. ../shared/traces/*.up read by --trace; wins over `rate_trace` and `capacity` when set.
  std::string delivery_trace;
  std::string trace_name;  // file name or preset name, for reports
  TimeDelta delay = TimeDelta::Millis(50);   // one-way propagation
  TimeDelta jitter = TimeDelta::Millis(20);  // uniform half-width
  double loss = 0.02;                        // fraction 0..0.5
  double burst = 1.0;                        // mean loss burst length in packets (1 = random)
  TimeDelta queue = TimeDelta::Millis(300);  // drop-tail limit as expected queueing time
  bool reordering = false;
  // Feedback blackout on the return path (B -> A): [start, end), none when start == end.
  TimeDelta return_blackout_start = TimeDelta::Zero();
  TimeDelta return_blackout_end = TimeDelta::Zero();
  // One-way delay changes during the call, applied to both directions from `at` on (presets only;
  // the direct topology only). At most 16, in time order.
  struct DelayStep {
    TimeDelta at;
    TimeDelta delay;
  };
  std::vector<DelayStep> delay_steps;
};

struct LoopbackConfig {
  std::string preset = "default";
  std::optional<codecs::CodecType> video = codecs::CodecType::kVp8;  // nullopt: --video none
  std::optional<codecs::CodecType> audio = codecs::CodecType::kOpus;
  int width = 640;
  int height = 480;
  double fps = 30.0;
  TimeDelta duration = TimeDelta::Seconds(20);
  LinkSpec link;
  Topology topology = Topology::kDirect;
  // The NAT in front of A and of B (--nat). With either set, or with the relay topology, the call
  // finds its path with ICE over netsim's addressed Internet and a TURN server (ice_network.h).
  std::optional<netsim::NatKind> nat_a, nat_b;
  bool uses_ice() const { return topology == Topology::kRelay || nat_a.has_value() || nat_b.has_value(); }
  // NACK (video RTX), ULPFEC in RED (sent when the protection policy turns it on: recovery/
  // protection_policy.h) and audio RED (Opus redundancy, as browsers send it) by default.
  pipeline::ProtectionConfig protection{true, true, true};
  pipeline::CongestionControlMode congestion = pipeline::CongestionControlMode::kTransportCc;
  DataRate fixed_rate = DataRate::KilobitsPerSec(1000);  // --cc fixed: the whole send budget
  DataRate start_rate = DataRate::KilobitsPerSec(1000);
  DataRate max_rate = DataRate::KilobitsPerSec(3000);
  bool bidirectional = false;  // B sends the same media back
  // 2: a second, identical call (A2 -> B2, its own SSRCs and media) shares the forward and return
  // links with the first (the two-flow fairness scenario). Direct topology only.
  int flows = 1;
  // SSIM on every Nth frame (frame numbers that are multiples of N; 0 = off). PSNR is always
  // measured on every frame; SSIM costs about 50 times more, so it is sampled.
  int ssim_every = 60;
  // What A's video gives way with when short of rate, QP or CPU (--degradation).
  pipeline::DegradationPreference degradation = pipeline::DegradationPreference::kBalanced;
  uint64_t seed = 1;
  bool realtime = false;
  std::string record_path;  // WebM of what B received
  std::string json_path;
  std::string report_path;

  // Empty when valid, else a message naming the option and the accepted range.
  std::string validate() const;
  // Endpoint configurations of A (sender) and B (receiver; sends too when bidirectional).
  // `flow` 1 is the second call of a two-flow run: SSRCs 0x2000'0000 higher, other media seeds.
  pipeline::EndpointConfig endpoint_a(int flow = 0) const;
  pipeline::EndpointConfig endpoint_b(int flow = 0) const;
  // The emulated access link A -> B and its return path. Error message on a bad trace.
  Result<netsim::LinkConfig> forward_link() const;
  // The forward link's mean capacity over the call (a trace's mean; PlusInfinity when unlimited).
  DataRate mean_capacity() const;
  netsim::LinkConfig return_link() const;
};

struct Preset {
  std::string name;
  std::string description;
  LoopbackConfig config;
};
// Every named preset, "default" first.
const std::vector<Preset>& presets();
const Preset* find_preset(std::string_view name);

}  // namespace tern::tools
