#include "tern/congestion/pacer.h"

#include <doctest/doctest.h>

#include <any>
#include <optional>
#include <string>
#include <vector>

using namespace tern;
using namespace tern::congestion;
using namespace tern::unit_literals;

namespace {
PacedPacket packet(uint64_t id, DataSize size, PacketPriority prio = PacketPriority::kVideo) {
  return PacedPacket{id, size, prio};
}

// Drives the pacer as a driver would: process at next_send_time until `end`.
std::vector<std::pair<Timestamp, PacedPacket>> drive(Pacer& pacer, Timestamp& now, Timestamp end) {
  std::vector<std::pair<Timestamp, PacedPacket>> sent;
  for (int guard = 0; guard < 100000; ++guard) {
    const auto next = pacer.next_send_time();
    if (!next || *next > end) break;
    now = max(now, *next);
    const PacerOutput out = pacer.process(now);
    for (const auto& p : out.packets) sent.emplace_back(now, p);
  }
  now = end;
  return sent;
}

// What probe cluster `id` sent while the pacer was driven from `now` until `end`: its media
// packets and padding bursts (bytes, count, the last one's time); padding of other clusters counts
// in `stray`.
struct ProbeSent {
  DataSize bytes = DataSize::Zero();
  int packets = 0;  // media and padding
  int padding = 0;
  int stray = 0;
  Timestamp last = Timestamp::MinusInfinity();
};
ProbeSent drive_probe(Pacer& pacer, int id, Timestamp now, Timestamp end) {
  ProbeSent sent;
  auto count = [&](DataSize size, Timestamp at) {
    sent.bytes += size;
    ++sent.packets;
    sent.last = at;
  };
  for (int guard = 0; guard < 1000; ++guard) {
    const auto next = pacer.next_send_time();
    if (!next || *next > end) break;
    now = max(now, *next);
    const PacerOutput out = pacer.process(now);
    for (const auto& p : out.packets) {
      if (p.probe_cluster_id == id) count(p.size, now);
    }
    for (const auto& pad : out.padding) {
      if (pad.probe_cluster_id != id) {
        ++sent.stray;
        continue;
      }
      ++sent.padding;
      count(pad.size, now);
    }
  }
  return sent;
}
}  // namespace

TEST_CASE("Pacer sends by priority, FIFO within a priority") {
  Pacer pacer;
  const Timestamp t0 = Timestamp::Seconds(1);
  (void)pacer.enqueue(packet(1, 100_bytes, PacketPriority::kVideo), t0);
  (void)pacer.enqueue(packet(2, 100_bytes, PacketPriority::kFec), t0);
  (void)pacer.enqueue(packet(3, 100_bytes, PacketPriority::kVideo), t0);
  (void)pacer.enqueue(packet(4, 100_bytes, PacketPriority::kRetransmission), t0);
  (void)pacer.enqueue(packet(5, 100_bytes, PacketPriority::kAudio), t0);
  (void)pacer.enqueue(packet(6, 100_bytes, PacketPriority::kPadding), t0);
  Timestamp now = t0;
  const auto sent = drive(pacer, now, t0 + 1_s);
  REQUIRE(sent.size() == 6);
  const uint64_t expected[] = {5, 4, 1, 3, 2, 6};
  for (size_t i = 0; i < 6; ++i) CHECK(sent[i].second.id == expected[i]);
  CHECK(pacer.queue_packets() == 0);
  CHECK(pacer.queue_size() == DataSize::Zero());
}

