// EpollDriver: Pollable deadlines fire in deadline order, runs are bounded, stop() and the stop
// flag end a run, sockets wake the loop, and the clock is monotonic.
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <vector>

#include "tern/transport/epoll_driver.h"
#include "tern/transport/udp_socket.h"

using namespace tern;
using namespace tern::transport;

namespace {

// Fires once at `at`, appending its name to a shared log.
class OneShot final : public Pollable {
 public:
  OneShot(std::string name, Timestamp at, std::vector<std::string>* log) : name_(std::move(name)), at_(at), log_(log) {}
  std::optional<Timestamp> next_wakeup() const override { return fired_ ? std::nullopt : std::optional(at_); }
  void process(Timestamp now) override {
    CHECK(now >= at_);
    fired_ = true;
    log_->push_back(name_);
  }
  bool fired() const { return fired_; }

 private:
  std::string name_;
  Timestamp at_;
  std::vector<std::string>* log_;
  bool fired_ = false;
};

// Wakes every `period`, counting calls; stops the driver after `limit` calls when given one.
class Ticker final : public Pollable {
 public:
  Ticker(Timestamp start, TimeDelta period, EpollDriver* stop_after = nullptr, int limit = 0)
      : next_(start), period_(period), driver_(stop_after), limit_(limit) {}
  std::optional<Timestamp> next_wakeup() const override { return next_; }
  void process(Timestamp now) override {
    CHECK(now >= last_);
    last_ = now;
    ++calls_;
    next_ = next_ + period_;
    if (driver_ != nullptr && calls_ == limit_) driver_->stop();
  }
  int calls() const { return calls_; }

 private:
  Timestamp next_;
  Timestamp last_ = Timestamp::MinusInfinity();
  TimeDelta period_;
  EpollDriver* driver_;
  int limit_;
  int calls_ = 0;
};

}  // namespace

