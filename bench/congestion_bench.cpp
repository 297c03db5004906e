// Benchmarks for the congestion module: feedback processing, pacer enqueue+dequeue, trendline.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "tern/congestion/goog_cc_network_controller.h"
#include "tern/congestion/pacer.h"
#include "tern/congestion/trendline_estimator.h"
#include "tern/core/random.h"

using namespace tern;
using namespace tern::congestion;
using namespace tern::unit_literals;

// One 100-packet transport feedback report through the whole controller.
static void BM_FeedbackPer100PacketReport(benchmark::State& state) {
  GoogCcNetworkController::Config cfg;
  cfg.start_rate = 1_mbps;
  GoogCcNetworkController cc(cfg);
  Timestamp now = Timestamp::Seconds(1);
  (void)cc.on_process_interval(now);
  Random rnd(1);
  int64_t seq = 0;
  TransportPacketsFeedback fb;
  fb.packets.resize(100);
  for (auto _ : state) {
    for (auto& p : fb.packets) {
      p.sent.sequence_number = seq++;
      p.sent.send_time = now;
      p.sent.size = 1200_bytes;
      p.receive_time = now + 40_ms + TimeDelta::Micros(static_cast<int64_t>(rnd.uniform(0, 2000)));
      if (rnd.bernoulli(0.01)) p.receive_time = Timestamp::PlusInfinity();
      now += TimeDelta::Micros(1000);
    }
    fb.feedback_time = now + 50_ms;
    benchmark::DoNotOptimize(cc.on_transport_feedback(fb));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FeedbackPer100PacketReport);

// Enqueue then dequeue one packet (mixed priorities, queue kept ~100 deep).
static void BM_PacerEnqueueDequeuePerPacket(benchmark::State& state) {
  Pacer pacer;
  pacer.set_pacing_rates(DataRate::MegabitsPerSec(1000), DataRate::Zero());
  Timestamp now = Timestamp::Seconds(1);
  uint64_t id = 0;
  for (int i = 0; i < 100; ++i) {
    (void)pacer.enqueue(PacedPacket{id++, 1200_bytes, PacketPriority::kVideo}, now);
  }
  for (auto _ : state) {
    (void)pacer.enqueue(
        PacedPacket{id, 1200_bytes, static_cast<PacketPriority>(id % kNumPacketPriorities)}, now);
    ++id;
    now += TimeDelta::Micros(10);
    PacerOutput out = pacer.process(now);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PacerEnqueueDequeuePerPacket);

// One trendline update (one packet-group pair).
static void BM_TrendlineUpdatePerGroup(benchmark::State& state) {
  TrendlineEstimator t;
  Random rnd(2);
  Timestamp arrival = Timestamp::Seconds(1);
  for (auto _ : state) {
    const TimeDelta d = 10_ms + TimeDelta::Micros(static_cast<int64_t>(rnd.gaussian(0, 300)));
    arrival += d;
    benchmark::DoNotOptimize(t.update(10_ms, d, arrival, arrival));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TrendlineUpdatePerGroup);
