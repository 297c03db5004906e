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
  CHECK(pc.waiting_for_result());
  CHECK(pc.set_bitrates(30_kbps, 300_kbps, 10_mbps, t0).empty());  // only once

  // A result below 70% of 1800 kbps: no further probe.
  CHECK(pc.set_estimated_bitrate(1000_kbps, t0 + 100_ms).empty());
  // A result above 1260 kbps: probe at 2x.
  probes = pc.set_estimated_bitrate(1500_kbps, t0 + 200_ms);
  REQUIRE(probes.size() == 1);
  CHECK(probes[0].target_rate == 3000_kbps);
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
