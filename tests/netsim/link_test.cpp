#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "tern/netsim/event_loop.h"
#include "tern/netsim/link.h"

using namespace tern;
using namespace tern::netsim;
using namespace tern::unit_literals;

namespace {

SimPacket make_packet(uint64_t id, int64_t bytes, Timestamp now) {
  SimPacket p;
  p.id = id;
  p.overhead = DataSize::Bytes(bytes);
  p.sent_time = now;
  return p;
}

// Sends `count` packets of `bytes`, one every `spacing` from t = 0, drives the link in virtual
// time until `until`, and returns everything delivered in delivery order.
std::vector<SimPacket> run_link(Link& link, int count, int64_t bytes, TimeDelta spacing, Timestamp until) {
  std::vector<SimPacket> got;
  Timestamp now = Timestamp::Zero();
  int sent = 0;
  // Bounded: every iteration either sends one packet or advances to a strictly later wakeup.
  for (int guard = 0; guard < 10'000'000; ++guard) {
    const Timestamp next_send = sent < count ? Timestamp::Zero() + spacing * sent : Timestamp::PlusInfinity();
    const auto wake = link.next_wakeup();
    const Timestamp next = min(next_send, wake.value_or(Timestamp::PlusInfinity()));
    if (next > until) break;
    now = next;
    for (SimPacket& p : link.process(now)) got.push_back(std::move(p));
    if (next_send == now) {
      link.send(make_packet(static_cast<uint64_t>(sent), bytes, now), now);
      ++sent;
    }
  }
  for (SimPacket& p : link.process(until)) got.push_back(std::move(p));
  return got;
}

Link make_link(const LinkConfig& c) {
  auto l = Link::Create(c);
  REQUIRE(l.ok());
  return std::move(*l);
}

}  // namespace

TEST_CASE("1 Mbps link delivers a 1250-byte packet after 10 ms serialization plus delay") {
  LinkConfig c;
  c.capacity = 1_mbps;
  c.delay = 30_ms;
  Link link = make_link(c);
  link.send(make_packet(1, 1250, Timestamp::Zero()), Timestamp::Zero());
  REQUIRE(link.next_wakeup().has_value());
  CHECK(*link.next_wakeup() == Timestamp::Millis(10));
  CHECK(link.process(Timestamp::Millis(39)).empty());
  auto out = link.process(Timestamp::Millis(40));
  REQUIRE(out.size() == 1);
  CHECK(out[0].id == 1);
  CHECK(out[0].delivery_time == Timestamp::Millis(40));
  CHECK_FALSE(link.next_wakeup().has_value());
  CHECK(link.stats().packets_delivered == 1);
}

TEST_CASE("Throughput equals capacity under saturation within 1%") {
  LinkConfig c;
  c.capacity = 2_mbps;
  c.delay = 20_ms;
  c.queue_packets = 50;
  Link link = make_link(c);
  // Offer 4 Mbps (1000-byte packets every 2 ms) for 10 s.
  auto got = run_link(link, 5000, 1000, 2_ms, Timestamp::Seconds(11));
  int64_t bytes = 0;
  for (const auto& p : got)
    if (p.delivery_time >= Timestamp::Seconds(1) && p.delivery_time < Timestamp::Seconds(9)) bytes += 1000;
  const double rate = static_cast<double>(bytes) * 8 / 8.0;
  CHECK(rate == doctest::Approx(2e6).epsilon(0.01));
  CHECK(link.stats().dropped_queue > 0);
}

TEST_CASE("Drop-tail by packets and bytes and time bounds the queueing delay") {
  for (int variant = 0; variant < 3; ++variant) {
    LinkConfig c;
    c.capacity = 1_mbps;  // 1250 bytes = 10 ms
    c.queue_packets.reset();
    if (variant == 0) c.queue_packets = 10;
    if (variant == 1) c.queue_bytes = DataSize::Bytes(12500);
    if (variant == 2) c.queue_delay = 100_ms;
    Link link = make_link(c);
    (void)run_link(link, 2000, 1250, 5_ms, Timestamp::Seconds(20));
    CAPTURE(variant);
    CHECK(link.stats().dropped_queue > 500);
    // 10 waiting packets x 10 ms, plus at most the rest of the packet in service.
    CHECK(link.stats().queue_delay_max <= 110_ms);
    CHECK(link.stats().queue_delay_max >= 90_ms);
    CHECK(link.stats().packets_delivered + link.stats().dropped_queue == 2000);
  }
}