TEST_CASE("Pacer releases data at the pacing rate") {
  Pacer pacer;
  pacer.set_pacing_rates(800_kbps, DataRate::Zero());  // 100 kB/s
  const Timestamp t0 = Timestamp::Seconds(1);
  for (uint64_t i = 0; i < 200; ++i) (void)pacer.enqueue(packet(i, 1000_bytes), t0);
  Timestamp now = t0;
  const auto sent = drive(pacer, now, t0 + 1_s);
  DataSize bytes = DataSize::Zero();
  for (const auto& s : sent) bytes += s.second.size;
  MESSAGE("1 s at 800 kbps: " << sent.size() << " packets, " << bytes.bytes() << " bytes");
  CHECK(bytes.bytes() >= 99000);
  CHECK(bytes.bytes() <= 101000);
  // Spacing between packets is size / rate = 10 ms.
  REQUIRE(sent.size() > 3);
  CHECK((sent[2].first - sent[1].first) == 10_ms);
}

TEST_CASE("Pacer raises its rate to respect the queue-time limit") {
  Pacer::Config cfg;
  cfg.queue_time_limit = 500_ms;
  Pacer pacer(cfg);
  pacer.set_pacing_rates(100_kbps, DataRate::Zero());  // 1 MB would take 80 s
  const Timestamp t0 = Timestamp::Seconds(1);
  for (uint64_t i = 0; i < 1000; ++i) (void)pacer.enqueue(packet(i, 1000_bytes), t0);
  CHECK(pacer.current_pacing_rate(t0) > 10_mbps);
  Timestamp now = t0;
  const auto sent = drive(pacer, now, t0 + 700_ms);
  MESSAGE("queue-time limit 500 ms: sent " << sent.size() << " of 1000 packets in 700 ms");
  CHECK(pacer.queue_packets() == 0);
  CHECK(sent.back().first - t0 <= 600_ms);
}

TEST_CASE("Pacer queue is bounded: lower priority is evicted, equal priority refused") {
  Pacer::Config cfg;
  cfg.max_queue_packets = 3;
  Pacer pacer(cfg);
  const Timestamp t0 = Timestamp::Seconds(1);
  CHECK_FALSE(pacer.enqueue(packet(1, 100_bytes, PacketPriority::kVideo), t0));
  CHECK_FALSE(pacer.enqueue(packet(2, 100_bytes, PacketPriority::kFec), t0));
  CHECK_FALSE(pacer.enqueue(packet(3, 100_bytes, PacketPriority::kFec), t0));
  auto dropped = pacer.enqueue(packet(4, 100_bytes, PacketPriority::kVideo), t0);
  REQUIRE(dropped);
  CHECK(dropped->id == 3);  // newest FEC packet evicted
  dropped = pacer.enqueue(packet(5, 100_bytes, PacketPriority::kVideo), t0);
  REQUIRE(dropped);
  CHECK(dropped->id == 2);
  dropped = pacer.enqueue(packet(6, 100_bytes, PacketPriority::kVideo), t0);
  REQUIRE(dropped);
  CHECK(dropped->id == 6);  // nothing lower left: the new packet is refused
  dropped = pacer.enqueue(packet(7, 100_bytes, PacketPriority::kAudio), t0);
  REQUIRE(dropped);
  CHECK(dropped->id == 5);
  CHECK(pacer.queue_packets() == 3);

  Pacer::Config bytes_cfg;
  bytes_cfg.max_queue_size = 1000_bytes;
  Pacer small(bytes_cfg);
  CHECK_FALSE(small.enqueue(packet(1, 900_bytes), t0));
  auto refused = small.enqueue(packet(2, 200_bytes), t0);
  REQUIRE(refused);
  CHECK(refused->id == 2);
  CHECK(small.queue_size() == 900_bytes);
}

