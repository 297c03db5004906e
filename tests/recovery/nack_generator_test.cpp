// Tests of the NACK generator: gap detection across wraparound, RTT-spaced retries, the retry and
// age limits, recovery counted by kind, keyframe clearing, the list cap, the RTCP Generic NACK it feeds,
// and seeded property tests of reordering learnt (no NACK) versus loss (NACKed within a bound).
#include "tern/recovery/nack_generator.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "tern/core/random.h"
#include "tern/rtp/rtcp/rtcp_packet.h"

using namespace tern;
using namespace tern::recovery;

namespace {
const Timestamp kT0 = Timestamp::Seconds(1000);
using Seqs = std::vector<uint16_t>;
constexpr PacketArrival kOrig = PacketArrival::kOriginal;
constexpr PacketArrival kRtx = PacketArrival::kRetransmission;
constexpr PacketArrival kFec = PacketArrival::kFecRecovery;
}  // namespace

TEST_CASE("nack generator asks for a gap at once and across wraparound") {
  NackGenerator nack;
  nack.on_packet(65533, false, kOrig, kT0);
  CHECK(nack.process(kT0).empty());
  nack.on_packet(1, false, kOrig, kT0);  // 65534, 65535, 0 missing
  CHECK(nack.size() == 3);
  CHECK(nack.next_wakeup() == kT0);
  CHECK(nack.process(kT0) == Seqs{65534, 65535, 0});
  CHECK(nack.process(kT0 + TimeDelta::Millis(1)).empty());
  CHECK(nack.stats().nacks_sent == 1);
  CHECK(nack.stats().packets_requested == 3);
}

TEST_CASE("nack generator forgets the numbers between two frames (FEC took them), only those, across wraparound") {
  NackGenerator nack;
  nack.on_packet(65530, false, kOrig, kT0);  // a frame's last packet
  nack.on_packet(2, false, kOrig, kT0);      // 65531..1 missing: 7 numbers
  CHECK(nack.size() == 7);
  nack.forget_between(65532, 2);  // 65532 ended a frame, 2 starts the next: 65533..1 are not media
  CHECK(nack.size() == 2);
  CHECK(nack.stats().packets_not_media == 5);
  CHECK(nack.process(kT0) == Seqs{65531, 65532});
  // Nothing strictly between adjacent or reversed numbers; an unknown range changes nothing.
  nack.forget_between(65531, 65532);
  nack.forget_between(2, 65531);
  CHECK(nack.size() == 2);
  // A forgotten number that arrives after all is neither a repair nor an error.
  nack.on_packet(65534, false, kOrig, kT0 + TimeDelta::Millis(5));
  CHECK(nack.size() == 2);
  CHECK(nack.stats().packets_recovered == 0);
  NackGenerator empty;
  empty.forget_between(1, 9);  // before any packet
  CHECK(empty.size() == 0);
}

TEST_CASE("nack generator: sequence numbers are read against the newest packet, so a received packet is never NACKed") {
  // 45636 is 20003 behind the newest (103); 20636 is 25000 behind 45636 but, against the newest,
  // 20533 ahead. Read against the previous packet (as before), the reference walked a whole cycle
  // back and 101, when it came, was not recognised: it stayed in the list and was NACKed although
  // received (found by fuzz/nack_generator_fuzz). Read against the newest, 20636 is a jump ahead
  // too large to repair (a keyframe is asked for) and 101 is simply old.
  NackGeneratorConfig config;
  config.learn_reordering = false;
  NackGenerator nack(config);
  nack.on_packet(100, false, kOrig, kT0);
  nack.on_packet(103, false, kOrig, kT0);  // 101, 102 missing
  CHECK(nack.size() == 2);
  CHECK_FALSE(nack.on_packet(45636, false, kOrig, kT0).keyframe_needed);
  CHECK(nack.size() == 2);
  CHECK(nack.on_packet(20636, false, kOrig, kT0).keyframe_needed);
  nack.on_packet(101, false, kOrig, kT0);
  const Seqs asked = nack.process(kT0);
  CHECK(std::find(asked.begin(), asked.end(), uint16_t{101}) == asked.end());
  nack.on_packet(20640, false, kOrig, kT0);  // the stream goes on from its new newest
  CHECK(nack.process(kT0) == Seqs{20637, 20638, 20639});
}