TEST_CASE("Random loss on a link is within binomial tolerance and uses capacity") {
  LinkConfig c;
  c.capacity = 10_mbps;
  c.loss = LossConfig::Random(0.05);
  c.seed = 99;
  Link link = make_link(c);
  auto got = run_link(link, 20000, 100, 1_ms, Timestamp::Seconds(30));
  const double sigma = std::sqrt(20000 * 0.05 * 0.95);
  CHECK(std::abs(static_cast<double>(link.stats().dropped_loss) - 1000.0) < 4 * sigma);
  CHECK(got.size() + link.stats().dropped_loss == 20000);
  CHECK(link.stats().bytes_serialized == DataSize::Bytes(20000 * 100));
}

TEST_CASE("Loss is decided after the queue - lost packets still delay the ones behind them") {
  LinkConfig c;
  c.capacity = 1_mbps;
  c.loss = LossConfig::GilbertElliott(0.5, 2.0);
  c.seed = 3;
  Link link = make_link(c);
  auto got = run_link(link, 200, 1250, TimeDelta::Zero(), Timestamp::Seconds(10));
  // Packet i finishes serialization at (i + 1) x 10 ms whatever happened to the ones before it.
  REQUIRE(!got.empty());
  for (const auto& p : got) CHECK(p.delivery_time == Timestamp::Millis(10 * static_cast<int64_t>(p.id + 1)));
  CHECK(got.size() < 200);
}

TEST_CASE("Gilbert-Elliott on a link - average loss and burst length") {
  LinkConfig c;
  c.loss = LossConfig::GilbertElliott(0.1, 3.0);
  c.seed = 11;
  Link link = make_link(c);
  auto got = run_link(link, 100000, 100, 1_ms, Timestamp::Seconds(200));
  std::vector<bool> delivered(100000, false);
  for (const auto& p : got) delivered[p.id] = true;
  int lost = 0, bursts = 0;
  for (size_t i = 0; i < delivered.size(); ++i) {
    if (!delivered[i]) {
      ++lost;
      if (i == 0 || delivered[i - 1]) ++bursts;
    }
  }
  CHECK(lost / 100000.0 == doctest::Approx(0.1).epsilon(0.08));
  REQUIRE(bursts > 0);
  CHECK(static_cast<double>(lost) / bursts == doctest::Approx(3.0).epsilon(0.08));
}

TEST_CASE("Jitter without reordering keeps order and with reordering it reorders") {
  for (auto model : {LinkConfig::Jitter::kUniform, LinkConfig::Jitter::kNormal}) {
    LinkConfig c;
    c.delay = 50_ms;
    c.jitter_model = model;
    c.jitter = 10_ms;
    c.seed = 5;
    c.allow_reordering = false;
    Link ordered = make_link(c);
    auto a = run_link(ordered, 2000, 200, 1_ms, Timestamp::Seconds(5));
    REQUIRE(a.size() == 2000);
    for (size_t i = 1; i < a.size(); ++i) {
      CHECK(a[i].id > a[i - 1].id);
      CHECK(a[i].delivery_time >= a[i - 1].delivery_time);
    }
    c.allow_reordering = true;
    Link reordering = make_link(c);
    auto b = run_link(reordering, 2000, 200, 1_ms, Timestamp::Seconds(5));
    REQUIRE(b.size() == 2000);
    int inversions = 0;
    TimeDelta min_d = TimeDelta::PlusInfinity(), max_d = TimeDelta::MinusInfinity();
    double sum_ms = 0;
    for (size_t i = 0; i < b.size(); ++i) {
      if (i > 0 && b[i].id < b[i - 1].id) ++inversions;
      if (i > 0) CHECK(b[i].delivery_time >= b[i - 1].delivery_time);
      const TimeDelta d = b[i].delivery_time - b[i].sent_time;
      min_d = min(min_d, d);
      max_d = max(max_d, d);
      sum_ms += d.ms_f();
    }
    CHECK(inversions > 100);
    const TimeDelta bound = model == LinkConfig::Jitter::kUniform ? 10_ms : 30_ms;
    CHECK(min_d >= 50_ms - bound);
    CHECK(max_d <= 50_ms + bound);
    CHECK(sum_ms / 2000 == doctest::Approx(50.0).epsilon(0.02));
  }
}

