// Pacer progress: whenever next_send_time() says "now", process(now) must make progress (send,
// or move the next send time forward). Regression: near the queue-time limit the boosted rate made
// the debt's drain time round to zero, so a driver called process() at the same instant forever.
#include <doctest/doctest.h>

#include <algorithm>

#include "tern/congestion/pacer.h"
#include "tern/core/random.h"

using namespace tern;
using namespace tern::congestion;
using namespace tern::unit_literals;

namespace {

// Calls process() at next_send_time() until the queue is empty or `max_calls`; returns the largest
// number of consecutive calls at one instant that released nothing.
int max_idle_calls_at_one_instant(Pacer& pacer, Timestamp now, int max_calls) {
  int idle = 0, worst = 0;
  Timestamp last = Timestamp::MinusInfinity();
  for (int i = 0; i < max_calls && pacer.queue_packets() > 0; ++i) {
    const auto next = pacer.next_send_time();
    REQUIRE(next.has_value());
    now = max(now, *next);
    const PacerOutput out = pacer.process(now);
    if (out.packets.empty() && out.padding.empty() && now == last) {
      ++idle;
    } else {
      idle = 0;
    }
    worst = std::max(worst, idle);
    last = now;
  }
  return worst;
}

}  // namespace

TEST_CASE("Pacer makes progress at a queue-time-limit boosted rate") {
  Pacer::Config cfg;
  cfg.queue_time_limit = 2_s;
  Pacer pacer(cfg);
  pacer.set_pacing_rates(30_kbps, DataRate::Zero());
  const Timestamp t0 = Timestamp::Seconds(10);
  for (uint64_t i = 0; i < 3; ++i) (void)pacer.enqueue(PacedPacket{i, 1200_bytes, PacketPriority::kVideo}, t0);
  // Send one packet to put the pacer in debt, then let the rest wait almost the whole limit.
  (void)pacer.process(t0);
  const Timestamp late = t0 + 2_s - 1_ms;
  CHECK(pacer.current_pacing_rate(late) > 1_mbps);
  CHECK(max_idle_calls_at_one_instant(pacer, late, 10000) <= 1);
  CHECK(pacer.queue_packets() == 0);
}

TEST_CASE("Pacer makes progress for random sizes rates and waits") {
  Random rng(7);
  for (int round = 0; round < 200; ++round) {
    Pacer::Config cfg;
    cfg.queue_time_limit = TimeDelta::Millis(rng.uniform_int(50, 3000));
    Pacer pacer(cfg);
    pacer.set_pacing_rates(DataRate::KilobitsPerSec(rng.uniform_int(10, 5000)),
                           round % 2 == 0 ? DataRate::Zero() : DataRate::KilobitsPerSec(rng.uniform_int(1, 500)));
    Timestamp now = Timestamp::Seconds(1);
    const int64_t n = rng.uniform_int(1, 20);
    for (int64_t i = 0; i < n; ++i) {
      (void)pacer.enqueue(PacedPacket{static_cast<uint64_t>(i), DataSize::Bytes(rng.uniform_int(1, 1500)),
                                      static_cast<PacketPriority>(rng.uniform_int(0, 3))},
                          now);
    }
    (void)pacer.process(now);
    now = now + TimeDelta::Millis(rng.uniform_int(0, 3000));
    CHECK(max_idle_calls_at_one_instant(pacer, now, 100000) <= 1);
    CHECK(pacer.queue_packets() == 0);
  }
}
