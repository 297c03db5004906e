// Cost of congestion-control feedback on the wire: building and parsing a transport-wide CC feedback
// of 100 packets (about 5% loss, ~5 ms spacing with jitter that sometimes reorders), and an RFC 8888
// CCFB build + write + parse of the same pattern.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "tern/core/random.h"
#include "tern/rtp/rtcp/congestion_control_feedback.h"
#include "tern/rtp/rtcp/transport_feedback.h"

using namespace tern;
using namespace tern::rtcp;

namespace {

struct Arrival {
  uint16_t seq;
  Timestamp at;
};

// 100 sequence numbers from 65500 (so the range wraps), about 5% lost.
std::vector<Arrival> make_pattern() {
  Random rng(2024);
  std::vector<Arrival> out;
  Timestamp send = Timestamp::Seconds(1000);
  for (int i = 0; i < 100; ++i) {
    send += TimeDelta::Millis(5);
    if (rng.bernoulli(0.05)) continue;
    const TimeDelta jitter = TimeDelta::Micros(static_cast<int64_t>(rng.gaussian(0, 1500)));
    out.push_back(Arrival{static_cast<uint16_t>(65500 + i), send + TimeDelta::Millis(40) + jitter});
  }
  return out;
}

TransportFeedback build(const std::vector<Arrival>& pattern) {
  TransportFeedback fb(0x1234, 0x5678);
  fb.set_base(65500, Timestamp::Seconds(1000));
  for (const Arrival& a : pattern) (void)fb.add_received_packet(a.seq, a.at);
  return fb;
}

void BM_TransportFeedbackBuild100(benchmark::State& state) {
  const auto pattern = make_pattern();
  std::vector<uint8_t> buf(TransportFeedback::kMaxSizeBytes);
  for (auto _ : state) {
    const TransportFeedback fb = build(pattern);
    ByteWriter w(buf);
    fb.write(w);
    benchmark::DoNotOptimize(buf.data());
    benchmark::DoNotOptimize(w.position());
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_TransportFeedbackBuild100);

void BM_TransportFeedbackParse100(benchmark::State& state) {
  const TransportFeedback fb = build(make_pattern());
  std::vector<uint8_t> wire(fb.size());
  ByteWriter w(wire);
  fb.write(w);
  for (auto _ : state) {
    auto h = CommonHeader::parse(wire);
    auto parsed = TransportFeedback::parse(*h);
    int64_t sum = 0;
    for (const auto& p : parsed->received_packets()) sum += p.delta_ticks;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * 100);
  state.counters["bytes"] = static_cast<double>(wire.size());
}
BENCHMARK(BM_TransportFeedbackParse100);

void BM_CcfbBuildParse100(benchmark::State& state) {
  const auto pattern = make_pattern();
  const Timestamp report_time = Timestamp::Seconds(1001);
  std::vector<uint8_t> wire;
  for (auto _ : state) {
    CongestionControlFeedback fb(0x1234);
    fb.set_report_timestamp(0xABCD0000);
    for (const Arrival& a : pattern) (void)fb.add_received_packet(0x5678, a.seq, report_time - a.at, EcnMarking::kEct1);
    wire.resize(fb.size());
    ByteWriter w(wire);
    fb.write(w);
    auto h = CommonHeader::parse(wire);
    auto parsed = CongestionControlFeedback::parse(*h);
    benchmark::DoNotOptimize(parsed->streams().data());
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_CcfbBuildParse100);

}  // namespace