TEST_CASE("Pacer sends a probe cluster at its rate, padding when no media is queued") {
  Pacer pacer;
  pacer.set_pacing_rates(100_kbps, DataRate::Zero());
  ProbeClusterConfig probe;
  probe.id = 7;
  probe.target_rate = 4_mbps;  // min bytes = 4 Mbps x 15 ms = 7500 bytes
  const Timestamp t0 = Timestamp::Seconds(1);
  pacer.create_probe_cluster(probe);
  (void)pacer.enqueue(packet(1, 1000_bytes), t0);
  const ProbeSent sent = drive_probe(pacer, 7, t0, t0 + 100_ms);
  CHECK(sent.stray == 0);  // all padding is the cluster's
  const DataSize probe_bytes = sent.bytes;
  const int probe_packets = sent.packets;
  const Timestamp last = sent.last;
  MESSAGE("probe: " << probe_packets << " packets, " << probe_bytes.bytes() << " bytes over "
                    << (last - t0).ms() << " ms");
  CHECK(probe_packets >= 5);
  CHECK(probe_bytes >= probe.min_bytes());
  // Bytes before the last packet over the elapsed time: about the probe rate.
  const DataRate rate = (probe_bytes - 1000_bytes) / (last - t0);
  CHECK(rate.kbps_f() == doctest::Approx(4000).epsilon(0.3));
}

TEST_CASE("Pacer sizes a slow probe cluster's padding by its own bytes, not by the padding floor") {
  // Ramp-up, ALR and recovery clusters run at a small multiple of a measured estimate: on a slow
  // link their bytes beyond what the rate asks for are only a queue that the call's audio waits in.
  // One cluster at `rate` for 15 ms, 5 packets, nothing queued: the padding bytes it asks for.
  auto cluster_bytes = [](DataRate rate, bool start_up = false) {
    Pacer pacer;
    pacer.set_pacing_rates(100_kbps, DataRate::Zero());
    ProbeClusterConfig probe;
    probe.id = 3;
    probe.target_rate = rate;
    probe.start_up = start_up;
    pacer.create_probe_cluster(probe);
    const ProbeSent sent = drive_probe(pacer, 3, Timestamp::Seconds(1), Timestamp::Seconds(2));
    const DataSize bytes = sent.bytes;
    const int bursts = sent.padding;
    CHECK(bursts >= 5);
    return bytes;
  };
  // 900 kbps x 15 ms = 1688 bytes: five bursts of 337, not of the 1000-byte floor.
  const DataSize slow = cluster_bytes(900_kbps);
  CHECK(slow >= 900_kbps * 15_ms);
  CHECK(slow.bytes() <= 1700);
  // 4 Mbps x 15 ms = 7500 bytes: the floor holds (each burst 1000 bytes, at least the 2 ms burst).
  const DataSize fast = cluster_bytes(4_mbps);
  CHECK(fast >= 4_mbps * 15_ms);
  CHECK(fast.bytes() <= 8000);
  // In between, 2 Mbps (3750 bytes): five bursts of 750.
  CHECK(cluster_bytes(2_mbps).bytes() <= 3800);
  // The start-up round keeps the floor: five bursts of 1000 bytes at 900 kbps.
  CHECK(cluster_bytes(900_kbps, true).bytes() >= 5000);
}

TEST_CASE("Pacer pads at the padding rate when the queue is empty") {
  Pacer pacer;
  pacer.set_pacing_rates(1_mbps, 200_kbps);
  const Timestamp t0 = Timestamp::Seconds(1);
  Timestamp now = t0;
  (void)pacer.process(now);
  DataSize padding = DataSize::Zero();
  for (int guard = 0; guard < 10000; ++guard) {
    const auto next = pacer.next_send_time();
    REQUIRE(next);
    if (*next > t0 + 1_s) break;
    now = max(now, *next);
    for (const auto& p : pacer.process(now).padding) padding += p.size;
  }
  MESSAGE("padding in 1 s at 200 kbps: " << padding.bytes() << " bytes");
  CHECK(padding.bytes() == doctest::Approx(25000).epsilon(0.05));
  Pacer idle;
  CHECK_FALSE(idle.next_send_time());
}

