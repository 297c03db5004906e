// Tests of the NACK generator: gap detection across wraparound, RTT-spaced retries, the retry and
// age limits, recovery, keyframe clearing, the list cap, and the RTCP Generic NACK it feeds.
#include "tern/recovery/nack_generator.h"

#include <doctest/doctest.h>

#include <set>
#include <vector>

#include "tern/core/random.h"
#include "tern/rtp/rtcp/rtcp_packet.h"

using namespace tern;
using namespace tern::recovery;

namespace {
const Timestamp kT0 = Timestamp::Seconds(1000);
using Seqs = std::vector<uint16_t>;
}  // namespace

TEST_CASE("nack generator asks for a gap at once and across wraparound") {
  NackGenerator nack;
  nack.on_packet(65533, false, false, kT0);
  CHECK(nack.process(kT0).empty());
  nack.on_packet(1, false, false, kT0);  // 65534, 65535, 0 missing
  CHECK(nack.size() == 3);
  CHECK(nack.next_wakeup() == kT0);
  CHECK(nack.process(kT0) == Seqs{65534, 65535, 0});
  CHECK(nack.process(kT0 + TimeDelta::Millis(1)).empty());
  CHECK(nack.stats().nacks_sent == 1);
  CHECK(nack.stats().packets_requested == 3);
}

TEST_CASE("nack generator finds gaps before the first packet when the start is reordered") {
  NackGenerator nack;
  nack.on_packet(108, false, false, kT0);  // 100..107 sent earlier but overtaken
  nack.on_packet(103, false, false, kT0);
  nack.on_packet(100, false, false, kT0);
  nack.on_packet(101, false, false, kT0);
  CHECK(nack.process(kT0) == Seqs{102, 104, 105, 106, 107});
}

TEST_CASE("nack generator spaces retries by rtt and stops at the retry limit") {
  NackGeneratorConfig config;
  config.max_retries = 3;
  config.retry_rtt_factor = 1.0;
  NackGenerator nack(config);
  nack.on_rtt(TimeDelta::Millis(50));
  nack.on_packet(10, false, false, kT0);
  nack.on_packet(12, false, false, kT0);
  CHECK(nack.process(kT0) == Seqs{11});
  CHECK(nack.next_wakeup() == kT0 + TimeDelta::Millis(50));
  CHECK(nack.process(kT0 + TimeDelta::Millis(49)).empty());
  CHECK(nack.process(kT0 + TimeDelta::Millis(50)) == Seqs{11});
  CHECK(nack.process(kT0 + TimeDelta::Millis(100)) == Seqs{11});
  CHECK(nack.process(kT0 + TimeDelta::Millis(150)).empty());  // 3 sends: given up
  CHECK(nack.size() == 0);
  CHECK(nack.stats().retries == 2);
  CHECK(nack.stats().packets_abandoned == 1);
  CHECK_FALSE(nack.next_wakeup().has_value());
}

TEST_CASE("nack generator forgets packets that arrive or are recovered") {
  NackGenerator nack;
  nack.on_packet(100, false, false, kT0);
  nack.on_packet(105, false, false, kT0);
  CHECK(nack.size() == 4);
  CHECK(nack.on_packet(101, false, false, kT0).was_missing);
  CHECK(nack.on_packet(103, false, true, kT0).was_missing);   // FEC or RTX
  CHECK_FALSE(nack.on_packet(103, false, true, kT0).was_missing);  // duplicate
  CHECK(nack.process(kT0) == Seqs{102, 104});
  CHECK(nack.stats().packets_recovered == 2);
  CHECK(nack.stats().packets_recovered_by_rtx_or_fec == 1);
}

TEST_CASE("nack generator gives up on packets older than max age") {
  NackGeneratorConfig config;
  config.max_age = TimeDelta::Millis(300);
  NackGenerator nack(config);
  nack.on_rtt(TimeDelta::Millis(200));
  nack.on_packet(1, false, false, kT0);
  nack.on_packet(3, false, false, kT0);
  CHECK(nack.process(kT0) == Seqs{2});
  CHECK(nack.process(kT0 + TimeDelta::Millis(250)) == Seqs{2});
  CHECK(nack.process(kT0 + TimeDelta::Millis(301)).empty());
  CHECK(nack.size() == 0);
}