TEST_CASE("Duplication rate and duplicate flag") {
  LinkConfig c;
  c.duplication = 0.05;
  c.delay = 10_ms;
  c.seed = 21;
  Link link = make_link(c);
  auto got = run_link(link, 20000, 100, 1_ms, Timestamp::Seconds(30));
  int dups = 0;
  for (const auto& p : got) dups += p.duplicate ? 1 : 0;
  CHECK(static_cast<uint64_t>(dups) == link.stats().duplicated);
  CHECK(got.size() == 20000 + static_cast<size_t>(dups));
  CHECK(std::abs(dups - 1000.0) < 4 * std::sqrt(20000 * 0.05 * 0.95));
}

TEST_CASE("Blackout drops exactly the packets sent inside the window") {
  LinkConfig c;
  c.capacity = 10_mbps;
  c.delay = 5_ms;
  c.blackouts = {{Timestamp::Millis(1000), Timestamp::Millis(2000)}};
  Link link = make_link(c);
  auto got = run_link(link, 3000, 100, 1_ms, Timestamp::Seconds(4));
  CHECK(link.stats().dropped_blackout == 1000);
  CHECK(got.size() == 2000);
  for (const auto& p : got) CHECK((p.sent_time < Timestamp::Millis(1000) || p.sent_time >= Timestamp::Millis(2000)));
}

TEST_CASE("Capacity trace switches rate at the right time and also mid-packet") {
  auto trace = RateTrace::Parse("0 1000\n1000 500\n2000 0\n3000 1000\n");
  REQUIRE(trace.ok());
  LinkConfig c;
  c.rate_trace = std::make_shared<const RateTrace>(std::move(*trace));
  c.trace_origin = Timestamp::Zero();
  Link link = make_link(c);
  link.send(make_packet(0, 1250, Timestamp::Zero()), Timestamp::Zero());  // 10 ms at 1 Mbps
  auto out = link.process(Timestamp::Millis(10));
  REQUIRE(out.size() == 1);
  CHECK(out[0].delivery_time == Timestamp::Millis(10));
  // Sent at 995 ms: 5000 bits at 1 Mbps (5 ms), then 5000 bits at 500 kbps (10 ms).
  link.send(make_packet(1, 1250, Timestamp::Millis(995)), Timestamp::Millis(995));
  REQUIRE(link.next_wakeup().has_value());
  CHECK(*link.next_wakeup() == Timestamp::Millis(1010));
  out = link.process(Timestamp::Millis(1010));
  REQUIRE(out.size() == 1);
  // At 500 kbps a 1250-byte packet takes 20 ms.
  link.send(make_packet(2, 1250, Timestamp::Millis(1500)), Timestamp::Millis(1500));
  CHECK(*link.next_wakeup() == Timestamp::Millis(1520));
  (void)link.process(Timestamp::Millis(1520));
  // Sent during the outage: waits until 3000 ms, then 10 ms at 1 Mbps.
  link.send(make_packet(3, 1250, Timestamp::Millis(2500)), Timestamp::Millis(2500));
  CHECK(*link.next_wakeup() == Timestamp::Millis(3010));
}

TEST_CASE("set_capacity applies to the packet in service") {
  LinkConfig c;
  c.capacity = 1_mbps;
  Link link = make_link(c);
  link.send(make_packet(0, 1250, Timestamp::Zero()), Timestamp::Zero());
  // Half sent after 5 ms; the other 5000 bits at 2 Mbps take 2.5 ms.
  link.set_capacity(2_mbps, Timestamp::Millis(5));
  REQUIRE(link.next_wakeup().has_value());
  CHECK(*link.next_wakeup() == Timestamp::Micros(7500));
}

