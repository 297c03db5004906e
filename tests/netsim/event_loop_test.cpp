#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "tern/netsim/event_loop.h"

using namespace tern;
using namespace tern::netsim;
using namespace tern::unit_literals;

namespace {

// Wakes at a fixed list of times and records when it was processed.
class Ticker : public Pollable {
 public:
  explicit Ticker(std::vector<Timestamp> times, std::vector<std::string>* log, std::string name)
      : times_(std::move(times)), log_(log), name_(std::move(name)) {}
  std::optional<Timestamp> next_wakeup() const override {
    if (next_ < times_.size()) return times_[next_];
    return std::nullopt;
  }
  void process(Timestamp now) override {
    while (next_ < times_.size() && times_[next_] <= now) ++next_;
    log_->push_back(name_ + "@" + std::to_string(now.ms()));
  }

 private:
  std::vector<Timestamp> times_;
  size_t next_ = 0;
  std::vector<std::string>* log_;
  std::string name_;
};

// Always wants to run now: a buggy component.
class Spinner : public Pollable {
 public:
  std::optional<Timestamp> next_wakeup() const override { return Timestamp::Zero(); }
  void process(Timestamp) override { ++calls; }
  int calls = 0;
};

}  // namespace

TEST_CASE("EventLoop runs timers in time order and FIFO for equal times") {
  EventLoop loop;
  std::vector<int> order;
  (void)loop.post_at(Timestamp::Millis(10), [&] { order.push_back(3); });
  (void)loop.post_at(Timestamp::Millis(5), [&] { order.push_back(1); });
  (void)loop.post_at(Timestamp::Millis(5), [&] { order.push_back(2); });
  (void)loop.post_at(Timestamp::Millis(10), [&] { order.push_back(4); });
  REQUIRE(loop.run_until(Timestamp::Millis(20)).ok());
  CHECK(order == std::vector<int>{1, 2, 3, 4});
  CHECK(loop.now() == Timestamp::Millis(20));
  CHECK(loop.events_run() == 4);
}

TEST_CASE("EventLoop timers can post timers and now() follows the event") {
  EventLoop loop;
  std::vector<int64_t> seen;
  std::function<void()> tick = [&] {
    seen.push_back(loop.now().ms());
    if (seen.size() < 5) (void)loop.post_in(10_ms, tick);
  };
  (void)loop.post_at(Timestamp::Millis(1), tick);
  REQUIRE(loop.run_for(1_s).ok());
  CHECK(seen == std::vector<int64_t>{1, 11, 21, 31, 41});
  CHECK(loop.now() == Timestamp::Seconds(1));
}

TEST_CASE("EventLoop stops at run_until and resumes later") {
  EventLoop loop;
  int fired = 0;
  (void)loop.post_at(Timestamp::Millis(50), [&] { ++fired; });
  REQUIRE(loop.run_until(Timestamp::Millis(49)).ok());
  CHECK(fired == 0);
  CHECK(loop.now() == Timestamp::Millis(49));
  REQUIRE(loop.run_until(Timestamp::Millis(50)).ok());
  CHECK(fired == 1);
}

TEST_CASE("EventLoop cancel removes a pending timer only") {
  EventLoop loop;
  int fired = 0;
  const auto id = loop.post_at(Timestamp::Millis(5), [&] { ++fired; });
  CHECK(loop.pending_timers() == 1);
  CHECK(loop.cancel(id));
  CHECK_FALSE(loop.cancel(id));
  CHECK(loop.pending_timers() == 0);
  REQUIRE(loop.run_for(1_s).ok());
  CHECK(fired == 0);
  CHECK(loop.events_run() == 0);
  CHECK_FALSE(loop.cancel(9999));
}

TEST_CASE("EventLoop drives pollables and timers before pollables at equal times") {
  EventLoop loop;
  std::vector<std::string> log;
  Ticker a({Timestamp::Millis(10), Timestamp::Millis(30)}, &log, "a");
  Ticker b({Timestamp::Millis(10), Timestamp::Millis(20)}, &log, "b");
  loop.add_pollable(&a);
  loop.add_pollable(&b);
  loop.add_pollable(&a);  // no-op
  (void)loop.post_at(Timestamp::Millis(10), [&] { log.push_back("timer@10"); });
  REQUIRE(loop.run_until(Timestamp::Millis(100)).ok());
  CHECK(log == std::vector<std::string>{"timer@10", "a@10", "b@10", "b@20", "a@30"});
  loop.remove_pollable(&a);
  loop.remove_pollable(&b);
}

TEST_CASE("EventLoop max-event guard stops a runaway pollable") {
  EventLoopConfig config;
  config.max_events_per_run = 1000;
  EventLoop loop(config);
  Spinner s;
  loop.add_pollable(&s);
  const Status st = loop.run_for(1_s);
  CHECK_FALSE(st.ok());
  CHECK(std::string(st.error()).find("max events") != std::string::npos);
  CHECK(s.calls == 1000);
  CHECK(loop.now() == Timestamp::Zero());
}

TEST_CASE("EventLoop refuses timers beyond its bound") {
  EventLoopConfig config;
  config.max_pending_timers = 3;
  EventLoop loop(config);
  for (int i = 0; i < 3; ++i) CHECK(loop.post_in(1_ms, [] {}) != 0);
  CHECK(loop.post_in(1_ms, [] {}) == 0);
  CHECK(loop.timers_refused() == 1);
  REQUIRE(loop.run_for(1_ms).ok());
  CHECK(loop.post_in(1_ms, [] {}) != 0);
}

TEST_CASE("EventLoop with an infinite horizon runs until idle") {
  EventLoop loop;
  int fired = 0;
  (void)loop.post_at(Timestamp::Seconds(3), [&] { ++fired; });
  REQUIRE(loop.run_until(Timestamp::PlusInfinity()).ok());
  CHECK(fired == 1);
  CHECK(loop.now() == Timestamp::Seconds(3));
}
