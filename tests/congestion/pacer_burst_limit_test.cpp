// The pacer's burst limit (Pacer::set_link_rate): media runs ahead of the link rate by at most
// Config::max_burst; audio is never held by it.
#include "tern/congestion/pacer.h"

#include <doctest/doctest.h>

#include <utility>
#include <vector>

using namespace tern;
using namespace tern::congestion;
using namespace tern::unit_literals;

namespace {

// Drives the pacer at its next_send_time until `end`; returns (send time, packet id) in order.
std::vector<std::pair<Timestamp, uint64_t>> BurstLimitDrive(Pacer& pacer, Timestamp now, Timestamp end) {
  std::vector<std::pair<Timestamp, uint64_t>> sent;
  for (int guard = 0; guard < 100000; ++guard) {
    const auto next = pacer.next_send_time();
    if (!next || *next > end) break;
    now = max(now, *next);
    for (const PacedPacket& p : pacer.process(now).packets) sent.emplace_back(now, p.id);
  }
  return sent;
}

// A 6 kB video frame (five 1200-byte packets) at t0 into a pacer pacing at 2.5 x 200 kbps.
Pacer BurstLimitPacer(bool limited, Timestamp t0) {
  Pacer::Config c;
  c.max_burst = TimeDelta::Millis(40);
  Pacer pacer(c);
  pacer.set_pacing_rates(500_kbps, DataRate::Zero());
  if (limited) pacer.set_link_rate(200_kbps);
  for (uint64_t i = 0; i < 5; ++i) (void)pacer.enqueue(PacedPacket{i, 1200_bytes, PacketPriority::kVideo}, t0);
  return pacer;
}

}  // namespace

TEST_CASE("Pacer burst limit: a frame beyond the burst leaves at the link rate, not the pacing rate") {
  const Timestamp t0 = Timestamp::Seconds(1);
  Pacer free_pacer = BurstLimitPacer(false, t0);
  const auto free_sent = BurstLimitDrive(free_pacer, t0, t0 + 2_s);
  Pacer limited = BurstLimitPacer(true, t0);
  const auto limited_sent = BurstLimitDrive(limited, t0, t0 + 2_s);
  REQUIRE(free_sent.size() == 5);
  REQUIRE(limited_sent.size() == 5);
  // Unlimited: 4 x 1200 bytes after the first at 500 kbps = 76.8 ms.
  CHECK(free_sent.back().first - t0 == TimeDelta::Micros(76800));
  // Limited: the bucket holds 40 ms at 200 kbps (1000 bytes): after the first two packets each
  // waits until the bucket is back under it, so the rest leaves at 200 kbps (48 ms a packet):
  // 19.2 ms (pacing), 56 ms, 104 ms, 152 ms.
  const TimeDelta span = limited_sent.back().first - t0;
  CHECK(span >= TimeDelta::Millis(145));
  CHECK(span <= TimeDelta::Millis(160));
  CHECK(limited.link_debt() <= 2200_bytes);
}

TEST_CASE("Pacer burst limit never holds audio, and counts it") {
  const Timestamp t0 = Timestamp::Seconds(1);
  Pacer::Config c;
  c.max_burst = TimeDelta::Millis(40);
  Pacer pacer(c);
  pacer.set_pacing_rates(10_mbps, DataRate::Zero());  // the pacing debt is gone within 1 ms
  pacer.set_link_rate(200_kbps);                      // the burst: 1000 bytes
  for (uint64_t i = 0; i < 3; ++i) (void)pacer.enqueue(PacedPacket{i, 1200_bytes, PacketPriority::kVideo}, t0);
  REQUIRE(pacer.process(t0).packets.size() == 1);  // over the burst after one packet
  const Timestamp t1 = t0 + TimeDelta::Millis(2);
  CHECK(pacer.process(t1).packets.empty());  // video waits for the bucket (until t0 + 8 ms)
  (void)pacer.enqueue(PacedPacket{100, 100_bytes, PacketPriority::kAudio}, t1);
  const PacerOutput out = pacer.process(t1);
  REQUIRE(out.packets.size() == 1);
  CHECK(out.packets.front().id == 100);  // audio leaves at once
  const DataSize debt = pacer.link_debt();
  CHECK(debt > 1200_bytes);  // ... and is counted: 1200 - 50 (2 ms at 200 kbps) + 100
  const auto rest = BurstLimitDrive(pacer, t1, t0 + 1_s);
  REQUIRE(rest.size() == 2);
  // The bucket is back at 1000 bytes after (debt - 1000) at 200 kbps.
  CHECK(rest.front().first >= t1 + (debt - 1000_bytes) / 200_kbps);
}

TEST_CASE("Pacer burst limit: a frame within the burst is not slowed, and the queue-time limit lifts it") {
  const Timestamp t0 = Timestamp::Seconds(1);
  Pacer::Config c;
  c.max_burst = TimeDelta::Millis(40);
  c.queue_time_limit = TimeDelta::Millis(300);
  Pacer pacer(c);
  pacer.set_pacing_rates(5_mbps, DataRate::Zero());
  pacer.set_link_rate(2_mbps);  // burst: 10 kB
  for (uint64_t i = 0; i < 8; ++i) (void)pacer.enqueue(PacedPacket{i, 1200_bytes, PacketPriority::kVideo}, t0);
  auto sent = BurstLimitDrive(pacer, t0, t0 + 1_s);
  REQUIRE(sent.size() == 8);
  CHECK(sent.back().first - t0 <= TimeDelta::Millis(16));  // 7 x 1200 bytes at 5 Mbps = 13.4 ms

  // 60 kB at a 100 kbps link would take 4.8 s; the queue-time limit has it out in ~300 ms.
  Pacer slow(c);
  slow.set_pacing_rates(250_kbps, DataRate::Zero());
  slow.set_link_rate(100_kbps);
  for (uint64_t i = 0; i < 50; ++i) (void)slow.enqueue(PacedPacket{i, 1200_bytes, PacketPriority::kVideo}, t0);
  sent = BurstLimitDrive(slow, t0, t0 + 2_s);
  REQUIRE(sent.size() == 50);
  CHECK(sent.back().first - t0 <= TimeDelta::Millis(400));
}
