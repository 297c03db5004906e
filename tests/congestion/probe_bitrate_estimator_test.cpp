#include "tern/congestion/probe_bitrate_estimator.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <random>

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

namespace {
// A cluster of `n` 1000-byte packets sent at 3 Mbps through a 2 Mbps bottleneck (4 ms a packet)
// and then a path that adds uniform +-`jitter_ms` of jitter but keeps order (a packet held back
// holds the ones behind it, as a FIFO link does). Returns the last estimate.
std::optional<DataRate> jittered_cluster(ProbeBitrateEstimator& e, int cluster, int n, int jitter_ms, uint32_t seed) {
  std::mt19937 rng(seed);
  const Timestamp s0 = Timestamp::Seconds(1);
  Timestamp last_arrival = Timestamp::MinusInfinity();
  std::optional<DataRate> out;
  for (int i = 0; i < n; ++i) {
    const Timestamp send = s0 + TimeDelta::Micros(8000 * i / 3);
    const Timestamp done = s0 + TimeDelta::Millis(50 + 4 * i);
    const int64_t j = jitter_ms == 0 ? 0 : static_cast<int64_t>(rng() % static_cast<uint32_t>(2 * jitter_ms * 1000 + 1)) - jitter_ms * 1000;
    const Timestamp arrival = std::max(last_arrival, done + TimeDelta::Micros(j));
    last_arrival = arrival;
    if (auto r = e.handle_probe(probe_packet(cluster, send, arrival))) out = r;
  }
  return out;
}
}  // namespace

TEST_CASE("ProbeBitrateEstimator with the scatter test gives no estimate from a short cluster whose arrivals jitter bunched") {
  // Without jitter the cluster reads the bottleneck (0.95 x 2 Mbps: path-limited); nor does a
  // clean cluster of mixed sizes scatter (the fit is over bytes, not send times).
  ProbeBitrateEstimator::Config scatter_test;
  scatter_test.max_arrival_scatter = 0.25;
  ProbeBitrateEstimator clean(scatter_test);
  auto r = jittered_cluster(clean, 1, 8, 0, 1);
  REQUIRE(r);
  CHECK(r->kbps() == 1900);
  // Eight packets span 32 ms at the bottleneck, less than +-20 ms of jitter: over 200 seeds, an
  // estimator without the scatter test reads up to the 3 Mbps sent, about one run in six above
  // 2.5 Mbps; with it, none of the few estimates it still gives is 25% over the link.
  ProbeBitrateEstimator::Config off;
  off.max_arrival_scatter = 0;
  int over_without = 0, over_with = 0, given = 0;
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    ProbeBitrateEstimator a(off), b(scatter_test);
    auto ra = jittered_cluster(a, 1, 8, 20, seed);
    auto rb = jittered_cluster(b, 1, 8, 20, seed);
    if (ra && ra->kbps() > 2500) ++over_without;
    if (rb) ++given;
    if (rb && rb->kbps() > 2500) ++over_with;
  }
  MESSAGE("over 2.5 Mbps without the test: " << over_without << " of 200; with it " << over_with << " of " << given << " estimates");
  CHECK(over_without >= 25);
  CHECK(over_with == 0);
  // A cluster long enough for the jitter is measured: 60 packets (240 ms) through the same path
  // read within 15% of 0.95 x 2 Mbps on every seed (+-20 ms at each end of 240 ms).
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    ProbeBitrateEstimator e(scatter_test);
    auto longer = jittered_cluster(e, 1, 60, 20, seed);
    REQUIRE(longer);
    CHECK(longer->kbps() >= 1615);
    CHECK(longer->kbps() <= 2185);
  }
}

