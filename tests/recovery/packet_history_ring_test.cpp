// PacketHistory on its SeqRing against the std::map version it replaced (tests/support/
// map_histories.h): seeded random sequences with wrap, loss gaps, reordering and duplicates give the
// same packets, lookups, RTX packets and counters.
#include <doctest/doctest.h>

#include <vector>

#include "recovery_test_util.h"
#include "support/map_histories.h"
#include "tern/recovery/packet_history.h"

using namespace tern;
using namespace tern::recovery;
using tern::recovery::test::random_packet;
using tern::recovery::test::same_bytes;

namespace {

constexpr uint32_t kRingMediaSsrc = 0x1111, kRingRtxSsrc = 0x2222;

PacketHistory::Config config(size_t max_packets, TimeDelta max_age) {
  PacketHistory::Config c;
  c.max_packets = max_packets;
  c.max_age = max_age;
  c.rtx_ssrc = kRingRtxSsrc;
  c.rtx_payload_type = 97;
  c.rtx_pt_for_media_pt = {{96, 97}, {100, 101}};
  c.first_rtx_sequence_number = 65000;
  c.retransmission_rate = DataRate::KilobitsPerSec(400);
  return c;
}

}  // namespace

TEST_CASE("packet history ring: same results as the std::map version on random streams (wrap, gaps, reorder, duplicates)") {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    CAPTURE(seed);
    Random rng(seed);
    const size_t max_packets = seed % 2 ? 16 : 100;
    const auto cfg = config(max_packets, TimeDelta::Millis(seed % 3 == 0 ? 150 : 1000));
    auto ring = PacketHistory::Create(cfg);
    REQUIRE(ring.ok());
    tern::test::map_model::PacketHistory model(cfg);
    auto next = static_cast<uint16_t>(65536 - 700 + rng.uniform_int(0, 400));  // wraps within the run
    Timestamp t = Timestamp::Seconds(5);
    std::vector<uint16_t> recent;
    for (int step = 0; step < 1500; ++step) {
      t += TimeDelta::Millis(rng.uniform_int(0, 8));
      // The next number: mostly +1, a lost one now and then (steps of at most 2 keep the live
      // numbers within the ring's span of 2 x max_packets), an earlier one again (duplicate or
      // reordered), rarely one a few behind.
      uint16_t seq = next;
      const double r = rng.uniform();
      if (r < 0.15) {
        seq = static_cast<uint16_t>(next + 1);
        next = static_cast<uint16_t>(next + 2);
      } else if (r < 0.22 && !recent.empty()) {
        seq = recent[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(recent.size()) - 1))];
      } else {
        next = static_cast<uint16_t>(next + 1);
      }
      auto packet = random_packet(rng, seq, static_cast<uint32_t>(step), kRingMediaSsrc, rng.bernoulli(0.5) ? 96 : 100, 300);
      if (rng.bernoulli(0.5)) {
        ring->put(packet, t);  // the copying form
      } else {
        ring->put(rtp::RtpPacket(packet), t);
      }
      model.put(packet, t);
      recent.push_back(seq);
      if (recent.size() > 8) recent.erase(recent.begin());
      REQUIRE(ring->size() == model.size());
      if (rng.bernoulli(0.1)) {
        std::vector<uint16_t> nack;
        for (int i = 0, n = static_cast<int>(rng.uniform_int(1, 6)); i < n; ++i) {
          nack.push_back(static_cast<uint16_t>(next - rng.uniform_int(0, static_cast<int64_t>(max_packets) * 3)));
        }
        const Timestamp at = t + TimeDelta::Millis(rng.uniform_int(0, 300));
        const TimeDelta rtt = TimeDelta::Millis(rng.uniform_int(5, 60));
        const auto got = ring->on_nack(nack, at, rtt);
        const auto want = model.on_nack(nack, at, rtt);
        REQUIRE(got.size() == want.size());
        for (size_t i = 0; i < got.size(); ++i) CHECK(same_bytes(got[i], want[i]));
        REQUIRE(ring->size() == model.size());
        t = at;
      }
      for (int back = 0; back < static_cast<int>(max_packets) * 3; back += 7) {
        const auto probe = static_cast<uint16_t>(next - back);
        const rtp::RtpPacket* a = ring->get(probe);
        const rtp::RtpPacket* b = model.get(probe);
        REQUIRE((a == nullptr) == (b == nullptr));
        if (a != nullptr) CHECK(same_bytes(*a, *b));
      }
    }
    const auto& s = ring->stats();
    const auto& m = model.stats();
    CHECK(s.nacked_sequence_numbers == m.nacked_sequence_numbers);
    CHECK(s.retransmitted_packets_sent == m.retransmitted_packets_sent);
    CHECK(s.retransmitted_bytes_sent == m.retransmitted_bytes_sent);
    CHECK(s.refused_too_soon == m.refused_too_soon);
    CHECK(s.refused_rate_limit == m.refused_rate_limit);
    CHECK(s.not_found == m.not_found);
    CHECK(s.retransmitted_packets_sent > 0);
    CHECK(s.not_found > 0);
  }
}

