#include "tern/congestion/loss_based_bwe.h"

#include <doctest/doctest.h>

#include <algorithm>

using namespace tern;
using namespace tern::congestion;
using namespace tern::unit_literals;

namespace {
LossBasedBwe make(Timestamp now, DataRate start) {
  LossBasedBwe bwe;
  bwe.set_bitrates(start, 10_kbps, 10_mbps, now);
  bwe.update_rtt(100_ms);
  return bwe;
}
}  // namespace

TEST_CASE("LossBasedBwe increases 8% per second below 2% loss") {
  Timestamp now = Timestamp::Seconds(1);
  LossBasedBwe bwe = make(now, 1_mbps);
  for (int i = 0; i < 40; ++i) {  // 1 s of 25 ms steps, 1% loss reported every 50 ms
    now += 25_ms;
    if (i % 2 == 0) bwe.update_packets_lost(1, 100, now);
    bwe.update_estimate(now);
  }
  MESSAGE("1% loss for 1 s: " << bwe.target().kbps() << " kbps");
  CHECK(bwe.target() >= 1080_kbps);
  CHECK(bwe.target() <= 1170_kbps);  // about one 8% step per second
}

TEST_CASE("LossBasedBwe holds between 2% and 10% loss") {
  Timestamp now = Timestamp::Seconds(1);
  LossBasedBwe bwe = make(now, 1_mbps);
  for (int i = 0; i < 100; ++i) {
    now += 25_ms;
    bwe.update_packets_lost(5, 100, now);
    bwe.update_estimate(now);
  }
  CHECK(bwe.target() == 1_mbps);
  CHECK(bwe.fraction_loss() == doctest::Approx(0.05));
}

TEST_CASE("LossBasedBwe cuts rate x (1 - loss/2) above 10%, once per rtt + 300 ms") {
  Timestamp now = Timestamp::Seconds(1);
  LossBasedBwe bwe = make(now, 1_mbps);
  bwe.update_packets_lost(20, 100, now);  // 20% loss
  CHECK(bwe.target() == 900_kbps);
  now += 100_ms;
  bwe.update_packets_lost(20, 100, now);
  CHECK(bwe.target() == 900_kbps);  // within 400 ms of the last cut (and 1 s of the last figure)
  now += 900_ms;
  bwe.update_packets_lost(20, 100, now);
  CHECK(bwe.target() == 810_kbps);  // 40 of 200 packets lost since the last figure: 20%

  LossBasedBwe::Config fast_cfg;
  fast_cfg.min_loss_report_interval = TimeDelta::Zero();
  LossBasedBwe fast(fast_cfg);
  fast.set_bitrates(1_mbps, 10_kbps, 10_mbps, now);
  fast.update_rtt(100_ms);
  fast.update_packets_lost(20, 100, now);
  CHECK(fast.target() == 900_kbps);
  fast.update_packets_lost(20, 100, now + 100_ms);
  CHECK(fast.target() == 900_kbps);  // once per rtt + 300 ms
  fast.update_packets_lost(20, 100, now + 400_ms);
  CHECK(fast.target() == 810_kbps);
}

TEST_CASE("LossBasedBwe needs 20 packets per loss figure and respects the caps") {
  Timestamp now = Timestamp::Seconds(1);
  LossBasedBwe bwe = make(now, 1_mbps);
  bwe.update_packets_lost(5, 10, now);  // 50%, but only 10 packets: not acted on yet
  CHECK(bwe.target() == 1_mbps);
  bwe.update_packets_lost(0, 10, now);  // 25% over 20 packets (the first figure is immediate)
  CHECK(bwe.fraction_loss() == doctest::Approx(0.25));
  CHECK(bwe.target() == 875_kbps);

  bwe.update_delay_based_limit(300_kbps, now);
  CHECK(bwe.target() == 300_kbps);
  bwe.update_receiver_limit(200_kbps, now);
  CHECK(bwe.target() == 200_kbps);
  bwe.update_receiver_limit(DataRate::Zero(), now);  // REMB removed
  bwe.set_send_bitrate(5_kbps, now);
  CHECK(bwe.target() == 10_kbps);  // min
}

