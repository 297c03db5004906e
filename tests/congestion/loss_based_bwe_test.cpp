#include "tern/congestion/loss_based_bwe.h"

#include <doctest/doctest.h>

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