TEST_CASE("set_delay changes the delay of packets sent later, in-flight packets keep theirs, order holds") {
  LinkConfig c;
  c.delay = 100_ms;
  Link link = make_link(c);
  link.send(make_packet(0, 100, Timestamp::Zero()), Timestamp::Zero());  // unlimited capacity: in flight at once
  link.set_delay(20_ms, Timestamp::Millis(10));
  link.send(make_packet(1, 100, Timestamp::Millis(10)), Timestamp::Millis(10));  // would arrive at 30 ms
  link.set_delay(200_ms, Timestamp::Millis(50));
  link.send(make_packet(2, 100, Timestamp::Millis(50)), Timestamp::Millis(50));
  const auto out = link.process(Timestamp::Seconds(1));
  REQUIRE(out.size() == 3);
  CHECK(out[0].delivery_time == Timestamp::Millis(100));
  CHECK(out[1].delivery_time == Timestamp::Millis(100));  // not before packet 0 (no reordering)
  CHECK(out[2].delivery_time == Timestamp::Millis(250));
}

TEST_CASE("Mahimahi trace delivers one 1500-byte packet per opportunity and loops") {
  auto trace = DeliveryTrace::Parse("2\n4\n4\n10\n");
  REQUIRE(trace.ok());
  LinkConfig c;
  c.delivery_trace = std::make_shared<const DeliveryTrace>(std::move(*trace));
  c.trace_origin = Timestamp::Zero();
  Link link = make_link(c);
  for (int i = 0; i < 8; ++i) link.send(make_packet(static_cast<uint64_t>(i), 1500, Timestamp::Zero()), Timestamp::Zero());
  std::vector<int64_t> times;
  for (int guard = 0; guard < 100 && link.next_wakeup(); ++guard)
    for (const auto& p : link.process(*link.next_wakeup())) times.push_back(p.delivery_time.ms());
  CHECK(times == std::vector<int64_t>{2, 4, 4, 10, 12, 14, 14, 20});

  // Small packets share an opportunity; a big one spans two.
  Link small = make_link(c);
  for (int i = 0; i < 3; ++i) small.send(make_packet(static_cast<uint64_t>(i), 500, Timestamp::Zero()), Timestamp::Zero());
  small.send(make_packet(3, 2000, Timestamp::Zero()), Timestamp::Zero());
  times.clear();
  for (int guard = 0; guard < 100 && small.next_wakeup(); ++guard)
    for (const auto& p : small.process(*small.next_wakeup())) times.push_back(p.delivery_time.ms());
  CHECK(times == std::vector<int64_t>{2, 2, 2, 4});
  // Idle opportunities are not banked: a packet sent at 25 ms waits for the one at 30 ms.
  small.send(make_packet(4, 1500, Timestamp::Millis(25)), Timestamp::Millis(25));
  CHECK(*small.next_wakeup() == Timestamp::Millis(30));
}

TEST_CASE("Same seed gives the same delivery sequence and another seed a different one") {
  auto run = [](uint64_t seed) {
    LinkConfig c;
    c.capacity = 5_mbps;
    c.delay = 40_ms;
    c.jitter_model = LinkConfig::Jitter::kNormal;
    c.jitter = 5_ms;
    c.allow_reordering = true;
    c.loss = LossConfig::GilbertElliott(0.05, 2.0);
    c.duplication = 0.01;
    c.seed = seed;
    Link link = make_link(c);
    std::vector<std::pair<uint64_t, int64_t>> seq;
    for (const auto& p : run_link(link, 3000, 500, 1_ms, Timestamp::Seconds(5)))
      seq.emplace_back(p.id, p.delivery_time.us());
    return seq;
  };
  const auto a = run(42);
  CHECK(a == run(42));
  CHECK(a != run(43));
}

