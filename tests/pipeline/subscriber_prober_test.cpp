// SubscriberProber's rules, tick by tick: when a cluster starts, how its padding is paced (media
// sent meanwhile counts), one in flight, backoff after a failure, the stops (top layer, overuse,
// loss, a standing queue) and the two budgets.
#include <algorithm>
#include <optional>

#include "doctest/doctest.h"
#include "tern/pipeline/subscriber_prober.h"

namespace tern::pipeline {
namespace {

constexpr DataRate kProberStep = DataRate::KilobitsPerSec(1000);

SubscriberProber::Input ProberBelow(DataRate estimate = DataRate::KilobitsPerSec(600)) {
  SubscriberProber::Input in;
  in.estimate = estimate;
  in.next_step = kProberStep;
  in.feedback_packets = 100;
  return in;
}

// Sends the cluster's padding as it comes due until it ends (bounded); returns the bytes sent.
DataSize ProberDrain(SubscriberProber& p, Timestamp& now, DataSize& leg_sent) {
  DataSize total = DataSize::Zero();
  for (int i = 0; i < 1000 && p.sending(); ++i) {
    const std::optional<Timestamp> at = p.next_wakeup();
    REQUIRE(at.has_value());
    now = std::max(now, *at);
    if (auto b = p.due(now, leg_sent)) {
      CHECK(b->size > DataSize::Zero());
      const DataSize sent = DataSize::Bytes(290) * ((b->size.bytes() + 289) / 290);  // whole packets
      leg_sent += sent;
      total += sent;
      p.on_sent(sent, now);
    }
  }
  CHECK_FALSE(p.sending());
  return total;
}

TEST_CASE("subscriber prober: a cluster toward the next step, paced, one at a time, then backoff") {
  SubscriberProber::Config config;
  config.first_cluster_id = 1 << 24;
  SubscriberProber p(config);
  PaddingBudget leg(DataRate::KilobitsPerSec(300), TimeDelta::Seconds(1));
  PaddingBudget global(DataRate::MegabitsPerSec(20), TimeDelta::Seconds(1));
  Timestamp now = Timestamp::Seconds(10);
  DataSize leg_sent = DataSize::Zero();

  // Without feedback, at the top, or with the estimate already there: nothing.
  SubscriberProber::Input no_feedback = ProberBelow();
  no_feedback.feedback_packets = 0;
  CHECK_FALSE(p.maybe_start(no_feedback, leg, global, now).has_value());
  SubscriberProber::Input top = ProberBelow();
  top.next_step.reset();
  CHECK_FALSE(p.maybe_start(top, leg, global, now).has_value());
  CHECK_FALSE(p.maybe_start(ProberBelow(kProberStep), leg, global, now).has_value());

  // Below: a cluster at 1.3 x the step, 40 ms of it (6.5 kB).
  const auto c = p.maybe_start(ProberBelow(), leg, global, now);
  REQUIRE(c.has_value());
  CHECK(c->id == (1 << 24));
  CHECK(c->target_rate == kProberStep * 1.3);
  CHECK(c->target_duration <= TimeDelta::Millis(41));
  CHECK(p.sending());
  CHECK_FALSE(p.maybe_start(ProberBelow(), leg, global, now).has_value());  // one in flight
  // Media forwarded meanwhile is part of the cluster: 2 kB of it leaves less padding.
  const Timestamp start = now;
  leg_sent += DataSize::Bytes(2000);
  const DataSize padding = ProberDrain(p, now, leg_sent);
  CHECK(padding >= DataSize::Bytes(6500 - 2000));
  CHECK(padding <= DataSize::Bytes(6500 - 2000 + 290));
  CHECK(now - start >= TimeDelta::Millis(20));  // paced at the cluster's rate, not one burst
  CHECK(now - start <= TimeDelta::Millis(45));
  CHECK(p.counters().clusters == 1);

  // The estimate did not reach the step: a failure, and 2 s, then 4 s before the next.
  now += TimeDelta::Millis(700);
  CHECK_FALSE(p.maybe_start(ProberBelow(), leg, global, now).has_value());
  CHECK(p.counters().clusters_failed == 1);
  CHECK_FALSE(p.maybe_start(ProberBelow(), leg, global, now + TimeDelta::Millis(1900)).has_value());
  now += TimeDelta::Seconds(2);
  REQUIRE(p.maybe_start(ProberBelow(), leg, global, now).has_value());
  (void)ProberDrain(p, now, leg_sent);
  now += TimeDelta::Millis(700);
  CHECK_FALSE(p.maybe_start(ProberBelow(), leg, global, now).has_value());
  CHECK(p.counters().clusters_failed == 2);
  CHECK_FALSE(p.maybe_start(ProberBelow(), leg, global, now + TimeDelta::Millis(3900)).has_value());
  now += TimeDelta::Seconds(4);
  REQUIRE(p.maybe_start(ProberBelow(), leg, global, now).has_value());
  (void)ProberDrain(p, now, leg_sent);
  // This one worked: counted, and the next may come after min_interval.
  now += TimeDelta::Millis(700);
  SubscriberProber::Input higher = ProberBelow(kProberStep);
  higher.next_step = kProberStep * 2;
  CHECK_FALSE(p.maybe_start(higher, leg, global, now).has_value());
  CHECK(p.counters().clusters_succeeded == 1);
  higher.estimate = kProberStep;
  CHECK(p.maybe_start(higher, leg, global, now + config.min_interval).has_value());
}

TEST_CASE("subscriber prober: overuse, loss and a standing queue stop it, budgets bound it") {
  SubscriberProber::Config config;
  PaddingBudget leg(DataRate::KilobitsPerSec(300), TimeDelta::Seconds(1));
  PaddingBudget global(DataRate::MegabitsPerSec(20), TimeDelta::Seconds(1));
  Timestamp now = Timestamp::Seconds(10);

  SubscriberProber p(config);
  SubscriberProber::Input in = ProberBelow();
  in.overuse = true;
  CHECK_FALSE(p.maybe_start(in, leg, global, now).has_value());
  in.overuse = false;
  in.standing_queue = TimeDelta::Millis(80);
  CHECK_FALSE(p.maybe_start(in, leg, global, now).has_value());
  in.standing_queue = TimeDelta::Millis(5);
  in.feedback_packets = 1000;
  in.feedback_lost = 0;
  now += TimeDelta::Millis(600);
  CHECK(p.maybe_start(in, leg, global, now).has_value());
  // Loss while the cluster is out: it stops at once (aborted, with a backoff).
  in.feedback_packets = 1100;
  in.feedback_lost = 20;  // 20% of the last 100
  now += TimeDelta::Millis(600);
  CHECK_FALSE(p.maybe_start(in, leg, global, now).has_value());
  CHECK_FALSE(p.sending());
  CHECK(p.counters().clusters_aborted == 1);
  CHECK(p.counters().skipped_congestion == 2);

  // A budget: rate x window saved up at most, refilled with time, never below zero.
  PaddingBudget bucket(DataRate::KilobitsPerSec(80), TimeDelta::Seconds(1));  // 10 kB
  Timestamp t = Timestamp::Seconds(20);
  CHECK(bucket.available(DataSize::Bytes(10000), t));
  CHECK_FALSE(bucket.available(DataSize::Bytes(10001), t));
  bucket.take(DataSize::Bytes(8000));
  CHECK_FALSE(bucket.available(DataSize::Bytes(4000), t));
  CHECK(bucket.available(DataSize::Bytes(4000), t + TimeDelta::Millis(200)));  // +2 kB
  CHECK(bucket.available(DataSize::Bytes(10000), t + TimeDelta::Seconds(5)));   // full, not 52 kB
  CHECK_FALSE(bucket.available(DataSize::Bytes(10001), t + TimeDelta::Seconds(5)));
  // The global budget is shared: a small one lets only one of two legs probe.
  PaddingBudget small_global(DataRate::KilobitsPerSec(250), TimeDelta::Seconds(1));
  PaddingBudget leg_r(DataRate::KilobitsPerSec(300), TimeDelta::Seconds(1));
  PaddingBudget leg_s(DataRate::KilobitsPerSec(300), TimeDelta::Seconds(1));
  SubscriberProber::Config medium = config;
  medium.min_cluster_bytes = DataSize::Bytes(20000);
  SubscriberProber r2(medium), s2(medium);
  CHECK(r2.maybe_start(ProberBelow(), leg_r, small_global, t).has_value());
  CHECK_FALSE(s2.maybe_start(ProberBelow(), leg_s, small_global, t).has_value());
  CHECK(s2.counters().skipped_budget == 1);
}

}  // namespace
}  // namespace tern::pipeline
