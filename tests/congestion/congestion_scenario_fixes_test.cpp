// Unit tests for the controller changes the netsim scenarios called for: data in flight cleared
// up to the newest fed-back packet, the inherent-loss floor of the loss rules, ramp-up probing.
#include <doctest/doctest.h>

#include "tern/congestion/loss_based_bwe.h"
#include "tern/congestion/probe_controller.h"
#include "tern/congestion/send_time_history.h"

using namespace tern;
using namespace tern::congestion;
using namespace tern::unit_literals;

TEST_CASE("SendTimeHistory clears data in flight up to the newest fed-back packet") {
  SendTimeHistory h;
  const Timestamp t0 = Timestamp::Seconds(1);
  for (uint16_t s = 65530; s != 10; ++s) (void)h.on_sent(s, t0, DataSize::Bytes(100));  // wraps
  CHECK(h.data_in_flight() == DataSize::Bytes(1600));
  (void)h.on_feedback(65531, t0 + 50_ms);
  CHECK(h.data_in_flight() == DataSize::Bytes(1500));
  h.clear_in_flight_up_to(3);  // 65530..3 covered (their reports were lost)
  CHECK(h.data_in_flight() == DataSize::Bytes(600));
  h.clear_in_flight_up_to(1);  // going back changes nothing
  CHECK(h.data_in_flight() == DataSize::Bytes(600));
  // A late report for a cleared packet still matches, without counting it twice.
  const auto late = h.on_feedback(2, t0 + 60_ms);
  REQUIRE(late);
  CHECK(late->is_received());
  CHECK(h.data_in_flight() == DataSize::Bytes(600));
}

TEST_CASE("LossBasedBwe treats loss persisting in every block as inherent") {
  LossBasedBwe::Config c;
  LossBasedBwe bwe(c);
  Timestamp now = Timestamp::Seconds(1);
  bwe.set_bitrates(1_mbps, 10_kbps, 10_mbps, now);
  bwe.update_rtt(100_ms);
  // 15% loss, 100 packets a second: cut every figure for the first ~10 s.
  for (int i = 0; i < 10; ++i) {
    now += 1_s;
    bwe.update_packets_lost(15, 100, now);
  }
  const DataRate after_10s = bwe.target();
  CHECK(after_10s < 700_kbps);
  // Once five 2 s blocks agree, the same loss is the path's, not ours: the rate grows again.
  for (int i = 0; i < 10; ++i) {
    now += 1_s;
    bwe.update_packets_lost(15, 100, now);
  }
  CHECK(bwe.inherent_loss() == doctest::Approx(0.15));
  CHECK(bwe.target() > after_10s);
  // A further 12% on top of it is congestion again.
  const DataRate before = bwe.target();
  now += 1_s;
  bwe.update_packets_lost(27, 100, now);
  CHECK(bwe.target() < before);
  MESSAGE("15% persistent loss: " << after_10s.kbps() << " kbps after 10 s, " << before.kbps() << " kbps after 20 s; inherent "
                                  << bwe.inherent_loss());
}

TEST_CASE("LossBasedBwe inherent loss stays zero when loss comes in episodes") {
  LossBasedBwe bwe;
  Timestamp now = Timestamp::Seconds(1);
  bwe.set_bitrates(1_mbps, 10_kbps, 10_mbps, now);
  for (int i = 0; i < 30; ++i) {
    now += 1_s;
    bwe.update_packets_lost(i % 6 == 0 ? 20 : 0, 100, now);  // congestion episodes
  }
  CHECK(bwe.inherent_loss() == 0.0);
}

namespace {
// A controller whose start-up probes timed out at `now`, with a multiplicative ramp starting at
// `estimate` (no probe yet).
ProbeController RampStartedProbeController(const ProbeController::Config& config, DataRate estimate,
                                           Timestamp now) {
  ProbeController pc(config);
  (void)pc.set_bitrates(10_kbps, 300_kbps, 10_mbps, now - 10_s);
  (void)pc.process(now);  // start-up probes time out
  (void)pc.set_estimated_bitrate(estimate, now);
  CHECK(pc.on_ramp_up(true, now).empty());  // growth starts here
  return pc;
}
}  // namespace

TEST_CASE("ProbeController probes at 2x once multiplicative growth passes 20 percent") {
  const Timestamp now = Timestamp::Seconds(11);
  ProbeController pc = RampStartedProbeController(ProbeController::Config{}, 1_mbps, now);
  (void)pc.set_estimated_bitrate(1150_kbps, now + 1_s);
  CHECK(pc.on_ramp_up(true, now + 1_s).empty());
  (void)pc.set_estimated_bitrate(1250_kbps, now + 2_s);
  const auto probes = pc.on_ramp_up(true, now + 2_s);
  REQUIRE(probes.size() == 1);
  CHECK(probes[0].target_rate == 2500_kbps);
  // Additive growth (near a known capacity) never probes.
  ProbeController quiet;
  (void)quiet.set_bitrates(10_kbps, 300_kbps, 10_mbps, now);
  (void)quiet.process(now + 10_s);
  (void)quiet.set_estimated_bitrate(1_mbps, now + 10_s);
  (void)quiet.set_estimated_bitrate(2_mbps, now + 20_s);
  CHECK(quiet.on_ramp_up(false, now + 20_s).empty());
}

TEST_CASE("ProbeController does not ramp-up probe below ramp_up_probe_min_rate") {
  // A 250 kbps link: the estimate grows multiplicatively from 180 to 230 kbps (28%). A cluster at
  // 2x would be at least 5 packets of 1000 bytes, ~160 ms of the link: no probe.
  const Timestamp now = Timestamp::Seconds(11);
  ProbeController pc = RampStartedProbeController(ProbeController::Config{}, 180_kbps, now);
  for (int i = 1; i <= 10; ++i) {
    (void)pc.set_estimated_bitrate(180_kbps + 5_kbps * i, now + 1_s * i);
    CHECK(pc.on_ramp_up(true, now + 1_s * i).empty());
  }
  // The same growth with a lower floor probes: the floor is what held it back.
  ProbeController::Config c;
  c.ramp_up_probe_min_rate = 100_kbps;
  ProbeController low = RampStartedProbeController(c, 180_kbps, now);
  (void)low.set_estimated_bitrate(230_kbps, now + 2_s);
  const auto probes = low.on_ramp_up(true, now + 2_s);
  REQUIRE(probes.size() == 1);
  CHECK(probes[0].target_rate == 460_kbps);
}