TEST_CASE("ProbeBitrateEstimator with the scatter test measures a clean path-limited cluster of mixed sizes sent unevenly") {
  // The pacer's probe packets differ in size (padding, media) and leave at uneven times; a 1 Mbps
  // bottleneck spaces their arrivals by their sizes. No scatter: measured (0.95 x 1 Mbps).
  ProbeBitrateEstimator::Config scatter_test;
  scatter_test.max_arrival_scatter = 0.25;
  ProbeBitrateEstimator e(scatter_test);
  const int sizes[] = {1200, 100, 1000, 1100, 300, 1200, 900};
  const int send_us[] = {0, 4400, 9800, 10000, 14400, 15000, 21000};
  const Timestamp s0 = Timestamp::Seconds(1);
  Timestamp arrival = Timestamp::Seconds(2);
  std::optional<DataRate> r;
  for (int i = 0; i < 7; ++i) {
    if (i > 0) arrival += TimeDelta::Micros(int64_t{sizes[i]} * 8);  // 8 us per byte at 1 Mbps
    if (auto x = e.handle_probe(probe_packet(1, s0 + TimeDelta::Micros(send_us[i]), arrival, DataSize::Bytes(sizes[i])))) r = x;
  }
  REQUIRE(r);
  CHECK(r->kbps() == 950);
}

TEST_CASE("ProbeBitrateEstimator with the scatter test keeps at most kMaxScatterPoints arrivals a cluster") {
  // 150 packets: `clean` arrive one 1 Mbps bottleneck slot apart (8 ms per 1000 bytes), the rest
  // bunched in two bursts (up to packet 100 at once, then the others 400 ms later). With the
  // first 64 clean, the fit sees only clean arrivals and the cluster is measured (the rates count
  // every packet); with bunching inside the first 64 it is refused.
  static_assert(ProbeBitrateEstimator::kMaxScatterPoints == 64);
  ProbeBitrateEstimator::Config scatter_test;
  scatter_test.max_arrival_scatter = 0.25;
  auto run_cluster = [&](int clean) {
    ProbeBitrateEstimator e(scatter_test);
    const Timestamp s0 = Timestamp::Seconds(1);
    Timestamp arrival = Timestamp::Seconds(2);
    std::optional<DataRate> last;
    for (int i = 0; i < 150; ++i) {
      if (i > 0 && i < clean) arrival += 8_ms;
      if (i == 100) arrival += 400_ms;
      last = e.handle_probe(probe_packet(1, s0 + TimeDelta::Millis(i), arrival));
    }
    return last;
  };
  const auto measured = run_cluster(64);
  REQUIRE(measured);
  MESSAGE("64 clean arrivals of 150: " << measured->kbps() << " kbps");
  CHECK(measured->kbps() > 1000);  // 149 kB over 904 ms, discounted: 0.95 x 1.32 Mbps
  CHECK(measured->kbps() < 1400);
  CHECK_FALSE(run_cluster(20));
}

namespace {
// A cluster of 1000-byte packets sent at `send_kbps` for `duration_ms` through a bottleneck of
// `capacity_kbps`, then a path adding independent uniform +-`jitter_ms` (packets overtake each
// other). Returns the last estimate.
std::optional<DataRate> reordered_cluster(ProbeBitrateEstimator& e, int cluster, int send_kbps, int capacity_kbps,
                                          int duration_ms, int jitter_ms, uint32_t seed) {
  std::mt19937 rng(seed);
  const Timestamp s0 = Timestamp::Seconds(1);
  ProbeClusterConfig config;  // as the controller registers it: 80% of its bytes must arrive
  config.id = cluster;
  config.target_rate = DataRate::KilobitsPerSec(send_kbps);
  config.target_duration = TimeDelta::Millis(duration_ms);
  e.on_probe_cluster(config);
  const int64_t send_gap_us = 8000LL * 1000 / send_kbps, service_us = 8000LL * 1000 / capacity_kbps;
  Timestamp free_at = s0;
  struct Arrival {
    Timestamp at;
    Timestamp send;
  };
  std::vector<Arrival> arrivals;
  for (int64_t t = 0; t < duration_ms * 1000LL; t += send_gap_us) {
    const Timestamp send = s0 + TimeDelta::Micros(t);
    free_at = std::max(free_at, send) + TimeDelta::Micros(service_us);
    const int64_t j = static_cast<int64_t>(rng() % static_cast<uint32_t>(2 * jitter_ms * 1000 + 1)) - jitter_ms * 1000;
    arrivals.push_back({free_at + 50_ms + TimeDelta::Micros(j), send});
  }
  std::sort(arrivals.begin(), arrivals.end(), [](const Arrival& a, const Arrival& b) { return a.at < b.at; });
  std::optional<DataRate> out;
  for (const Arrival& a : arrivals) {
    if (auto r = e.handle_probe(probe_packet(cluster, a.send, a.at))) out = r;
  }
  return out;
}
}  // namespace

