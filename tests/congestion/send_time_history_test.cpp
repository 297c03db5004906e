#include "tern/congestion/send_time_history.h"

#include <doctest/doctest.h>

#include <cstdint>

using namespace tern;
using namespace tern::congestion;
using namespace tern::unit_literals;

TEST_CASE("SendTimeHistory matches feedback and tracks data in flight") {
  SendTimeHistory h;
  const Timestamp t0 = Timestamp::Seconds(10);
  for (uint16_t i = 0; i < 10; ++i) {
    (void)h.on_sent(static_cast<uint16_t>(100 + i), t0 + TimeDelta::Millis(i), 1000_bytes);
  }
  CHECK(h.data_in_flight() == 10000_bytes);
  auto r = h.on_feedback(103, t0 + 50_ms);
  REQUIRE(r);
  CHECK(r->sent.send_time == t0 + 3_ms);
  CHECK(r->receive_time == t0 + 50_ms);
  CHECK(r->is_received());
  CHECK(h.data_in_flight() == 9000_bytes);
  auto lost = h.on_feedback(104, Timestamp::PlusInfinity());
  REQUIRE(lost);
  CHECK_FALSE(lost->is_received());
  CHECK(h.data_in_flight() == 8000_bytes);
  // A late "received" after "lost" updates the result but not the in-flight count again.
  auto late = h.on_feedback(104, t0 + 60_ms);
  REQUIRE(late);
  CHECK(late->is_received());
  CHECK(h.data_in_flight() == 8000_bytes);
  CHECK_FALSE(h.on_feedback(5000, t0));  // never sent
}

TEST_CASE("SendTimeHistory unwraps sequence numbers across 65535") {
  SendTimeHistory h;
  const Timestamp t0 = Timestamp::Seconds(1);
  int64_t prev = -1;
  for (int i = 0; i < 20; ++i) {
    const uint16_t seq = static_cast<uint16_t>(65530 + i);
    const SentPacketInfo info = h.on_sent(seq, t0 + TimeDelta::Millis(i), 100_bytes, 3, i % 2 == 0);
    if (prev >= 0) CHECK(info.sequence_number == prev + 1);
    prev = info.sequence_number;
  }
  auto r = h.on_feedback(2, t0 + 30_ms);  // wrapped
  REQUIRE(r);
  CHECK(r->sent.send_time == t0 + 8_ms);
  CHECK(r->sent.probe_cluster_id == 3);
  CHECK(r->sent.audio);
}

TEST_CASE("SendTimeHistory is bounded by count and age") {
  SendTimeHistory::Config cfg;
  cfg.max_packets = 100;
  cfg.max_age = 1_s;
  SendTimeHistory h(cfg);
  const Timestamp t0 = Timestamp::Seconds(1);
  for (int i = 0; i < 1000; ++i) {
    (void)h.on_sent(static_cast<uint16_t>(i), t0 + TimeDelta::Micros(100 * i), 10_bytes);
  }
  CHECK(h.size() == 100);
  CHECK(h.data_in_flight() == 1000_bytes);  // pruned unreported packets leave the in-flight sum
  CHECK_FALSE(h.on_feedback(0, t0));
  CHECK(h.on_feedback(999, t0));
  (void)h.on_sent(1000, t0 + 5_s, 10_bytes);
  CHECK(h.size() == 1);  // everything else aged out
  CHECK(h.data_in_flight() == 10_bytes);
}
