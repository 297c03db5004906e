// netsim throughput: packets per second through a Link with jitter and loss, the same through a
// relay Network driven by the EventLoop, and raw EventLoop timer events per second.
#include <benchmark/benchmark.h>

#include <functional>

#include "tern/netsim/event_loop.h"
#include "tern/netsim/link.h"
#include "tern/netsim/network.h"

using namespace tern;
using namespace tern::netsim;
using namespace tern::unit_literals;

namespace {

LinkConfig busy_link() {
  LinkConfig c;
  c.capacity = 100_mbps;
  c.delay = 30_ms;
  c.jitter_model = LinkConfig::Jitter::kNormal;
  c.jitter = 5_ms;
  c.allow_reordering = true;
  c.loss = LossConfig::GilbertElliott(0.02, 2.0);
  c.queue_packets = 10'000;
  return c;
}

// One packet of 1200 bytes per 100 us (96 Mbps offered), processed as it goes.
void BM_LinkJitterLoss(benchmark::State& state) {
  Link link = Link::Create(busy_link()).value();
  Timestamp now = Timestamp::Zero();
  uint64_t id = 0;
  int64_t delivered = 0;
  for (auto _ : state) {
    SimPacket p;
    p.id = id++;
    p.overhead = DataSize::Bytes(1200);
    p.sent_time = now;
    link.send(std::move(p), now);
    delivered += static_cast<int64_t>(link.process(now).size());
    now += 100_us;
  }
  benchmark::DoNotOptimize(delivered);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_LinkJitterLoss);

struct CountingSink : PacketSink {
  void on_packet(SimPacket, Timestamp) override { ++count; }
  int64_t count = 0;
};

// 1000 packets per iteration through a relay (two hops) under the EventLoop.
void BM_RelayNetworkEventLoop(benchmark::State& state) {
  auto net = Network::Create(NetworkConfig::Relay(busy_link(), busy_link(), busy_link(), busy_link())).value();
  EventLoop loop;
  net->attach(loop);
  CountingSink sink;
  net->set_sink_b(&sink);
  uint64_t id = 0;
  for (auto _ : state) {
    for (int i = 0; i < 1000; ++i) {
      (void)loop.post_in(TimeDelta::Micros(100 * i), [&] {
        SimPacket p;
        p.id = id++;
        p.overhead = DataSize::Bytes(1200);
        net->send_from_a(std::move(p), loop.now());
      });
    }
    (void)loop.run_for(100_ms);
  }
  benchmark::DoNotOptimize(sink.count);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 1000);
}
BENCHMARK(BM_RelayNetworkEventLoop);

// Timer events: 10k self-rescheduling timers' worth of callbacks per iteration.
void BM_EventLoopTimers(benchmark::State& state) {
  EventLoop loop;
  int64_t fired = 0;
  std::function<void()> tick = [&] {
    ++fired;
    (void)loop.post_in(1_ms, tick);
  };
  for (int i = 0; i < 64; ++i) (void)loop.post_in(TimeDelta::Micros(i * 13), tick);
  for (auto _ : state) (void)loop.run_for(TimeDelta::Micros(156'250));  // 64 timers x ~156 = 10k
  state.SetItemsProcessed(fired);
}
BENCHMARK(BM_EventLoopTimers);

}  // namespace