TEST_CASE("ProbeBitrateEstimator measures a reordered cluster long enough for the jitter by a fit over send order") {
  // 3 Mbps through 2 Mbps, +-35 ms of jitter that reorders (issue 14's far-jittery link).
  int measured = 0;
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    // 15 ms: the arrivals are scattered over four times the cluster; no estimate, and the
    // estimator reports the jitter it met (the delays' standard deviation: ~20 ms for +-35 ms
    // uniform jitter, measured over a handful of packets).
    ProbeBitrateEstimator e;
    CHECK_FALSE(reordered_cluster(e, 1, 3000, 2000, 15, 35, seed));
    const auto too_short = e.fetch_too_short();
    REQUIRE(too_short);
    CHECK(too_short->jitter >= 8_ms);
    CHECK(too_short->jitter <= 35_ms);
    CHECK(too_short->receive_rate < 2_mbps);  // first to last arrival: jitter stretched it
    CHECK_FALSE(e.fetch_too_short());         // cleared by the fetch
    // 160 ms: the fit reads the bottleneck (path-limited: 0.95 x 2 Mbps) within 15%.
    ProbeBitrateEstimator long_cluster;
    const auto r = reordered_cluster(long_cluster, 2, 3000, 2000, 160, 35, seed);
    if (r) {
      ++measured;
      CHECK(r->kbps() >= 1900 * 0.85);
      CHECK(r->kbps() <= 1900 * 1.15);
    }
  }
  MESSAGE("160 ms reordered clusters measured: " << measured << " of 20");
  CHECK(measured >= 18);
  // Below the bottleneck the fit follows the send spacing: 1 Mbps through 2 Mbps reads 1 Mbps.
  ProbeBitrateEstimator under;
  const auto r = reordered_cluster(under, 3, 1000, 2000, 250, 35, 7);
  REQUIRE(r);
  CHECK(r->kbps() == doctest::Approx(1000).epsilon(0.15));
  // Bogus timing: a reordered cluster whose arrivals span 3 us gives no rate (a slope of almost
  // nothing would read as a rate past any integer).
  ProbeBitrateEstimator bogus;
  const Timestamp s0 = Timestamp::Seconds(1), r0 = Timestamp::Seconds(2);
  const int us[] = {0, 2, 1, 3, 2, 3};
  std::optional<DataRate> b;
  for (int i = 0; i < 6; ++i) {
    if (auto x = bogus.handle_probe(probe_packet(9, s0 + TimeDelta::Millis(i), r0 + TimeDelta::Micros(us[i])))) b = x;
  }
  CHECK_FALSE(b.has_value());
  // With the fit off (max_fit_error <= 0) a reordered cluster gives nothing, as before.
  ProbeBitrateEstimator::Config off;
  off.max_fit_error = 0;
  ProbeBitrateEstimator no_fit(off);
  CHECK_FALSE(reordered_cluster(no_fit, 4, 3000, 2000, 160, 35, 1));
}

