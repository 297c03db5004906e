#include "tern/congestion/probe_controller.h"

#include <doctest/doctest.h>

using namespace tern;
using namespace tern::congestion;
using namespace tern::unit_literals;

TEST_CASE("ProbeController: exponential start probes at 3x and 6x, then 2x on success") {
  ProbeController pc;
  const Timestamp t0 = Timestamp::Seconds(1);
  auto probes = pc.set_bitrates(30_kbps, 300_kbps, 10_mbps, t0);
  REQUIRE(probes.size() == 2);
  CHECK(probes[0].target_rate == 900_kbps);
  CHECK(probes[1].target_rate == 1800_kbps);
  CHECK(probes[0].id != probes[1].id);
  CHECK(probes[0].start_up);  // the pacer keeps full-size padding bursts for these
  CHECK(probes[1].start_up);
  CHECK(pc.waiting_for_result());
  CHECK(pc.set_bitrates(30_kbps, 300_kbps, 10_mbps, t0).empty());  // only once

  // A result below 70% of 1800 kbps: no further probe.
  CHECK(pc.set_estimated_bitrate(1000_kbps, t0 + 100_ms).empty());
  // A result above 1260 kbps: probe at 2x.
  probes = pc.set_estimated_bitrate(1500_kbps, t0 + 200_ms);
  REQUIRE(probes.size() == 1);
  CHECK(probes[0].target_rate == 3000_kbps);
  CHECK_FALSE(probes[0].start_up);
  // No result for more than a second: probing completes.
  CHECK(pc.process(t0 + 2_s).empty());
  CHECK_FALSE(pc.waiting_for_result());
  CHECK(pc.set_estimated_bitrate(5_mbps, t0 + 2_s).empty());
}

TEST_CASE("ProbeController caps probes at the max rate and waits for the network") {
  ProbeController pc;
  const Timestamp t0 = Timestamp::Seconds(1);
  CHECK(pc.on_network_availability(false, t0).empty());
  CHECK(pc.set_bitrates(30_kbps, 300_kbps, 1_mbps, t0).empty());
  auto probes = pc.on_network_availability(true, t0 + 1_s);
  REQUIRE(probes.size() == 2);
  CHECK(probes[0].target_rate == 900_kbps);
  CHECK(probes[1].target_rate == 1_mbps);  // 1800 kbps capped
  CHECK(probes[1].start_up);
  CHECK_FALSE(pc.waiting_for_result());     // nothing above the cap to climb to
}

TEST_CASE("ProbeController probes periodically in ALR and after a large drop") {
  ProbeController pc;
  const Timestamp t0 = Timestamp::Seconds(1);
  (void)pc.set_bitrates(30_kbps, 300_kbps, 10_mbps, t0);
  (void)pc.set_estimated_bitrate(600_kbps, t0 + 100_ms);
  CHECK(pc.process(t0 + 2_s).empty());  // probing complete
  pc.set_alr_start_time(t0 + 2_s);
  CHECK(pc.process(t0 + 5_s).empty());
  auto probes = pc.process(t0 + 7_s + 1_ms);
  REQUIRE(probes.size() == 1);
  CHECK(probes[0].target_rate == 1200_kbps);
  CHECK(pc.process(t0 + 9_s).empty());  // the result is awaited / next period not due
  (void)pc.process(t0 + 10_s);

  // Large drop (2 Mbps -> 500 kbps), then ALR ends: probe to 85% of the old rate.
  ProbeController drop;
  (void)drop.set_bitrates(30_kbps, 300_kbps, 10_mbps, t0);
  (void)drop.process(t0 + 2_s);
  (void)drop.set_estimated_bitrate(2_mbps, t0 + 3_s);
  (void)drop.set_estimated_bitrate(500_kbps, t0 + 4_s);
  CHECK(drop.request_probe(t0 + 4_s).empty());  // not in or just after ALR
  drop.set_alr_ended_time(t0 + 4_s);
  probes = drop.request_probe(t0 + 5_s);
  REQUIRE(probes.size() == 1);
  CHECK(probes[0].target_rate == 1700_kbps);
  CHECK(drop.request_probe(t0 + 6_s).empty());  // rate limited
}

