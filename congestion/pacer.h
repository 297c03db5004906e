// Packet pacer (libwebrtc's PacingController): spreads media out at a pacing rate (by default
// 2.5 x the target) so bursts from the encoder do not build queues in the network, sends probe
// clusters at their own rate, and pads when asked. Sans-I/O: the driver asks next_send_time(),
// then calls process(now) and sends what it returns.
//
// The pacer never looks at packet bytes: a PacedPacket is a size and a priority, plus the caller's
// packet as an opaque payload that the pacer holds and hands back when it is due (the pacer's
// queue is the only queue between the send streams and the network).
//
// Queue: strict priority between classes (audio, retransmission, video, FEC, padding), FIFO within
// a class. Bounded by Config::max_queue_packets and max_queue_size; when full, an incoming packet
// evicts the newest packet of the lowest class strictly below its own, otherwise it is refused.
// Queue-time limit: when the queue would take longer than `queue_time_limit` to drain at the
// pacing rate, the rate is raised so it drains in time (delay is worse than a burst).
//
// Burst limit (set_link_rate): the pacing rate runs ahead of the target (2.5 x) so a frame leaves
// quickly, but what leaves faster than the path drains queues in the path, where audio waits
// behind video (the pacer's queue serves audio first; a bottleneck's is FIFO). At a low rate a
// frame lasts long on the link (4 KB at 250 kbps: 130 ms), so the burst becomes a delay spike
// that the delay-based estimator reads as overuse and the audio jitter buffer as jitter. So media
// may run ahead of the link rate by at most `max_burst` (in time at the link rate); beyond it,
// video, FEC, RTX and padding leave at the link rate while audio still leaves at once. At high
// rates a frame fits in the burst and nothing changes. Probes ignore the limit (they are meant
// to exceed the rate), and the queue-time limit lifts it like the pacing rate.
#pragma once

#include <any>
#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "tern/congestion/network_types.h"
#include "tern/core/units.h"

namespace tern::congestion {

enum class PacketPriority : uint8_t { kAudio = 0, kRetransmission, kVideo, kFec, kPadding };
inline constexpr size_t kNumPacketPriorities = 5;

struct PacedPacket {
  uint64_t id = 0;  // the caller's handle
  DataSize size = DataSize::Zero();
  PacketPriority priority = PacketPriority::kVideo;
  Timestamp enqueue_time = Timestamp::MinusInfinity();
  int probe_cluster_id = kNotAProbe;  // set by the pacer when the packet is sent as a probe
  std::any payload{};  // the caller's packet, handed back untouched (moved, never copied, inside)
};

// Ask the caller to generate `size` bytes of padding now (for a probe or the padding rate).
struct PaddingRequest {
  DataSize size = DataSize::Zero();
  int probe_cluster_id = kNotAProbe;
};

struct PacerOutput {
  std::vector<PacedPacket> packets;  // in send order
  std::vector<PaddingRequest> padding;
};

class Pacer {
 public:
  struct Config {
    DataRate initial_pacing_rate = DataRate::KilobitsPerSec(750);
    TimeDelta queue_time_limit = TimeDelta::Seconds(2);
    size_t max_queue_packets = 10000;
    DataSize max_queue_size = DataSize::Bytes(8 * 1000 * 1000);
    TimeDelta max_debt_time = TimeDelta::Millis(500);  // media debt cap, in time at the rate
    TimeDelta max_process_interval = TimeDelta::Millis(30);  // wake at least this often when busy
    TimeDelta probe_burst_interval = TimeDelta::Millis(2);   // probe packets in ~2 ms bursts
    DataSize padding_packet_size = DataSize::Bytes(224);
    // Probe padding is at least this big: a probe of mixed tiny and full-size packets misjudges
    // the receive rate (the first packet's serialisation dominates a short cluster). A cluster
    // whose own bytes (rate x duration) are fewer than its packet count times this has its bursts
    // sized at its bytes over its packet count instead: at 1000 bytes each, a 15 ms cluster at
    // 900 kbps (1.7 kB) went out as 5 kB, 80 ms of a 500 kbps link that the call's audio waited
    // in at each ramp-up probe (issue 14's low-500k: concealment 0.70 -> 0.48% over seeds 1-10).
    // Not the start-up round's clusters (ProbeClusterConfig::start_up): small, they read less
    // through +-35 ms of reordering jitter from the 300 kbps start (netsim scenario test: the
    // target over 3-10 s, 36-57% of the link, fell to 19% and 31% on two of its three seeds).
    DataSize min_probe_padding_size = DataSize::Bytes(1000);
    // A cluster at least this long (the probe controller lengthens them on a jittery path)
    // carries the media itself, at the cluster's rate, instead of media going out beside it at the
    // pacing rate, which would share the bottleneck with the cluster and leave it measuring its
    // share (libwebrtc's pacer sends all media inside a cluster). Shorter ones leave the media
    // alone: beside a 15 ms cluster that sharing is small, and holding media to it on every
    // start-up or ALR probe cost the default preset 7 ms of mouth-to-ear delay and a 2 Mbps
    // outage a 3 Mbps recovery probe that queued 350 ms. Zero: never.
    TimeDelta carry_media_from = TimeDelta::Millis(50);
    size_t max_packets_per_process = 1000;  // bounds one call
    // How far (in time at the link rate) media may run ahead of the link rate; zero: no limit.
    // 100 ms: a 4 kB frame at 250 kbps is held to about the link rate after its first 3 kB; 40 ms
    // cost the 600 kbps phase of the RFC 8867 steps a tenth of its utilisation.
    TimeDelta max_burst = TimeDelta::Millis(100);
  };