TEST_CASE("ProbeBitrateEstimator fits a reordered cluster over at most kMaxFitPoints arrivals") {
  // 200 packets of 1000 bytes sent 1 ms apart (8 Mbps). The first 128 to arrive come one 2 Mbps
  // slot (4 ms) apart, two of them swapped (reordered); the other 72 all arrive at one instant,
  // 100 ms later. A fit over every arrival would bend towards that bunch; over the first 128 it
  // reads the 2 Mbps line (path-limited: 0.95 x 2 Mbps).
  static_assert(ProbeBitrateEstimator::kMaxFitPoints == 128);
  ProbeBitrateEstimator e;
  const Timestamp s0 = Timestamp::Seconds(1), r0 = Timestamp::Seconds(2);
  std::optional<DataRate> last;
  for (int i = 0; i < 200; ++i) {
    const int slot = i == 10 ? 11 : i == 11 ? 10 : i;  // packets 10 and 11 arrive swapped
    const Timestamp arrival = i < 128 ? r0 + TimeDelta::Millis(4 * slot) : r0 + 612_ms;
    if (auto r = e.handle_probe(probe_packet(1, s0 + TimeDelta::Millis(i), arrival))) last = r;
  }
  REQUIRE(last);
  MESSAGE("reordered cluster, 128 of 200 arrivals fitted: " << last->kbps() << " kbps");
  CHECK(last->kbps() == doctest::Approx(1900).epsilon(0.03));
}

TEST_CASE("ProbeBitrateEstimator flags in-order readings whose arrivals scatter about their line") {
  // Eight 1000-byte packets sent at 3 Mbps through a 2 Mbps bottleneck (one leaves every 4 ms),
  // then through jitter that keeps order: each packet is delayed 0-40 ms but never overtakes the
  // one before it, so a packet held back holds the ones behind it (issue 14's default link).
  auto cluster = [](ProbeBitrateEstimator& e, int id, std::mt19937& rng, double jitter_ms) {
    std::uniform_real_distribution<double> jitter(0.0, jitter_ms);
    const Timestamp s0 = Timestamp::Seconds(1);
    Timestamp previous = Timestamp::MinusInfinity();
    std::optional<DataRate> out;
    for (int i = 0; i < 8; ++i) {
      const Timestamp send = s0 + TimeDelta::Micros(2667 * i);
      const Timestamp left = s0 + 50_ms + TimeDelta::Millis(4 * i);
      const Timestamp arrival = max(previous, left + TimeDelta::Micros(static_cast<int64_t>(jitter(rng) * 1000)));
      previous = arrival;
      if (auto r = e.handle_probe(probe_packet(id, send, arrival))) out = r;
    }
    return out;
  };
  std::mt19937 rng(14);
  ProbeBitrateEstimator e;
  // Without jitter the reading is the bottleneck (discounted, as clearly path-limited) and clean.
  auto clean = cluster(e, 1, rng, 0.0);
  REQUIRE(clean);
  CHECK(clean->kbps() == 1900);
  CHECK(e.fetch_and_reset_last_estimate());
  CHECK_FALSE(e.fetch_scattered());
  int over_reads = 0;
  int flagged_over = 0;
  int flagged = 0;
  for (int id = 2; id < 202; ++id) {
    auto r = cluster(e, id, rng, 40.0);
    const bool scattered = e.fetch_scattered();
    if (!r) continue;  // bunched into (almost) one instant: no reading at all
    CHECK_FALSE(e.fetch_scattered());  // the fetch cleared it
    flagged += scattered ? 1 : 0;
    if (*r > 2200_kbps) {  // more than 10% over the link: the jitter's reading, not the path's
      ++over_reads;
      flagged_over += scattered ? 1 : 0;
    }
  }
  MESSAGE(over_reads << " of 200 jittered clusters read over 2.2 Mbps, " << flagged_over << " of them flagged; "
                     << flagged << " flagged in all");
  CHECK(over_reads >= 20);  // the case is common
  // Nearly all of them are flagged (41 of 42 here: one whose eight points happen to lie near a
  // line reads 2346 kbps unflagged).
  CHECK(flagged_over * 10 >= over_reads * 9);
  CHECK(flagged < 200);     // and the flag is not on every jittered cluster
  // Off with max_fit_error <= 0.
  ProbeBitrateEstimator::Config c;
  c.max_fit_error = 0;
  ProbeBitrateEstimator off(c);
  for (int id = 1; id < 20; ++id) {
    (void)cluster(off, id, rng, 40.0);
    CHECK_FALSE(off.fetch_scattered());
  }
}