TEST_CASE("nack generator clears requests before a keyframe") {
  NackGenerator nack;
  nack.on_packet(0, false, false, kT0);
  nack.on_packet(10, false, false, kT0);
  nack.on_packet(20, true, false, kT0);  // keyframe starts at 20
  CHECK(nack.size() == 18);
  nack.clear_up_to(15);
  CHECK(nack.process(kT0) == Seqs{15, 16, 17, 18, 19});
}

TEST_CASE("nack generator caps its list and asks for a keyframe on overflow") {
  NackGeneratorConfig config;
  config.max_list_size = 50;
  NackGenerator nack(config);
  nack.on_packet(0, false, false, kT0);
  CHECK_FALSE(nack.on_packet(41, false, false, kT0).keyframe_needed);
  CHECK(nack.size() == 40);
  nack.on_packet(42, true, false, kT0);  // keyframe: what is before it may go
  auto r = nack.on_packet(60, false, false, kT0);
  CHECK_FALSE(r.keyframe_needed);
  CHECK(nack.size() == 17);  // 43..59; the 40 before the keyframe were dropped to make room
  r = nack.on_packet(200, false, false, kT0);
  CHECK(r.keyframe_needed);
  CHECK(nack.size() == 0);
  CHECK(nack.stats().keyframe_requests == 1);
}

TEST_CASE("nack generator config validation") {
  CHECK(NackGenerator::Create({}).ok());
  NackGeneratorConfig bad;
  bad.max_list_size = 0;
  CHECK_FALSE(NackGenerator::Create(bad).ok());
  bad = {};
  bad.retry_rtt_factor = 0.5;
  CHECK_FALSE(NackGenerator::Create(bad).ok());
  bad = {};
  bad.max_packet_age = 40000;
  CHECK_FALSE(NackGenerator::Create(bad).ok());
}

TEST_CASE("nack generator output round-trips through an RTCP Generic NACK") {
  NackGenerator nack;
  nack.on_packet(65500, false, false, kT0);
  nack.on_packet(30, false, false, kT0);
  const Seqs lost = nack.process(kT0);
  REQUIRE(lost.size() == 65);
  const rtcp::Nack packet = NackGenerator::make_nack(1, 2, lost);
  const std::vector<rtcp::RtcpPacket> packets{packet};
  const auto bytes = rtcp::build_compound(packets);
  auto parsed = rtcp::parse_compound(bytes);
  REQUIRE(parsed.packets.size() == 1);
  const auto* back = std::get_if<rtcp::Nack>(&parsed.packets[0]);
  REQUIRE(back != nullptr);
  CHECK(back->lost == lost);
  CHECK(packet.item_count() == 4);  // 65 consecutive numbers pack into 4 PID/BLP entries
}

TEST_CASE("nack generator seeded random loss reorder and duplication stays bounded") {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    CAPTURE(seed);
    Random rng(seed);
    NackGeneratorConfig config;
    config.max_list_size = 200;
    NackGenerator nack(config);
    nack.on_rtt(TimeDelta::Millis(rng.uniform_int(5, 300)));
    uint16_t seq = static_cast<uint16_t>(rng.next_u32());
    Timestamp now = kT0;
    std::set<uint16_t> received;
    for (int i = 0; i < 20000; ++i) {
      now += TimeDelta::Micros(rng.uniform_int(0, 3000));
      const int step = rng.bernoulli(0.01) ? static_cast<int>(rng.uniform_int(2, 400)) : 1;
      seq = static_cast<uint16_t>(seq + step);
      const uint16_t sent = rng.bernoulli(0.05) ? static_cast<uint16_t>(seq - rng.uniform_int(1, 50)) : seq;
      if (rng.bernoulli(0.1)) continue;  // lost
      nack.on_packet(sent, rng.bernoulli(0.01), rng.bernoulli(0.02), now);
      if (rng.bernoulli(0.02)) nack.on_packet(sent, false, false, now);  // duplicate
      CHECK(nack.size() <= config.max_list_size);
      if (i % 7 == 0) {
        for (uint16_t s : nack.process(now)) CHECK(s != sent);
        if (auto w = nack.next_wakeup()) CHECK(*w > now);
      }
    }
  }
}
