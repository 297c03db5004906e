#include "tern/rtp/rtcp_scheduler.h"

#include <doctest/doctest.h>

#include <vector>

#include "tern/core/random.h"

using namespace tern;
using namespace tern::rtp;

namespace {

constexpr double kComp = 2.71828 - 1.5;

RtcpScheduler make_scheduler(RtcpScheduler::Config c) {
  auto r = RtcpScheduler::Create(c);
  REQUIRE(r.ok());
  return std::move(r).value();
}

struct Send {
  Timestamp at;
  bool early;
};

// Runs the driver loop: wake at next_wakeup(), send when due. Bounded by `max_sends` and `until`.
std::vector<Send> run(RtcpScheduler& s, Timestamp until, size_t max_sends, DataSize size = DataSize::Bytes(128)) {
  std::vector<Send> sends;
  for (int guard = 0; guard < 1000000 && sends.size() < max_sends; ++guard) {
    const Timestamp now = *s.next_wakeup();
    if (now > until) break;
    if (s.due(now)) {
      const bool early = s.pending_is_early();
      s.on_sent(now, size, early);
      sends.push_back({now, early});
    }
  }
  return sends;
}

}  // namespace

TEST_CASE("RtcpScheduler: invalid configurations are rejected") {
  using C = RtcpScheduler::Config;
  C ok;
  CHECK(RtcpScheduler::Create(ok).ok());
  C c = ok;
  c.session_bandwidth = DataRate::Zero();
  CHECK_FALSE(RtcpScheduler::Create(c).ok());
  c = ok;
  c.rtcp_fraction = 0;
  CHECK_FALSE(RtcpScheduler::Create(c).ok());
  c = ok;
  c.sender_fraction = 1.0;
  CHECK_FALSE(RtcpScheduler::Create(c).ok());
  c = ok;
  c.minimum_interval = TimeDelta::Millis(-1);
  CHECK_FALSE(RtcpScheduler::Create(c).ok());
  c = ok;
  c.initial_members = 0;
  CHECK_FALSE(RtcpScheduler::Create(c).ok());
  c = ok;
  c.initial_senders = 3;
  CHECK_FALSE(RtcpScheduler::Create(c).ok());
  c = ok;
  c.initial_avg_rtcp_size = DataSize::Zero();
  CHECK_FALSE(RtcpScheduler::Create(c).ok());
  c = ok;
  c.dither_factor = 2;
  CHECK_FALSE(RtcpScheduler::Create(c).ok());
}

TEST_CASE("RtcpScheduler: A.7 deterministic interval") {
  RtcpScheduler::Config c;  // 500 kbps: RTCP gets 3125 bytes/s
  c.initial_members = 1000;
  c.initial_senders = 10;
  auto s = make_scheduler(c);
  // Senders are < 25 %: receivers share 75 % among 990 of them.
  CHECK(s.deterministic_interval().seconds_f() == doctest::Approx(128.0 * 990 / (3125 * 0.75)));
  s.set_we_sent(true);
  // Senders share 25 % among 10: 1.6384 s, below the minimum (halved before the first report).
  CHECK(s.deterministic_interval() == TimeDelta::Millis(2500));
  s.set_members(20, 10, Timestamp::Zero());  // senders are not < 25 %: everyone shares 100 %
  CHECK(s.deterministic_interval() == TimeDelta::Millis(2500));
  s.set_members(4000, 10, Timestamp::Zero());
  s.set_we_sent(false);
  CHECK(s.deterministic_interval().seconds_f() == doctest::Approx(128.0 * 3990 / (3125 * 0.75)));

  RtcpScheduler::Config r;
  r.reduced_minimum = true;  // 360 / 500 kbps = 0.72 s, halved initially
  auto reduced = make_scheduler(r);
  CHECK(reduced.deterministic_interval() == TimeDelta::Millis(360));
}

