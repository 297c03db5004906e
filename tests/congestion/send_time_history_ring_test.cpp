// SendTimeHistory on its SeqRing against the std::map version it replaced (tests/support/
// map_histories.h): seeded random sends (wrap, resent numbers, reordering) and feedback (received,
// lost, duplicated, unknown; with and without report()'s at-most-once rule) give the same results,
// sizes and data in flight.
#include <doctest/doctest.h>

#include <cstdint>

#include "support/map_histories.h"
#include "tern/congestion/send_time_history.h"
#include "tern/core/random.h"

using namespace tern;
using namespace tern::congestion;

TEST_CASE("send time history ring: same results as the std::map version on random sends and feedback") {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    CAPTURE(seed);
    Random rng(seed);
    SendTimeHistory::Config cfg;
    cfg.max_packets = seed % 2 ? 50 : 500;
    cfg.max_age = TimeDelta::Millis(seed % 3 == 0 ? 100 : 2000);
    SendTimeHistory ring(cfg);
    test::map_model::SendTimeHistory model(cfg);
    auto next = static_cast<uint16_t>(65536 - 2000 + rng.uniform_int(0, 1000));
    Timestamp t = Timestamp::Seconds(3);
    for (int step = 0; step < 4000; ++step) {
      t += TimeDelta::Micros(rng.uniform_int(0, 3000));
      uint16_t seq = next;
      if (rng.bernoulli(0.05)) {
        seq = static_cast<uint16_t>(next - rng.uniform_int(1, 5));  // resent or reordered
      } else {
        ++next;
      }
      const DataSize size = DataSize::Bytes(rng.uniform_int(50, 1200));
      const int probe = rng.bernoulli(0.1) ? 7 : kNotAProbe;
      const bool audio = rng.bernoulli(0.3);
      const SentPacketInfo a = ring.on_sent(seq, t, size, probe, audio);
      const SentPacketInfo b = model.on_sent(seq, t, size, probe, audio);
      REQUIRE(a.sequence_number == b.sequence_number);
      REQUIRE(ring.size() == model.size());
      REQUIRE(ring.data_in_flight() == model.data_in_flight());
      if (rng.bernoulli(0.2)) {
        // A report over a random recent range; some entries lost, some twice, some long gone.
        const auto first = static_cast<uint16_t>(next - rng.uniform_int(0, static_cast<int64_t>(cfg.max_packets) * 2));
        const auto count = static_cast<uint16_t>(rng.uniform_int(1, 40));
        for (uint16_t i = 0; i < count; ++i) {
          const auto s = static_cast<uint16_t>(first + i);
          const Timestamp rx = rng.bernoulli(0.1) ? Timestamp::PlusInfinity() : t + TimeDelta::Millis(rng.uniform_int(1, 50));
          // Both forms: the plain lookup, and report()'s at-most-once rule (the adapter's).
          const bool once = rng.bernoulli(0.5);
          const auto ra = once ? ring.report(s, rx) : ring.on_feedback(s, rx);
          const auto rb = once ? model.report(s, rx) : model.on_feedback(s, rx);
          REQUIRE(ra.has_value() == rb.has_value());
          if (ra) {
            CHECK(ra->sent.sequence_number == rb->sent.sequence_number);
            CHECK(ra->sent.send_time == rb->sent.send_time);
            CHECK(ra->sent.size == rb->sent.size);
            CHECK(ra->sent.probe_cluster_id == rb->sent.probe_cluster_id);
            CHECK(ra->sent.audio == rb->sent.audio);
            CHECK(ra->receive_time == rb->receive_time);
            CHECK(ra->late == rb->late);
          }
        }
        if (rng.bernoulli(0.7)) {
          ring.clear_in_flight_up_to(static_cast<uint16_t>(first + count - 1));
          model.clear_in_flight_up_to(static_cast<uint16_t>(first + count - 1));
        }
        REQUIRE(ring.data_in_flight() == model.data_in_flight());
      }
    }
    CHECK(ring.size() > 0);
  }
}

TEST_CASE("send time history ring: memory follows the packets held, not the bound") {
  SendTimeHistory h;  // an endpoint's defaults: 60 s or 32768 packets
  const Timestamp t0 = Timestamp::Seconds(1);
  for (int i = 0; i < 100; ++i) (void)h.on_sent(static_cast<uint16_t>(i), t0 + TimeDelta::Millis(i), DataSize::Bytes(100));
  CHECK(h.size() == 100);
  CHECK(h.capacity() == 128);
  // A forwarder's bound: 3 s at 200 packets/s holds ~600 packets, never more slots than 1024.
  SendTimeHistory::Config c;
  c.max_age = TimeDelta::Seconds(3);
  SendTimeHistory f(c);
  for (int i = 0; i < 4000; ++i) (void)f.on_sent(static_cast<uint16_t>(i), t0 + TimeDelta::Millis(5 * i), DataSize::Bytes(100));
  CHECK(f.size() == 601);
  CHECK(f.capacity() == 1024);
}