namespace {
// Reports loss for `seconds` at `rate` (set first), 10 packets every 100 ms, `loss` of them lost
// on average (deterministic: the fraction is accumulated and whole packets are reported).
void feed(LossBasedBwe& bwe, Timestamp& now, DataRate rate, double loss, double seconds, double& carry) {
  bwe.set_send_bitrate(rate, now);
  for (int i = 0; i < static_cast<int>(seconds * 10); ++i) {
    now += 100_ms;
    carry += 10 * loss;
    const auto lost = static_cast<int64_t>(carry);
    carry -= static_cast<double>(lost);
    bwe.update_packets_lost(lost, 10, now);
  }
}

// A 1 Mbps policer: no loss below it, 1 - C/rate above (+1%), over six 2.5 s blocks of rates.
void feed_policer_blocks(LossBasedBwe& bwe, Timestamp& now) {
  const DataRate rates[] = {800_kbps, 1000_kbps, 900_kbps, 1100_kbps, 850_kbps, 1050_kbps};
  double carry = 0;
  for (DataRate r : rates) feed(bwe, now, r, std::max(0.0, 1.0 - 1e6 / r.bps_f()) + 0.01, 2.5, carry);
}
}  // namespace

TEST_CASE("LossBasedBwe: the inherent-loss floor holds random loss but not loss that follows the rate") {
  const DataRate rates[] = {800_kbps, 1000_kbps, 900_kbps, 1100_kbps, 850_kbps, 1050_kbps};
  {
    // 10% at every rate: inherent, the floor is the lowest block's loss.
    Timestamp now = Timestamp::Seconds(1);
    LossBasedBwe bwe = make(now, 1_mbps);
    double carry = 0;
    for (DataRate r : rates) feed(bwe, now, r, 0.10, 2.5, carry);
    CHECK_FALSE(bwe.loss_follows_rate());
    CHECK(bwe.inherent_loss() == doctest::Approx(0.10).epsilon(0.05));
  }
  {
    // A 1 Mbps policer: no loss below it, 1 - C/rate above.
    Timestamp now = Timestamp::Seconds(1);
    LossBasedBwe bwe = make(now, 1_mbps);
    feed_policer_blocks(bwe, now);
    CHECK(bwe.loss_follows_rate());
    CHECK(bwe.inherent_loss() == 0.0);
    // Congestive loss of 5% is cut at once (no 2-10% hold band) and the cut rate is not re-entered.
    bwe.set_send_bitrate(1_mbps, now);
    now += 2_s;
    bwe.update_packets_lost(5, 100, now);
    CHECK(bwe.target() < 1_mbps);
    for (int i = 0; i < 200; ++i) {  // 20 s without loss
      now += 100_ms;
      bwe.update_packets_lost(0, 10, now);
      bwe.update_estimate(now);
    }
    // The highest congestive cut so far was in the 1050 kbps block (6.8% loss): capped at 95% of
    // it while remembered, and back up near it.
    MESSAGE("after the cut and 20 s without loss: " << bwe.target().kbps() << " kbps");
    CHECK(bwe.target() <= 998_kbps);
    CHECK(bwe.target() >= 950_kbps);
  }
}

TEST_CASE("LossBasedBwe: one lost packet in a small figure does not cut near a remembered congestion") {
  // A policer's loss first (loss follows the rate), then a congestive cut at 1 Mbps: the rate of
  // that cut is remembered and loss near it counts as congestion (2% threshold, no hold band).
  Timestamp now = Timestamp::Seconds(1);
  LossBasedBwe bwe = make(now, 1_mbps);
  feed_policer_blocks(bwe, now);
  bwe.set_send_bitrate(1_mbps, now);
  now += 2_s;
  bwe.update_packets_lost(5, 100, now);
  const DataRate after_cut = bwe.target();
  CHECK(after_cut < 1_mbps);
  // Then 10 s at a few dozen packets a second with one random loss in each 1 s figure (2.9%):
  // one packet is within random loss, not congestion. Cutting for each (as before) renewed the
  // memory and ratcheted the rate down (a 250 kbps call sat at 43% of its link for 22 s).
  DataRate lowest = bwe.target();
  for (int i = 0; i < 10; ++i) {
    now += 1_s;
    bwe.update_packets_lost(1, 35, now);
    bwe.update_estimate(now);
    lowest = std::min(lowest, bwe.target());
  }
  MESSAGE("10 figures of 1 in 35 lost: lowest " << lowest.kbps() << " kbps, cut to " << after_cut.kbps());
  CHECK(bwe.fraction_loss() == doctest::Approx(1.0 / 35));
  CHECK(lowest >= after_cut);
  // Three lost in a figure of 35 (8.6%) near the remembered rate is congestion again: cut.
  now += 1_s;
  bwe.update_packets_lost(3, 35, now);
  CHECK(bwe.target() < after_cut);
}