  Pacer() : Pacer(Config{}) {}
  explicit Pacer(Config config);

  // Sets the media pacing rate and the padding rate (0 = no padding).
  void set_pacing_rates(DataRate pacing_rate, DataRate padding_rate);
  // Applies a PacingConfig from the congestion controller.
  void set_pacing_config(const PacingConfig& config) {
    set_pacing_rates(config.data_rate, config.padding_rate);
  }
  // The rate the path is believed to drain (the congestion controller's target) for the burst
  // limit; never set (or PlusInfinity): no burst limit.
  void set_link_rate(DataRate rate) {
    link_rate_ = max(rate, DataRate::BitsPerSec(1));
    if (!link_rate_.is_finite()) link_debt_ = DataSize::Zero();
  }
  // Queues a cluster to be sent at its target rate, starting now.
  void create_probe_cluster(const ProbeClusterConfig& cluster);

  // Queues a packet (its enqueue_time is set to `now`). Returns the packet dropped to make room
  // (the new one or an evicted lower-priority one, payload included), if the queue was full.
  [[nodiscard]] std::optional<PacedPacket> enqueue(PacedPacket packet, Timestamp now);

  // When process() should next be called; nullopt when idle with nothing to do.
  std::optional<Timestamp> next_send_time() const;
  // Releases every packet (and padding request) due by `now`.
  [[nodiscard]] PacerOutput process(Timestamp now);

  size_t queue_packets() const { return queue_packets_; }
  DataSize queue_size() const { return queue_size_; }
  // Oldest queued packet's wait, or zero.
  TimeDelta oldest_queue_time(Timestamp now) const;
  // Effective media rate, including the queue-time-limit boost.
  DataRate current_pacing_rate(Timestamp now) const;
  DataRate pacing_rate() const { return pacing_rate_; }
  // Bytes sent ahead of the link rate (the burst limit's bucket).
  DataSize link_debt() const { return link_debt_; }

 private:
  struct ActiveProbe {
    ProbeClusterConfig config;
    Timestamp start = Timestamp::MinusInfinity();
    DataSize sent = DataSize::Zero();
    int packets_sent = 0;
  };
  std::optional<PacedPacket> pop_highest();
  // The class of the packet pop_highest() would return (the queue is not empty).
  PacketPriority highest_priority() const;
  // The queue-time limit's rate: what drains the queue in time (zero when empty or no limit).
  DataRate queue_limit_rate(Timestamp now) const;
  // The link rate the burst bucket drains at (lifted by the queue-time limit).
  DataRate link_drain_rate(Timestamp now) const;
  // True when the burst limit holds back the packet at the head of the queue.
  bool burst_limited() const;
  DataSize burst_size() const;
  void push(PacedPacket packet);
  void drain_debt(Timestamp now);
  std::optional<Timestamp> next_probe_time() const;
  bool probe_done(const ActiveProbe& p) const;
  bool carries_media(const ActiveProbe& p) const;

  Config config_;
  std::array<std::deque<PacedPacket>, kNumPacketPriorities> queues_;
  size_t queue_packets_ = 0;
  DataSize queue_size_ = DataSize::Zero();
  double enqueue_time_sum_us_ = 0;  // for the average queue time
  DataRate pacing_rate_;
  DataRate padding_rate_ = DataRate::Zero();
  DataSize media_debt_ = DataSize::Zero();
  DataSize padding_debt_ = DataSize::Zero();
  DataRate link_rate_ = DataRate::PlusInfinity();
  DataSize link_debt_ = DataSize::Zero();
  Timestamp last_process_ = Timestamp::MinusInfinity();
  std::deque<ActiveProbe> probes_;
};

}  // namespace tern::congestion