TEST_CASE("nack generator starts over behind a jump the stream never made") {
  // One packet numbered 5000 ahead of a stream at 300 (corrupt, or forged on an unauthenticated
  // path) left the newest there: every real packet after it was "old" and a real loss among them
  // was never NACKed until the stream caught up, ~5000 packets later.
  NackGeneratorConfig config;
  config.learn_reordering = false;
  NackGenerator nack(config);
  for (uint16_t q = 100; q < 300; ++q) nack.on_packet(q, false, kOrig, kT0);
  nack.on_packet(5300, false, kOrig, kT0);  // the jump: 5000 missing, more than the list holds
  (void)nack.process(kT0);
  for (uint16_t q = 300; q < 340; ++q) {
    if (q != 330) nack.on_packet(q, false, kOrig, kT0 + TimeDelta::Millis(q - 300));  // 330 is lost
  }
  CHECK(nack.stats().resyncs == 1);
  const Seqs asked = nack.process(kT0 + TimeDelta::Millis(100));
  CHECK(std::find(asked.begin(), asked.end(), uint16_t{330}) != asked.end());
  CHECK(std::all_of(asked.begin(), asked.end(), [](uint16_t q) { return q >= 316 && q < 340; }));
  // What counts: 16 packets in a row more than 2048 behind. A run of old copies is read as the
  // stream being there (indistinguishable from a jump ahead); old copies among new packets are not.
  NackGenerator run(config);
  for (uint16_t q = 0; q < 3000; ++q) run.on_packet(q, false, kOrig, kT0);
  for (uint16_t q = 0; q < 15; ++q) run.on_packet(q, false, kOrig, kT0);
  CHECK(run.stats().resyncs == 0);
  run.on_packet(15, false, kOrig, kT0);
  CHECK(run.stats().resyncs == 1);
  NackGenerator mixed(config);
  for (uint16_t q = 0; q < 3000; ++q) {
    mixed.on_packet(q, false, kOrig, kT0);
    if (q >= 2100 && q % 4 == 0) mixed.on_packet(static_cast<uint16_t>(q - 2100), false, kOrig, kT0);  // old copies among new ones
  }
  CHECK(mixed.stats().resyncs == 0);
}

TEST_CASE("nack generator finds gaps before the first packet when the start is reordered") {
  NackGeneratorConfig config;
  config.learn_reordering = false;  // 101 arriving late would teach a wait of 7 packets
  NackGenerator nack(config);
  nack.on_packet(108, false, kOrig, kT0);  // 100..107 sent earlier but overtaken
  nack.on_packet(103, false, kOrig, kT0);
  nack.on_packet(100, false, kOrig, kT0);
  nack.on_packet(101, false, kOrig, kT0);
  CHECK(nack.process(kT0) == Seqs{102, 104, 105, 106, 107});
}