TEST_CASE("ReorderTolerantLossCounter takes back a loss that was only reordering") {
  ReorderTolerantLossCounter counter({.reorder_window = 1_s, .max_pending = 2});
  auto pkt = [](int64_t seq, bool received) {
    PacketResult p;
    p.sent.sequence_number = seq;
    if (received) p.receive_time = Timestamp::Seconds(1);
    return p;
  };
  Timestamp now = Timestamp::Seconds(1);
  // Report 1: 1, 2 received; 3 and 4 not yet: two losses, counted at once.
  auto c = counter.on_feedback({pkt(1, true), pkt(2, true), pkt(3, false), pkt(4, false)}, now);
  CHECK(c.expected == 4);
  CHECK(c.lost == 2);
  // Report 2: 3 arrived late (overtaken); 5 received. 3 is not expected twice; its loss is owed.
  now += 100_ms;
  c = counter.on_feedback({pkt(3, true), pkt(5, true)}, now);
  CHECK(c.expected == 1);
  CHECK(c.lost == 0);
  CHECK(counter.late_arrivals() == 1);
  // Report 3: 6 lost; the debt takes it back (net: 4 and 6 lost of 6, one of them repaid).
  now += 100_ms;
  c = counter.on_feedback({pkt(6, false), pkt(7, true)}, now);
  CHECK(c.expected == 2);
  CHECK(c.lost == 0);
  // Beyond the window, a late packet is an ordinary arrival (4 is forgotten).
  now += 2_s;
  c = counter.on_feedback({pkt(4, true)}, now);
  CHECK(c.expected == 1);
  CHECK(c.lost == 0);
  CHECK(counter.late_arrivals() == 1);
  // Bounded: only the last two losses are remembered.
  c = counter.on_feedback({pkt(8, false), pkt(9, false), pkt(10, false)}, now);
  CHECK(c.lost == 3);
  CHECK(counter.pending() == 2);
  c = counter.on_feedback({pkt(8, true), pkt(9, true), pkt(10, true), pkt(11, false)}, now);
  CHECK(counter.late_arrivals() == 3);  // 9 and 10
  CHECK(c.lost == 0);
}

TEST_CASE("LossBasedBwe: two or three blocks cannot show loss following the rate") {
  // A start-up ramp under random loss: a 2 s block at 1 Mbps with 1% and one at 1.3 Mbps with 6%
  // differ by more than two standard errors, but that is one block against another.
  auto ramp = [](LossBasedBwe& bwe, Timestamp& now, int blocks) {
    const DataRate rates[] = {1000_kbps, 1300_kbps, 1150_kbps, 1400_kbps};
    const double losses[] = {0.01, 0.06, 0.02, 0.06};
    double carry = 0;
    for (int b = 0; b < blocks; ++b) feed(bwe, now, rates[b], losses[b], 2.1, carry);  // a block closes after 2 s
  };
  for (int blocks = 2; blocks <= 3; ++blocks) {
    Timestamp now = Timestamp::Seconds(1);
    LossBasedBwe bwe = make(now, 1_mbps);
    ramp(bwe, now, blocks);
    CHECK_FALSE(bwe.loss_follows_rate());
  }
  // Two against two, the same pattern is loss that follows the rate.
  Timestamp now = Timestamp::Seconds(1);
  LossBasedBwe bwe = make(now, 1_mbps);
  ramp(bwe, now, 4);
  CHECK(bwe.loss_follows_rate());
  // With the old two-block minimum the first pair already counted.
  LossBasedBwe::Config two;
  two.follow_min_blocks = 2;
  LossBasedBwe early(two);
  now = Timestamp::Seconds(1);
  early.set_bitrates(1_mbps, 10_kbps, 10_mbps, now);
  early.update_rtt(100_ms);
  ramp(early, now, 2);
  CHECK(early.loss_follows_rate());
}
