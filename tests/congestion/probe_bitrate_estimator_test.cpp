#include "tern/congestion/probe_bitrate_estimator.h"

#include <doctest/doctest.h>

#include <optional>

using namespace tern;
using namespace tern::congestion;
using namespace tern::unit_literals;

namespace {
PacketResult probe_packet(int cluster, Timestamp send, Timestamp recv, DataSize size = 1000_bytes) {
  PacketResult p;
  p.sent.send_time = send;
  p.sent.size = size;
  p.sent.probe_cluster_id = cluster;
  p.receive_time = recv;
  return p;
}

// Sends `n` packets of 1000 bytes every `send_gap`, received every `recv_gap`.
std::optional<DataRate> run(ProbeBitrateEstimator& e, int cluster, int n, TimeDelta send_gap,
                            TimeDelta recv_gap) {
  const Timestamp s0 = Timestamp::Seconds(1);
  const Timestamp r0 = Timestamp::Seconds(2);
  std::optional<DataRate> last;
  for (int i = 0; i < n; ++i) {
    if (auto r = e.handle_probe(probe_packet(cluster, s0 + send_gap * i, r0 + recv_gap * i))) last = r;
  }
  return last;
}
}  // namespace

TEST_CASE("ProbeBitrateEstimator takes min(send rate, receive rate)") {
  ProbeBitrateEstimator e;
  // Sent at 800 kbps (10 ms per 1000 bytes), received at the same spacing.
  auto r = run(e, 1, 5, 10_ms, 10_ms);
  REQUIRE(r);
  CHECK(r->kbps() == 800);
  // Sent at 800 kbps, received slightly slower (at 0.95x): min is the receive rate.
  r = run(e, 2, 5, 10_ms, TimeDelta::Micros(10526));
  REQUIRE(r);
  CHECK(r->kbps() == 760);
  // Received clearly slower than sent (path limited): 0.95 x receive rate.
  r = run(e, 3, 5, 10_ms, 20_ms);
  REQUIRE(r);
  CHECK(r->kbps() == 380);
  // Received faster than sent: capped by the send rate.
  r = run(e, 4, 5, 10_ms, 6_ms);
  REQUIRE(r);
  CHECK(r->kbps() == 800);
  CHECK(e.fetch_and_reset_last_estimate());
  CHECK_FALSE(e.fetch_and_reset_last_estimate());
}

TEST_CASE("ProbeBitrateEstimator needs 80% of the cluster and sane intervals") {
  ProbeBitrateEstimator e;
  ProbeClusterConfig c;
  c.id = 1;
  c.target_rate = 8_mbps;  // min bytes = 15000: 80% = 12000
  c.target_probe_count = 5;
  e.on_probe_cluster(c);
  CHECK_FALSE(run(e, 1, 5, 1_ms, 1_ms));   // 5000 bytes: too few
  CHECK(run(e, 5, 4, 10_ms, 10_ms));        // unknown cluster: 4 of 5 packets is 80%
  CHECK_FALSE(run(e, 6, 3, 10_ms, 10_ms));  // 3 packets: not enough
  CHECK_FALSE(run(e, 7, 5, 10_ms, 3_ms));   // receive > 2x send: bogus timing
  CHECK_FALSE(run(e, 8, 5, TimeDelta::Zero(), 1_ms));  // zero send interval
  CHECK_FALSE(run(e, 9, 5, 400_ms, 400_ms));           // interval over 1 s

  PacketResult not_probe = probe_packet(kNotAProbe, Timestamp::Seconds(1), Timestamp::Seconds(2));
  CHECK_FALSE(e.handle_probe(not_probe));
  PacketResult lost = probe_packet(1, Timestamp::Seconds(1), Timestamp::PlusInfinity());
  CHECK_FALSE(e.handle_probe(lost));
}

TEST_CASE("ProbeBitrateEstimator keeps a bounded number of clusters") {
  ProbeBitrateEstimator e;
  for (int id = 0; id < 1000; ++id) {
    (void)e.handle_probe(probe_packet(id, Timestamp::Seconds(1), Timestamp::Seconds(2)));
  }
  CHECK(run(e, 5000, 5, 10_ms, 10_ms));
}

TEST_CASE("ProbeBitrateEstimator gives no estimate from a cluster that arrived reordered") {
  ProbeBitrateEstimator e;
  const Timestamp s0 = Timestamp::Seconds(1);
  const Timestamp r0 = Timestamp::Seconds(2);
  // Sent 2 ms apart (4 Mbps); jitter spreads the arrivals over 60 ms and swaps two of them.
  const int recv_ms[] = {0, 30, 12, 45, 60, 50};
  std::optional<DataRate> r;
  for (int i = 0; i < 6; ++i) {
    if (auto x = e.handle_probe(probe_packet(1, s0 + TimeDelta::Millis(2 * i), r0 + TimeDelta::Millis(recv_ms[i])))) r = x;
  }
  CHECK_FALSE(r.has_value());
  // The same cluster in order is measured (at the slower receive rate).
  r = run(e, 2, 6, 2_ms, 12_ms);
  REQUIRE(r);
  CHECK(r->kbps() < 800);
}