TEST_CASE("nack generator spaces retries by rtt and stops at the retry limit") {
  NackGeneratorConfig config;
  config.max_retries = 3;
  config.retry_rtt_factor = 1.0;
  NackGenerator nack(config);
  nack.on_rtt(TimeDelta::Millis(50));
  nack.on_packet(10, false, kOrig, kT0);
  nack.on_packet(12, false, kOrig, kT0);
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

namespace {
// RTT 130 ms; 20 and 24 received at kT0, 21..23 asked for in one NACK at kT0.
NackGenerator nack_gen_three_asked(bool retry_when_overtaken) {
  NackGeneratorConfig config;
  config.retry_when_overtaken = retry_when_overtaken;
  NackGenerator nack(config);
  nack.on_rtt(TimeDelta::Millis(130));
  nack.on_packet(20, false, kOrig, kT0);
  nack.on_packet(24, false, kOrig, kT0);
  CHECK(nack.process(kT0) == Seqs{21, 22, 23});
  return nack;
}
}  // namespace

TEST_CASE("nack generator retries a lost retransmission once a later answer has arrived") {
  // Measured shape (8% loss in bursts of 3, RTT ~130 ms): 3 packets NACKed together, the
  // retransmissions of the last two arrive after ~130 ms, the first's was lost. Its retry is due
  // then, not at 1.25 x RTT after the NACK.
  NackGenerator nack = nack_gen_three_asked(true);
  const Timestamp answer = kT0 + TimeDelta::Millis(132);
  CHECK(nack.on_packet(23, false, kRtx, answer).was_missing);  // asked for after 21 and 22
  CHECK(nack.next_wakeup() == answer);
  CHECK(nack.process(answer) == Seqs{21, 22});
  CHECK(nack.stats().early_retries == 2);
  // 22 was asked for twice, so which NACK its answer answers is unknown (Karn's rule): it does
  // not hurry 21, which waits for its timer.
  CHECK(nack.on_packet(22, false, kRtx, answer + TimeDelta::Millis(130)).was_missing);
  CHECK(nack.process(answer + TimeDelta::Millis(130)).empty());
  CHECK(nack.next_wakeup() == answer + TimeDelta::Micros(162500));
  CHECK(nack.process(answer + TimeDelta::Micros(162500)) == Seqs{21});
  CHECK(nack.stats().early_retries == 2);

  // The answer of a packet asked for earlier (or earlier in the same NACK) says nothing about
  // later ones: they keep the timer.
  NackGenerator later = nack_gen_three_asked(true);
  CHECK(later.on_packet(21, false, kRtx, answer).was_missing);
  CHECK(later.process(answer).empty());
  CHECK(later.next_wakeup() == kT0 + TimeDelta::Micros(162500));

  // Off (the default): the timer alone.
  CHECK_FALSE(NackGeneratorConfig{}.retry_when_overtaken);
  NackGenerator timer_only = nack_gen_three_asked(false);
  CHECK(timer_only.on_packet(23, false, kRtx, answer).was_missing);
  CHECK(timer_only.process(answer).empty());
}

TEST_CASE("nack generator forgets packets that arrive or are recovered, and counts repairs by kind") {
  NackGeneratorConfig config;
  config.learn_reordering = false;  // 101 arriving late would otherwise make 102..104 wait
  NackGenerator nack(config);
  nack.on_packet(100, false, kOrig, kT0);
  nack.on_packet(106, false, kOrig, kT0);
  CHECK(nack.size() == 5);
  CHECK(nack.on_packet(101, false, kOrig, kT0).was_missing);  // late: reordered
  CHECK(nack.on_packet(103, false, kRtx, kT0).was_missing);
  CHECK(nack.on_packet(104, false, kFec, kT0).was_missing);
  CHECK_FALSE(nack.on_packet(103, false, kRtx, kT0).was_missing);   // duplicate RTX
  CHECK_FALSE(nack.on_packet(104, false, kFec, kT0).was_missing);   // duplicate recovery
  CHECK_FALSE(nack.on_packet(100, false, kRtx, kT0).was_missing);   // RTX of a packet that arrived
  CHECK_FALSE(nack.on_packet(106, false, kOrig, kT0).was_missing);  // duplicate original
  CHECK(nack.process(kT0) == Seqs{102, 105});
  CHECK(nack.on_packet(102, false, kRtx, kT0).was_missing);  // NACKed, then repaired
  CHECK(nack.on_packet(105, false, kOrig, kT0).was_missing);  // NACKed, then came on its own
  CHECK(nack.stats().packets_recovered == 5);
  CHECK(nack.stats().packets_repaired_by_rtx == 2);
  CHECK(nack.stats().packets_repaired_by_fec == 1);
  CHECK(nack.stats().packets_late == 2);
  CHECK(nack.stats().late_after_nack == 1);
}

TEST_CASE("nack generator gives up on packets older than max age") {
  NackGeneratorConfig config;
  config.max_age = TimeDelta::Millis(300);
  NackGenerator nack(config);
  nack.on_rtt(TimeDelta::Millis(200));
  nack.on_packet(1, false, kOrig, kT0);
  nack.on_packet(3, false, kOrig, kT0);
  CHECK(nack.process(kT0) == Seqs{2});
  CHECK(nack.process(kT0 + TimeDelta::Millis(250)) == Seqs{2});
  CHECK(nack.process(kT0 + TimeDelta::Millis(301)).empty());
  CHECK(nack.size() == 0);
}

TEST_CASE("nack generator clears requests before a keyframe") {
  NackGenerator nack;
  nack.on_packet(0, false, kOrig, kT0);
  nack.on_packet(10, false, kOrig, kT0);
  nack.on_packet(20, true, kOrig, kT0);  // keyframe starts at 20
  CHECK(nack.size() == 18);
  nack.clear_up_to(15);
  CHECK(nack.process(kT0) == Seqs{15, 16, 17, 18, 19});
}

TEST_CASE("nack generator caps its list and asks for a keyframe on overflow") {
  NackGeneratorConfig config;
  config.max_list_size = 50;
  NackGenerator nack(config);
  nack.on_packet(0, false, kOrig, kT0);
  CHECK_FALSE(nack.on_packet(41, false, kOrig, kT0).keyframe_needed);
  CHECK(nack.size() == 40);
  nack.on_packet(42, true, kOrig, kT0);  // keyframe: what is before it may go
  auto r = nack.on_packet(60, false, kOrig, kT0);
  CHECK_FALSE(r.keyframe_needed);
  CHECK(nack.size() == 17);  // 43..59; the 40 before the keyframe were dropped to make room
  r = nack.on_packet(200, false, kOrig, kT0);
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
  nack.on_packet(65500, false, kOrig, kT0);
  nack.on_packet(30, false, kOrig, kT0);
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
      nack.on_packet(sent, rng.bernoulli(0.01), rng.bernoulli(0.02) ? kRtx : kOrig, now);
      if (rng.bernoulli(0.02)) nack.on_packet(sent, false, kOrig, now);  // duplicate
      CHECK(nack.size() <= config.max_list_size);
      if (i % 7 == 0) {
        for (uint16_t s : nack.process(now)) CHECK(s != sent);
        if (auto w = nack.next_wakeup()) CHECK(*w > now);
      }
    }
  }
}