TEST_CASE("epoll driver fires timers in deadline order") {
  auto driver = EpollDriver::Create();
  REQUIRE(driver.ok());
  std::vector<std::string> log;
  const Timestamp t0 = EpollDriver::Now();
  // Registered out of order, and two of them already due, so order comes from deadlines alone.
  OneShot c("c", t0 + TimeDelta::Millis(3), &log);
  OneShot a("a", t0 - TimeDelta::Millis(5), &log);
  OneShot d("d", t0 + TimeDelta::Millis(4), &log);
  OneShot b("b", t0 - TimeDelta::Millis(1), &log);
  for (OneShot* p : {&c, &a, &d, &b}) REQUIRE(driver->add_pollable(p).ok());
  REQUIRE(driver->run_until(t0 + TimeDelta::Millis(30)).ok());
  CHECK(log == std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(EpollDriver::Now() >= t0 + TimeDelta::Millis(30));  // bounded run used its whole time
}

TEST_CASE("epoll driver stop ends a run early") {
  auto driver = EpollDriver::Create();
  REQUIRE(driver.ok());
  Ticker t(EpollDriver::Now(), TimeDelta::Micros(500), &*driver, 5);
  REQUIRE(driver->add_pollable(&t).ok());
  // The 20 s bound is never reached: the ticker stops the loop after its fifth call.
  REQUIRE(driver->run_for(TimeDelta::Seconds(20)).ok());
  CHECK(t.calls() == 5);
  driver->remove_pollable(&t);
  // An empty driver still returns at its bound.
  REQUIRE(driver->run_for(TimeDelta::Millis(2)).ok());
  CHECK(t.calls() == 5);
}

TEST_CASE("epoll driver honours the caller stop flag") {
  auto driver = EpollDriver::Create();
  REQUIRE(driver.ok());
  std::atomic<bool> flag{true};
  driver->set_stop_flag(&flag);
  Ticker t(EpollDriver::Now(), TimeDelta::Millis(1));
  REQUIRE(driver->add_pollable(&t).ok());
  REQUIRE(driver->run_for(TimeDelta::Seconds(20)).ok());
  CHECK(t.calls() == 0);
}

TEST_CASE("epoll driver wakes on socket input") {
  auto driver = EpollDriver::Create();
  REQUIRE(driver.ok());
  auto rx = UdpSocket::Open(SocketAddress::LoopbackV4(0));
  auto tx = UdpSocket::Open(SocketAddress::LoopbackV4(0));
  REQUIRE(rx.ok());
  REQUIRE(tx.ok());
  DatagramBatch in(8, 1500);
  size_t got = 0;
  REQUIRE(driver->add_fd(rx->fd(), [&](Timestamp) {
                  auto n = rx->receive_batch(in.slots());
                  REQUIRE(n.ok());
                  got += *n;
                  if (got >= 3) driver->stop();
                }).ok());
  CHECK_FALSE(driver->add_fd(rx->fd(), [](Timestamp) {}).ok());  // watched twice
  const std::vector<uint8_t> msg = {0x80, 1, 2, 3};
  for (int i = 0; i < 3; ++i) REQUIRE(tx->send_to(msg, rx->local_address()).ok());
  REQUIRE(driver->run_for(TimeDelta::Seconds(20)).ok());
  CHECK(got == 3);
  CHECK(driver->counters().fd_events >= 1);
  REQUIRE(driver->remove_fd(rx->fd()).ok());
  CHECK_FALSE(driver->remove_fd(rx->fd()).ok());
}

TEST_CASE("epoll driver: datagram wakes re-arm no timer and walk the deadlines once, timers still fire after") {
  auto driver = EpollDriver::Create();
  REQUIRE(driver.ok());
  auto rx = UdpSocket::Open(SocketAddress::LoopbackV4(0));
  REQUIRE(rx.ok());
  std::vector<std::string> log;
  const Timestamp start = EpollDriver::Now();
  OneShot later("later", start + TimeDelta::Millis(300), &log);  // far beyond the datagrams
  REQUIRE(driver->add_pollable(&later).ok());
  DatagramBatch in(1, 1500);
  const std::vector<uint8_t> msg = {0x80, 1, 2, 3};
  size_t got = 0;
  // Each datagram read sends the next one: 50 wakes by socket input, one at a time.
  REQUIRE(driver->add_fd(rx->fd(), [&](Timestamp) {
                  auto n = rx->receive_batch(in.slots());
                  REQUIRE(n.ok());
                  got += *n;
                  if (got < 50) {
                    REQUIRE(rx->send_to(msg, rx->local_address()).ok());
                  } else {
                    driver->stop();
                  }
                }).ok());
  REQUIRE(rx->send_to(msg, rx->local_address()).ok());
  REQUIRE(driver->run_for(TimeDelta::Seconds(20)).ok());
  REQUIRE(got == 50);
  const EpollDriver::Counters c = driver->counters();
  CHECK(c.fd_events >= 50);
  CHECK(c.timer_arms == 1);  // armed once for `later`, never again while only datagrams came
  CHECK(c.deadline_walks == c.iterations);  // nothing was due: one pass over the deadlines each
  CHECK(log.empty());
  // The armed timer still fires, at its time.
  REQUIRE(driver->remove_fd(rx->fd()).ok());
  REQUIRE(driver->run_until(start + TimeDelta::Millis(400)).ok());
  CHECK(later.fired());
  CHECK(EpollDriver::Now() >= start + TimeDelta::Millis(300));
  CHECK(driver->counters().timer_wakeups >= 1);
}

TEST_CASE("epoll driver rejects bad registrations") {
  auto driver = EpollDriver::Create();
  REQUIRE(driver.ok());
  CHECK_FALSE(driver->add_pollable(nullptr).ok());
  CHECK_FALSE(driver->add_fd(-1, [](Timestamp) {}).ok());
  EpollDriver empty;
  CHECK_FALSE(empty.run_for(TimeDelta::Millis(1)).ok());
  const Timestamp a = EpollDriver::Now();
  const Timestamp b = EpollDriver::Now();
  CHECK(b >= a);
}
