#include "tern/congestion/acknowledged_bitrate_estimator.h"

#include <doctest/doctest.h>

#include <vector>

using namespace tern;
using namespace tern::congestion;
using namespace tern::unit_literals;

namespace {
// Packets of `size` received every `gap` from `start` for `duration`, in reports of 10.
void feed(AcknowledgedBitrateEstimator& e, Timestamp start, TimeDelta duration, TimeDelta gap,
          DataSize size) {
  std::vector<PacketResult> report;
  for (Timestamp t = start; t < start + duration; t += gap) {
    PacketResult p;
    p.sent.send_time = t - 50_ms;
    p.sent.size = size;
    p.receive_time = t;
    report.push_back(p);
    if (report.size() == 10) {
      e.incoming_packet_feedback(report);
      report.clear();
    }
  }
}
}  // namespace

TEST_CASE("AcknowledgedBitrateEstimator measures the acked rate") {
  AcknowledgedBitrateEstimator e;
  CHECK_FALSE(e.bitrate());
  const Timestamp t0 = Timestamp::Seconds(1);
  feed(e, t0, 3_s, 10_ms, 1000_bytes);  // 800 kbps
  REQUIRE(e.bitrate());
  CHECK(e.bitrate()->kbps_f() == doctest::Approx(800).epsilon(0.05));
  // The rate halves: the estimate follows within a couple of seconds.
  feed(e, t0 + 3_s, 3_s, 20_ms, 1000_bytes);
  MESSAGE("after a halving: " << e.bitrate()->kbps() << " kbps");
  CHECK(e.bitrate()->kbps_f() == doctest::Approx(400).epsilon(0.1));
}

TEST_CASE("AcknowledgedBitrateEstimator ignores lost packets and survives a receive clock reset") {
  AcknowledgedBitrateEstimator e;
  std::vector<PacketResult> report(5);
  for (auto& p : report) p.sent.size = 1000_bytes;  // all lost
  e.incoming_packet_feedback(report);
  CHECK_FALSE(e.bitrate());
  const Timestamp t0 = Timestamp::Seconds(100);
  feed(e, t0, 2_s, 10_ms, 1000_bytes);
  feed(e, Timestamp::Seconds(1), 2_s, 10_ms, 1000_bytes);  // receive time went backwards
  REQUIRE(e.bitrate());
  CHECK(e.bitrate()->kbps_f() == doctest::Approx(800).epsilon(0.1));
}
