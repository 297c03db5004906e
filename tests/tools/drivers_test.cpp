// tern-loopback's drivers (tools/loopback/drivers.h): the virtual-time driver runs pollables at
// their deadlines in call time, a shifted pollable sees call time under a wall-clock driver, and
// the real-time driver carries a delivered packet over UDP loopback to the right endpoint's sink.
#include "tern/tools/loopback/drivers.h"

#include <vector>

#include "doctest/doctest.h"
#include "support/sim_time.h"

namespace tern::tools {
namespace {

using tern::test::At;

// Wakes every `period`, recording the times it was processed at.
struct Ticker final : netsim::Pollable {
  TimeDelta period;
  Timestamp next;
  std::vector<Timestamp> runs;
  explicit Ticker(TimeDelta p) : period(p), next(Timestamp::Zero() + p) {}
  std::optional<Timestamp> next_wakeup() const override { return next; }
  void process(Timestamp now) override {
    if (now < next) return;
    runs.push_back(now);
    next = next + period;
  }
};

TEST_CASE("sim driver runs pollables at their deadlines up to the given call time") {
  SimDriver driver;
  Ticker t(TimeDelta::Millis(30));
  REQUIRE(driver.add(&t).ok());
  REQUIRE(driver.run_until(At(100)).ok());
  CHECK(t.runs == std::vector<Timestamp>{At(30), At(60), At(90)});
  CHECK(driver.now() == At(100));
}

TEST_CASE("shifted pollable moves deadlines out and call time back in") {
  Ticker t(TimeDelta::Millis(30));
  ShiftedPollable shifted(t, TimeDelta::Seconds(1000));
  CHECK(shifted.next_wakeup() == At(1'000'030));
  shifted.process(At(1'000'031));
  CHECK(t.runs == std::vector<Timestamp>{At(31)});
}

TEST_CASE("realtime driver carries a delivered packet over UDP loopback to the endpoint's sink") {
  auto driver = RealtimeDriver::Create();
  REQUIRE(driver.ok());
  struct Collect final : netsim::PacketSink {
    std::vector<std::vector<uint8_t>> got;
    void on_packet(netsim::SimPacket p, Timestamp) override { got.push_back(std::move(p.data)); }
  } a, b;
  REQUIRE((*driver)->connect(&a, &b).ok());
  // A minimal RTP packet (version 2, PT 96, 12-byte header) and a datagram that is not RTP/RTCP
  // (the transport's Demuxer drops and counts it), sent first so that its drop is seen too.
  const std::vector<uint8_t> rtp = {0x80, 96, 0, 1, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44, 0xAB};
  netsim::SimPacket junk;
  junk.data = {1, 2, 3};
  (*driver)->hop_to_b()->on_packet(std::move(junk), (*driver)->now());
  netsim::SimPacket p;
  p.data = rtp;
  (*driver)->hop_to_b()->on_packet(std::move(p), (*driver)->now());
  // Bounded: the datagram is on loopback; a second is plenty.
  const Timestamp until = (*driver)->now() + TimeDelta::Seconds(1);
  while (b.got.empty() && (*driver)->now() < until) {
    REQUIRE((*driver)->run_until((*driver)->now() + TimeDelta::Millis(10)).ok());
  }
  REQUIRE(b.got.size() == 1);
  CHECK(b.got[0] == rtp);
  CHECK(a.got.empty());
  CHECK((*driver)->not_rtp() == 1);
  CHECK((*driver)->send_failures() == 0);
}

}  // namespace
}  // namespace tern::tools