TEST_CASE("ProbeController lengthens its clusters for a jittery path, retries the round, and steps gently with long clusters") {
  ProbeController pc;
  const Timestamp t0 = Timestamp::Seconds(1);
  CHECK(pc.cluster_duration() == 15_ms);  // no jitter known
  auto probes = pc.set_bitrates(30_kbps, 300_kbps, 10_mbps, t0);
  REQUIRE(probes.size() == 2);
  CHECK(probes[0].target_duration == 15_ms);
  // The 15 ms clusters came back scattered by 15 ms of jitter (standard deviation); what arrived
  // read 200 kbps. Clusters now last 8 x 15 = 120 ms, and the round is tried again at once, one
  // step above max(200 kbps, the 300 kbps estimate): a step is 1 + 30 ms / 120 ms = 1.25x (a 2x
  // cluster that long would queue 120 ms at the capacity), within the round's lowest rate.
  probes = pc.on_probe_too_short(15_ms, 200_kbps, t0 + 300_ms);
  CHECK(pc.cluster_duration() == 120_ms);
  REQUIRE(probes.size() == 1);
  CHECK(probes[0].target_duration == 120_ms);
  CHECK(probes[0].target_rate == 375_kbps);
  CHECK(pc.waiting_for_result());
  // Jitter not a quarter above what the clusters are sized for: nothing new to try.
  CHECK(pc.on_probe_too_short(18_ms, 200_kbps, t0 + 350_ms).empty());
  CHECK(pc.cluster_duration() == 120_ms);
  // A result 10% above the estimate the round started from probes further, one step up.
  CHECK(pc.set_estimated_bitrate(320_kbps, t0 + 700_ms).empty());  // under 1.1 x 300 kbps
  probes = pc.set_estimated_bitrate(370_kbps, t0 + 750_ms);
  REQUIRE(probes.size() == 1);
  CHECK(probes[0].target_rate.kbps_f() == doctest::Approx(462.5));  // 370 x 1.25
  CHECK(probes[0].target_duration == 120_ms);
  // The next estimate from the same cluster, a little higher, does not start another round.
  CHECK(pc.set_estimated_bitrate(380_kbps, t0 + 800_ms).empty());
  // Retries are bounded (per round): more jitter retries twice, then no more.
  CHECK(pc.on_probe_too_short(20_ms, 300_kbps, t0 + 900_ms).size() == 1);
  CHECK(pc.on_probe_too_short(26_ms, 300_kbps, t0 + 950_ms).size() == 1);
  CHECK(pc.on_probe_too_short(34_ms, 300_kbps, t0 + 1000_ms).empty());
  CHECK(pc.cluster_duration() == 272_ms);  // sized for the larger jitter all the same
  // Never longer than max_probe_duration.
  CHECK(pc.on_probe_too_short(200_ms, 300_kbps, t0 + 1050_ms).empty());
  CHECK(pc.cluster_duration() == 300_ms);
  // A round older than max_waiting_for_probe_result is not retried.
  ProbeController late;
  (void)late.set_bitrates(30_kbps, 300_kbps, 10_mbps, t0);
  CHECK(late.on_probe_too_short(15_ms, 200_kbps, t0 + 2_s).empty());
  CHECK(late.cluster_duration() == 120_ms);  // later clusters are long all the same
  // A first round capped at max_rate (complete at once) is retried when it was too short.
  ProbeController capped;
  probes = capped.set_bitrates(30_kbps, 1_mbps, 3_mbps, t0);
  REQUIRE(probes.size() == 1);
  CHECK_FALSE(capped.waiting_for_result());
  probes = capped.on_probe_too_short(15_ms, 1100_kbps, t0 + 300_ms);
  REQUIRE(probes.size() == 1);
  CHECK(probes[0].target_rate == 1375_kbps);  // 1100 x 1.25
}