TEST_CASE("RtcpScheduler: randomised draws average T / 1.21828 over 1000 seeded draws") {
  RtcpScheduler::Config c;
  c.initial_members = 500;
  c.initial_senders = 0;
  for (uint64_t seed : {1u, 2u, 3u}) {
    c.seed = seed;
    auto s = make_scheduler(c);
    const TimeDelta t = s.deterministic_interval();
    double sum = 0;
    for (int i = 0; i < 1000; ++i) {
      const TimeDelta d = s.draw_interval();
      CHECK(d >= t * (0.5 / kComp) - TimeDelta::Micros(1));
      CHECK(d <= t * (1.5 / kComp) + TimeDelta::Micros(1));
      sum += d.seconds_f();
    }
    CHECK(sum / 1000 == doctest::Approx(t.seconds_f() / kComp).epsilon(0.10));
  }
}

TEST_CASE("RtcpScheduler: with reconsideration the mean interval is the deterministic one") {
  // Reconsideration at expiry sends at the first redraw not beyond the current deadline; for
  // U[0.5, 1.5] that averages e - 3/2 times the mean draw, which the 1/1.21828 factor cancels.
  for (size_t members : {size_t{2}, size_t{300}}) {
    CAPTURE(members);
    RtcpScheduler::Config c;
    c.initial_members = members;
    c.initial_senders = 0;
    c.seed = 77 + members;
    auto s = make_scheduler(c);
    s.start(Timestamp::Zero());
    const auto sends = run(s, Timestamp::PlusInfinity(), 1001);
    REQUIRE(sends.size() == 1001);
    // The first report comes after the initial (half minimum) interval.
    CHECK(sends[0].at >= Timestamp::Zero() + TimeDelta::Millis(2500) * (0.5 / kComp));
    const TimeDelta t = s.deterministic_interval();  // not initial any more
    const TimeDelta mean = (sends.back().at - sends[0].at) / 1000;
    CHECK(mean.seconds_f() == doctest::Approx(t.seconds_f()).epsilon(0.10));
    for (size_t i = 1; i < sends.size(); ++i) {
      // The minimum applies before randomisation: no gap below 0.5 / 1.21828 of it.
      CHECK(sends[i].at - sends[i - 1].at >= TimeDelta::Seconds(5) * (0.5 / kComp));
      CHECK_FALSE(sends[i].early);
    }
  }
}

TEST_CASE("RtcpScheduler: forward and reverse reconsideration follow member changes") {
  RtcpScheduler::Config c;
  c.initial_members = 2;
  c.initial_senders = 0;
  auto s = make_scheduler(c);
  s.start(Timestamp::Zero());
  const Timestamp first = *s.next_wakeup();
  // A crowd joins before the first report: at expiry the interval is recomputed and grows.
  s.set_members(5000, 0, Timestamp::Millis(100));
  CHECK_FALSE(s.due(first));
  const Timestamp moved = *s.next_wakeup();
  CHECK(moved > first);
  CHECK(moved - Timestamp::Zero() >= s.deterministic_interval() * (0.5 / kComp) - TimeDelta::Micros(1));
  // Most leave: the pending deadline shrinks toward now by members / pmembers.
  const Timestamp now = first;
  s.set_members(500, 0, now);  // pmembers is still 2 (no report sent), so no reverse step
  CHECK(*s.next_wakeup() == moved);
  // Send a report with 5000 members, then drop to 50.
  int guard = 0;
  while (!s.due(*s.next_wakeup()) && guard < 1000) ++guard;
  REQUIRE(guard < 1000);
  s.set_members(5000, 0, *s.next_wakeup());
  const Timestamp sent_at = *s.next_wakeup();
  s.on_sent(sent_at, DataSize::Bytes(128), false);
  const Timestamp tn = *s.next_wakeup();
  const Timestamp later = sent_at + TimeDelta::Seconds(1);
  REQUIRE(tn > later);
  s.set_members(50, 0, later);
  const TimeDelta expected = (tn - later) * (50.0 / 5000.0);
  CHECK((*s.next_wakeup() - later - expected).abs() <= TimeDelta::Micros(1));
}