namespace {

// A seeded path: packets 0..count-1 (from a random first sequence number) arrive 1..10 ms apart;
// `reorder` of them are displaced by 1..3 positions (each displacement clear of the others, so 3
// is the farthest any packet is overtaken), `loss` of the rest are lost. The generator is driven
// like the receive front: process() at every wakeup and after every packet.
struct PathRun {
  std::set<uint16_t> nacked_after_learning;  // sequence numbers NACKed after `learning` packets
  std::vector<uint16_t> lost;
  std::vector<double> loss_nack_delay_ms;    // per lost packet: first NACK - its gap seen (a newer arrival)
  int64_t packets_wait = 0;
  TimeDelta time_wait;
  NackGeneratorStats stats;
};

PathRun run_path(uint64_t seed, double reorder, double loss, int count, int learning) {
  Random rng(seed);
  NackGenerator nack;
  nack.on_rtt(TimeDelta::Millis(60));
  const auto first = static_cast<uint16_t>(rng.next_u32());
  // Arrival order: seq offsets; a displaced packet i arrives after i+1..i+k.
  std::vector<int> order;
  for (int i = 0; i < count;) {
    if (i + 4 < count && rng.bernoulli(reorder)) {
      const int k = static_cast<int>(rng.uniform_int(1, 3));
      for (int j = 1; j <= k; ++j) order.push_back(i + j);
      order.push_back(i);
      i += k + 1;
    } else {
      order.push_back(i++);
    }
  }
  PathRun run;
  std::vector<std::pair<int, Timestamp>> arrivals;  // offset, time of every packet received
  std::vector<int> lost_offsets;
  std::map<uint16_t, Timestamp> first_nack;
  Timestamp now = kT0;
  auto take = [&](const std::vector<uint16_t>& out, Timestamp t, int position) {
    for (uint16_t s : out) {
      if (position >= learning && std::find(run.lost.begin(), run.lost.end(), s) == run.lost.end()) {
        run.nacked_after_learning.insert(s);
      }
      first_nack.emplace(s, t);
    }
  };
  for (size_t p = 0; p < order.size(); ++p) {
    const Timestamp arrival = now + TimeDelta::Millis(rng.uniform_int(1, 10));
    while (auto w = nack.next_wakeup()) {
      if (*w > arrival) break;
      take(nack.process(*w), *w, static_cast<int>(p));
    }
    now = arrival;
    const auto seq = static_cast<uint16_t>(first + order[p]);
    if (order[p] > 0 && rng.bernoulli(loss)) {
      lost_offsets.push_back(order[p]);
      run.lost.push_back(seq);
      continue;
    }
    arrivals.emplace_back(order[p], now);
    nack.on_packet(seq, false, kOrig, now);
    take(nack.process(now), now, static_cast<int>(p));
  }
  for (int o : lost_offsets) {
    // The gap shows when the first newer packet arrives.
    auto newer = std::find_if(arrivals.begin(), arrivals.end(), [o](const auto& a) { return a.first > o; });
    auto it = first_nack.find(static_cast<uint16_t>(first + o));
    if (newer != arrivals.end() && it != first_nack.end()) {
      run.loss_nack_delay_ms.push_back((it->second - newer->second).ms_f());
    }
  }
  run.packets_wait = nack.reorder_packets_wait();
  run.time_wait = nack.reorder_time_wait();
  run.stats = nack.stats();
  return run;
}

}  // namespace