TEST_CASE("packet history ring: span limit, slots follow the span held, a put replaces and resets") {
  auto h = PacketHistory::Create(config(16, TimeDelta::Seconds(10)));  // span: 32 numbers
  REQUIRE(h.ok());
  Random rng(9);
  const Timestamp t = Timestamp::Seconds(1);
  for (uint16_t s = 0; s < 4; ++s) h->put(random_packet(rng, s, 0, kRingMediaSsrc, 96, 50), t);
  CHECK(h->capacity() <= 16);
  // 40 numbers ahead: 0..3 fall out of the 32-number span though the count (5) is far below 16.
  h->put(random_packet(rng, 43, 0, kRingMediaSsrc, 96, 50), t);
  CHECK(h->size() == 1);
  CHECK(h->get(3) == nullptr);
  CHECK(h->capacity() <= 32);
  // Put late, more than the span behind the newest: not kept. Within the span: kept.
  h->put(random_packet(rng, 11, 0, kRingMediaSsrc, 96, 50), t);
  CHECK(h->get(11) == nullptr);
  h->put(random_packet(rng, 12, 0, kRingMediaSsrc, 96, 50), t);
  CHECK(h->get(12) != nullptr);
  CHECK(h->size() == 2);
  // The same number again replaces the packet and may be retransmitted at once.
  const uint16_t nack[] = {43};
  CHECK(h->on_nack(nack, t, TimeDelta::Millis(100)).size() == 1);
  auto again = random_packet(rng, 43, 7, kRingMediaSsrc, 100, 50);
  h->put(again, t);
  CHECK(same_bytes(*h->get(43), again));
  const auto out = h->on_nack(nack, t, TimeDelta::Millis(100));
  REQUIRE(out.size() == 1);
  CHECK(out[0].payload_type() == 101);
}

TEST_CASE("packet history ring: entries keep their packet and last retransmission when the slots grow") {
  auto h = PacketHistory::Create(config(512, TimeDelta::Seconds(10)));
  REQUIRE(h.ok());
  Random rng(21);
  const Timestamp t = Timestamp::Seconds(1);
  std::vector<rtp::RtpPacket> sent;
  for (uint16_t s = 0; s < 8; ++s) {
    sent.push_back(random_packet(rng, s, s, kRingMediaSsrc, 96, 80));
    h->put(sent.back(), t);
  }
  const size_t before = h->capacity();
  const uint16_t nack[] = {2, 5};
  CHECK(h->on_nack(nack, t, TimeDelta::Millis(100)).size() == 2);
  // Numbers ahead widen the span past the slots held: the ring grows (the entries move).
  for (uint16_t s = 8; s < 300; s = static_cast<uint16_t>(s + 3)) {
    sent.push_back(random_packet(rng, s, s, kRingMediaSsrc, 100, 80));
    h->put(sent.back(), t);
  }
  CHECK(h->capacity() > before);
  for (const rtp::RtpPacket& p : sent) {
    const rtp::RtpPacket* kept = h->get(p.sequence_number());
    REQUIRE(kept != nullptr);
    CHECK(same_bytes(*kept, p));
  }
  // 2 and 5 were retransmitted 10 ms ago: too soon again (guard 0.5 x 100 ms); 3 was not.
  const uint16_t again[] = {2, 3, 5};
  const auto out = h->on_nack(again, t + TimeDelta::Millis(10), TimeDelta::Millis(100));
  REQUIRE(out.size() == 1);
  CHECK(h->stats().refused_too_soon == 2);
}