TEST_CASE("RtcpScheduler: AVP (no feedback profile) never allows early packets") {
  auto s = make_scheduler({});
  CHECK(s.request_early(Timestamp::Zero()).is_plus_infinity());
  s.start(Timestamp::Zero());
  CHECK(s.request_early(Timestamp::Millis(10)).is_plus_infinity());
}

TEST_CASE("RtcpScheduler: AVPF allows one early packet between regular ones") {
  for (size_t members : {size_t{2}, size_t{6}}) {
    CAPTURE(members);
    RtcpScheduler::Config c;
    c.avpf = true;
    c.session_bandwidth = DataRate::KilobitsPerSec(64);  // RTCP 400 B/s: T_rr ~ 0.64 s for 2
    c.initial_members = members;
    c.initial_senders = 1;
    c.seed = 9;
    auto s = make_scheduler(c);
    s.start(Timestamp::Zero());
    Random rng(31);
    std::vector<Send> sends;
    int early_granted = 0, early_refused = 0;
    Timestamp now = Timestamp::Zero();
    for (int step = 0; step < 20000; ++step) {  // 20 s in 1 ms steps
      now += TimeDelta::Millis(1);
      if (rng.bernoulli(0.01)) {
        const Timestamp when = s.request_early(now);
        if (when.is_plus_infinity()) {
          ++early_refused;
          CHECK_FALSE(s.allow_early());
        } else {
          CHECK(when >= now);
          if (members == 2 && s.allow_early()) CHECK(when == now);  // immediate, no dithering
          ++early_granted;
        }
      }
      while (s.next_wakeup() && *s.next_wakeup() <= now && s.due(now)) {
        const bool early = s.pending_is_early();
        s.on_sent(now, DataSize::Bytes(80), early);
        sends.push_back({now, early});
      }
    }
    int earlies = 0;
    for (size_t i = 0; i + 1 < sends.size(); ++i) {
      if (sends[i].early) ++earlies;
      CHECK_FALSE((sends[i].early && sends[i + 1].early));
    }
    CHECK(earlies > 0);
    CHECK(early_refused > 0);
    CHECK(early_granted > 0);
  }
}

TEST_CASE("RtcpScheduler: AVPF T_rr_interval suppresses frequent regular reports") {
  RtcpScheduler::Config c;
  c.avpf = true;
  c.session_bandwidth = DataRate::MegabitsPerSec(2);  // T_rr ~ 20 ms
  c.t_rr_interval = TimeDelta::Seconds(1);
  c.initial_members = 2;
  c.initial_senders = 1;
  auto s = make_scheduler(c);
  s.start(Timestamp::Zero());
  const auto sends = run(s, Timestamp::Seconds(60), 10000);
  REQUIRE(sends.size() > 10);
  for (size_t i = 1; i < sends.size(); ++i) CHECK(sends[i].at - sends[i - 1].at >= TimeDelta::Millis(500));
  CHECK(s.suppressed_reports() > 0);
  // With feedback pending, the regular report goes out regardless.
  Timestamp t = *s.next_wakeup();
  int guard = 0;
  while (!s.due(t, true) && guard++ < 100) t = *s.next_wakeup();
  CHECK(guard < 100);
}

TEST_CASE("RtcpScheduler: average RTCP size follows sent and received packets") {
  auto s = make_scheduler({});
  CHECK(s.avg_rtcp_size() == DataSize::Bytes(128));
  for (int i = 0; i < 200; ++i) s.on_received(DataSize::Bytes(1000));
  CHECK(s.avg_rtcp_size().bytes() == doctest::Approx(1000).epsilon(0.02));
  s.on_received(DataSize::Zero());  // ignored
  CHECK(s.avg_rtcp_size().bytes() == doctest::Approx(1000).epsilon(0.02));
  CHECK_FALSE(s.next_wakeup().has_value());
  CHECK_FALSE(s.due(Timestamp::Seconds(100)));
}