TEST_CASE("nack generator property: reordering alone costs no NACK once learnt") {
  // 5% of packets overtaken by 1..3 others, no loss: after a short learning period (the first
  // 1000 of 6000 packets) not one NACK, in every seed.
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    CAPTURE(seed);
    const PathRun r = run_path(seed, 0.05, 0.0, 6000, 1000);
    CHECK(r.nacked_after_learning.empty());
    CHECK(r.packets_wait == 3);  // what the path does: 3 positions at most
    CHECK(r.time_wait > TimeDelta::Zero());
    CHECK(r.time_wait <= TimeDelta::Millis(30));  // 3 arrivals of at most 10 ms each
    CHECK(r.stats.packets_late > 200);
    // What it cost while learning: every NACK was needless (the packet came on its own).
    CHECK(r.stats.late_after_nack == r.stats.packets_requested);
    CHECK(r.stats.packets_requested <= 10);
  }
}

TEST_CASE("nack generator property: without learning the same reordering is NACKed") {
  // The figure the learning removes (what the generator did before it learnt).
  NackGeneratorConfig config;
  config.learn_reordering = false;
  Random rng(5);
  NackGenerator nack(config);
  Timestamp now = kT0;
  int64_t requested = 0;
  for (int i = 0; i < 1000; i += 5) {  // every 5th packet overtaken by its successor
    now += TimeDelta::Millis(2);
    nack.on_packet(static_cast<uint16_t>(i + 1), false, kOrig, now);
    requested += static_cast<int64_t>(nack.process(now).size());
    now += TimeDelta::Millis(2);
    nack.on_packet(static_cast<uint16_t>(i), false, kOrig, now);
    for (int j = 2; j < 5; ++j) {
      now += TimeDelta::Millis(2);
      nack.on_packet(static_cast<uint16_t>(i + j), false, kOrig, now);
    }
  }
  CHECK(requested == 199);  // every reordering but the first (older than anything seen)
}

TEST_CASE("nack generator property: real loss is still NACKed within a bounded delay") {
  // The same reordering plus 2% loss: every lost packet is NACKed once 4 newer sequence numbers
  // arrived (the learnt 3 positions + 1) and its gap is older than the learnt time wait (<= 30 ms).
  // Measured from the arrival that revealed the gap: mean 25 ms, worst 36 ms over 4789 losses in
  // 40 seeds (before learning: 0 ms, at the price of a NACK per reordering). Bound asserted: 45 ms
  // (3 more arrivals of <= 10 ms, plus displaced ones in between); the hard cap is max_reorder_wait.
  double worst = 0, sum = 0;
  size_t n = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    CAPTURE(seed);
    const PathRun r = run_path(seed, 0.05, 0.02, 6000, 1000);
    REQUIRE(r.lost.size() > 50);
    // All but the very last few (too close to the end for 4 newer packets) are NACKed.
    CHECK(r.loss_nack_delay_ms.size() + 2 >= r.lost.size());
    for (double d : r.loss_nack_delay_ms) {
      CHECK(d >= 0);
      CHECK(d <= 45.0);
      worst = std::max(worst, d);
      sum += d;
      ++n;
    }
    CHECK(r.nacked_after_learning.empty());  // the reordered packets still cost nothing
  }
  MESSAGE("loss -> first NACK over ", n, " losses: mean ", sum / static_cast<double>(n), " ms, worst ", worst, " ms");
}