TEST_CASE("CoDel keeps the standing queue near target where drop-tail does not") {
  // An unresponsive 11 Mbps flow into 10 Mbps for 30 s. CoDel's drop rate ramps up with
  // sqrt(count), so against a flow that never backs off it settles above target but far below
  // the full drop-tail queue (1000 packets = 1 s); samples are taken once it has converged.
  auto run = [](bool codel, Link* out) {
    LinkConfig c;
    c.capacity = 10_mbps;  // 1250 bytes = 1 ms
    c.queue_packets = 1000;
    if (codel) c.codel = CodelConfig{};
    Link link = make_link(c);
    auto got = run_link(link, 33000, 1250, TimeDelta::Micros(909), Timestamp::Seconds(32));
    std::vector<TimeDelta> delays;
    for (const auto& p : got)
      if (p.sent_time > Timestamp::Seconds(15)) delays.push_back(p.delivery_time - p.sent_time);
    std::sort(delays.begin(), delays.end());
    *out = std::move(link);
    return delays;
  };
  Link droptail = make_link(LinkConfig{});
  Link codel = make_link(LinkConfig{});
  const auto d_tail = run(false, &droptail);
  const auto d_codel = run(true, &codel);
  REQUIRE(d_tail.size() > 1000);
  REQUIRE(d_codel.size() > 1000);
  const TimeDelta tail_p50 = d_tail[d_tail.size() / 2];
  const TimeDelta codel_p50 = d_codel[d_codel.size() / 2];
  const TimeDelta codel_p95 = d_codel[d_codel.size() * 95 / 100];
  MESSAGE("drop-tail p50 " << tail_p50.to_string() << ", codel p50 " << codel_p50.to_string() << " p95 "
                           << codel_p95.to_string());
  CHECK(tail_p50 > 900_ms);
  CHECK(codel_p50 < 50_ms);
  CHECK(codel_p95 < 80_ms);
  CHECK(codel.stats().dropped_codel > 0);
  CHECK(codel.stats().dropped_queue == 0);
  // CoDel does not starve the link: it serialises ~capacity x 30 s.
  CHECK(codel.stats().bytes_serialized.bytes() > 10'000'000 / 8 * 29);
}

TEST_CASE("Processing late (real-time driver) gives the same delivery times") {
  LinkConfig c;
  c.capacity = 2_mbps;
  c.delay = 25_ms;
  c.jitter_model = LinkConfig::Jitter::kUniform;
  c.jitter = 3_ms;
  c.seed = 8;
  Link exact = make_link(c);
  auto expected = run_link(exact, 200, 600, 3_ms, Timestamp::Seconds(2));
  Link late = make_link(c);
  std::vector<SimPacket> got;
  for (int i = 0; i < 200; ++i) {
    const Timestamp t = Timestamp::Zero() + 3_ms * i;
    if (i % 7 == 0)  // an irregular, late poll
      for (auto& p : late.process(t)) got.push_back(std::move(p));
    late.send(make_packet(static_cast<uint64_t>(i), 600, t), t);
  }
  for (auto& p : late.process(Timestamp::Seconds(2))) got.push_back(std::move(p));
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].id == expected[i].id);
    CHECK(got[i].delivery_time == expected[i].delivery_time);
  }
}

TEST_CASE("In-flight bound drops and counts") {
  LinkConfig c;
  c.delay = 1_s;
  c.max_in_flight = 10;
  Link link = make_link(c);
  (void)run_link(link, 20, 100, 1_ms, Timestamp::Millis(500));
  CHECK(link.in_flight() == 10);
  CHECK(link.stats().dropped_in_flight_limit == 10);
}

TEST_CASE("Invalid link configs are rejected with a reason") {
  auto bad = [](auto mutate) {
    LinkConfig c;
    mutate(c);
    auto l = Link::Create(c);
    CHECK_FALSE(l.ok());
    CHECK(std::string(l.error()).size() > 0);
  };
  bad([](LinkConfig& c) { c.capacity = DataRate::BitsPerSec(-1); });
  bad([](LinkConfig& c) { c.delay = -1_ms; });
  bad([](LinkConfig& c) { c.jitter = -1_ms; });
  bad([](LinkConfig& c) { c.duplication = 1.5; });
  bad([](LinkConfig& c) { c.loss = LossConfig::Random(2.0); });
  bad([](LinkConfig& c) { c.blackouts = {{Timestamp::Millis(5), Timestamp::Millis(1)}}; });
  bad([](LinkConfig& c) { c.codel = CodelConfig{TimeDelta::Zero(), 100_ms, DataSize::Bytes(1500)}; });
  bad([](LinkConfig& c) { c.max_in_flight = 0; });
}