TEST_CASE("Pacer hands each packet's payload back when it is sent or dropped") {
  Pacer::Config c;
  c.max_queue_packets = 2;
  Pacer pacer(c);
  const Timestamp t0 = Timestamp::Seconds(1);
  auto with_payload = [](uint64_t id, PacketPriority prio, std::string s) {
    PacedPacket p = packet(id, 100_bytes, prio);
    p.payload = std::move(s);
    return p;
  };
  CHECK(!pacer.enqueue(with_payload(1, PacketPriority::kVideo, "first"), t0).has_value());
  CHECK(!pacer.enqueue(with_payload(2, PacketPriority::kFec, "fec"), t0).has_value());
  // Full: the audio packet evicts the FEC one, which comes back with its payload.
  const std::optional<PacedPacket> dropped = pacer.enqueue(with_payload(3, PacketPriority::kAudio, "audio"), t0);
  REQUIRE(dropped.has_value());
  REQUIRE(std::any_cast<std::string>(&dropped->payload) != nullptr);
  CHECK(std::any_cast<std::string>(dropped->payload) == "fec");
  Timestamp now = t0;
  const auto sent = drive(pacer, now, t0 + 1_s);
  REQUIRE(sent.size() == 2);
  CHECK(std::any_cast<std::string>(sent[0].second.payload) == "audio");
  CHECK(std::any_cast<std::string>(sent[1].second.payload) == "first");
}

namespace {
// A 2 Mbps cluster of `duration` started at 1 s with `packets` 1000-byte media packets queued and a
// 5 Mbps pacing rate; what the pacer sends within 500 ms.
std::vector<std::pair<Timestamp, PacedPacket>> cluster_beside_media(int id, TimeDelta duration, uint64_t packets) {
  Pacer pacer;
  pacer.set_pacing_rates(5_mbps, DataRate::Zero());
  ProbeClusterConfig probe;
  probe.id = id;
  probe.target_rate = 2_mbps;
  probe.target_duration = duration;
  const Timestamp t0 = Timestamp::Seconds(1);
  pacer.create_probe_cluster(probe);
  for (uint64_t i = 0; i < packets; ++i) (void)pacer.enqueue(packet(i, 1000_bytes), t0);
  Timestamp now = t0;
  return drive(pacer, now, t0 + 500_ms);
}
}  // namespace

TEST_CASE("Pacer sends the media queued during a long probe cluster inside the cluster, at its rate") {
  // Media at a high pacing rate beside a long cluster would share the bottleneck with the
  // cluster's packets, which would then measure only their share of it: while a cluster of at
  // least carry_media_from (50 ms) is under way every packet goes out as part of it.
  const auto sent = cluster_beside_media(3, 100_ms, 40);  // 25000 bytes of cluster
  REQUIRE(sent.size() == 40);
  // The first 25 packets (the cluster's bytes) are the cluster's, at 2 Mbps (4 ms a packet), not
  // at the 5 Mbps pacing rate; the rest follow at the pacing rate.
  for (size_t i = 0; i < 25; ++i) CHECK(sent[i].second.probe_cluster_id == 3);
  const TimeDelta cluster_span = sent[24].first - sent[0].first;
  MESSAGE("25 cluster packets over " << cluster_span.ms() << " ms");
  CHECK(cluster_span >= 90_ms);
  CHECK(cluster_span <= 100_ms);
  for (size_t i = 25; i < 40; ++i) CHECK(sent[i].second.probe_cluster_id == kNotAProbe);
}

TEST_CASE("Pacer leaves media beside a short probe cluster at the pacing rate") {
  const auto sent = cluster_beside_media(4, 15_ms, 20);  // 3750 bytes of cluster
  REQUIRE(sent.size() == 20);
  int in_cluster = 0;
  for (const auto& [at, p] : sent) in_cluster += p.probe_cluster_id == 4 ? 1 : 0;
  // The cluster takes a few packets at its slots; the rest leave at 5 Mbps (1.6 ms a packet),
  // not 2 Mbps: all 20 within ~35 ms rather than 80.
  CHECK(in_cluster >= 4);
  CHECK(in_cluster < 20);
  CHECK(sent.back().first - Timestamp::Seconds(1) <= 40_ms);
}
