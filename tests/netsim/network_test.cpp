#include <doctest/doctest.h>

#include <vector>

#include "tern/netsim/event_loop.h"
#include "tern/netsim/network.h"

using namespace tern;
using namespace tern::netsim;
using namespace tern::unit_literals;

namespace {

struct Collector : PacketSink {
  void on_packet(SimPacket packet, Timestamp now) override {
    CHECK(now == packet.delivery_time);  // virtual time: delivered exactly on time
    got.push_back(std::move(packet));
  }
  std::vector<SimPacket> got;
};

SimPacket make_sim_packet(uint64_t id, int64_t bytes, Timestamp now) {
  SimPacket p;
  p.id = id;
  p.data.assign(static_cast<size_t>(bytes), static_cast<uint8_t>(id));
  p.sent_time = now;
  return p;
}

LinkConfig link(DataRate capacity, TimeDelta delay) {
  LinkConfig c;
  c.capacity = capacity;
  c.delay = delay;
  return c;
}

}  // namespace

TEST_CASE("Relay path delay is the sum of both hops") {
  auto path = Path::Relay(link(1_mbps, 20_ms), link(1_mbps, 30_ms));
  REQUIRE(path.ok());
  Collector sink;
  path->set_sink(&sink);
  EventLoop loop;
  loop.add_pollable(&*path);
  path->send(make_sim_packet(1, 1250, loop.now()), loop.now());
  REQUIRE(loop.run_for(1_s).ok());
  REQUIRE(sink.got.size() == 1);
  // 10 ms + 20 ms on the first hop, 10 ms + 30 ms on the second.
  CHECK(sink.got[0].delivery_time == Timestamp::Millis(70));
  CHECK(sink.got[0].data.size() == 1250);
  CHECK(path->hop_count() == 2);
  CHECK(path->hop(1).stats().packets_delivered == 1);
}

TEST_CASE("Network delivers each direction independently to its sink") {
  auto net = Network::Create(NetworkConfig::Direct(link(1_mbps, 10_ms), link(DataRate::PlusInfinity(), 40_ms)));
  REQUIRE(net.ok());
  Collector at_a, at_b;
  (*net)->set_sink_a(&at_a);
  (*net)->set_sink_b(&at_b);
  EventLoop loop;
  (*net)->attach(loop);
  (void)loop.post_at(Timestamp::Millis(5), [&] {
    (*net)->send_from_a(make_sim_packet(1, 1250, loop.now()), loop.now());
    (*net)->send_from_b(make_sim_packet(2, 1250, loop.now()), loop.now());
  });
  REQUIRE(loop.run_for(1_s).ok());
  REQUIRE(at_b.got.size() == 1);
  REQUIRE(at_a.got.size() == 1);
  CHECK(at_b.got[0].id == 1);
  CHECK(at_b.got[0].delivery_time == Timestamp::Millis(25));
  CHECK(at_a.got[0].id == 2);
  CHECK(at_a.got[0].delivery_time == Timestamp::Millis(45));
  (*net)->detach(loop);
}

TEST_CASE("Ping-pong through a relay network - round trip is the sum of four hops") {
  auto net = Network::Create(NetworkConfig::Relay(link(DataRate::PlusInfinity(), 5_ms), link(DataRate::PlusInfinity(), 7_ms),
                                                  link(DataRate::PlusInfinity(), 11_ms), link(DataRate::PlusInfinity(), 13_ms)));
  REQUIRE(net.ok());
  Network& n = **net;
  EventLoop loop;
  n.attach(loop);
  struct Echo : PacketSink {
    Network* net = nullptr;
    void on_packet(SimPacket p, Timestamp now) override { net->send_from_b(std::move(p), now); }
  } echo;
  echo.net = &n;
  Collector back;
  n.set_sink_b(&echo);
  n.set_sink_a(&back);
  for (int i = 0; i < 10; ++i)
    (void)loop.post_at(Timestamp::Millis(100 * i), [&, i] { n.send_from_a(make_sim_packet(static_cast<uint64_t>(i), 100, loop.now()), loop.now()); });
  REQUIRE(loop.run_for(2_s).ok());
  REQUIRE(back.got.size() == 10);
  for (const auto& p : back.got) CHECK(p.delivery_time - p.sent_time == 36_ms);
}

TEST_CASE("Network seed makes runs reproducible and hops independent") {
  auto run = [](uint64_t seed) {
    LinkConfig lossy = link(DataRate::PlusInfinity(), 10_ms);
    lossy.loss = LossConfig::Random(0.3);
    NetworkConfig cfg = NetworkConfig::Direct(lossy, lossy);
    cfg.seed = seed;
    auto net = Network::Create(cfg);
    REQUIRE(net.ok());
    Collector a, b;
    (*net)->set_sink_a(&a);
    (*net)->set_sink_b(&b);
    EventLoop loop;
    (*net)->attach(loop);
    for (int i = 0; i < 200; ++i) {
      (void)loop.post_at(Timestamp::Millis(i), [&, i] {
        (*net)->send_from_a(make_sim_packet(static_cast<uint64_t>(i), 10, loop.now()), loop.now());
        (*net)->send_from_b(make_sim_packet(static_cast<uint64_t>(i), 10, loop.now()), loop.now());
      });
    }
    REQUIRE(loop.run_for(1_s).ok());
    std::vector<uint64_t> ids_b, ids_a;
    for (const auto& p : b.got) ids_b.push_back(p.id);
    for (const auto& p : a.got) ids_a.push_back(p.id);
    return std::make_pair(ids_b, ids_a);
  };
  const auto r1 = run(5);
  CHECK(r1 == run(5));
  CHECK(r1 != run(6));
  CHECK(r1.first != r1.second);  // the two directions do not lose the same packets
}

TEST_CASE("Path without a sink counts undeliverable packets and bad hop counts are rejected") {
  auto path = Path::Direct(link(1_mbps, 1_ms));
  REQUIRE(path.ok());
  path->send(make_sim_packet(1, 100, Timestamp::Zero()), Timestamp::Zero());
  path->process(Timestamp::Seconds(1));
  CHECK(path->undeliverable() == 1);
  CHECK_FALSE(Path::Chain({}).ok());
  CHECK_FALSE(Path::Chain(std::vector<LinkConfig>(17)).ok());
  LinkConfig bad;
  bad.duplication = 7;
  CHECK_FALSE(Path::Relay(LinkConfig{}, bad).ok());
}
