// Benchmarks for the transport feedback path: the send-side adapter per 100-packet transport-cc
// report (parse included and excluded), the receive-side generator per packet, and the RFC 8888
// pair for comparison.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "tern/congestion/transport_feedback_adapter.h"
#include "tern/congestion/transport_feedback_generator.h"
#include "tern/core/random.h"

using namespace tern;
using namespace tern::congestion;
using namespace tern::unit_literals;

namespace {

// Sends 100 packets through the adapter and returns the receiver's report of them (1% lost).
rtcp::TransportFeedback next_report(TransportFeedbackAdapter& adapter, Timestamp& now, Random& rnd) {
  rtcp::TransportFeedback fb;
  for (int i = 0; i < 100; ++i) {
    const auto s = adapter.on_sent_packet(now, 1200_bytes);
    const Timestamp arrival = now + 40_ms + TimeDelta::Micros(rnd.uniform_int(0, 2000));
    if (i == 0) fb.set_base(s.transport_seq, arrival);
    if (i == 0 || !rnd.bernoulli(0.01)) (void)fb.add_received_packet(s.transport_seq, arrival);
    now += 1_ms;
  }
  return fb;
}

}  // namespace

// TransportFeedbackAdapter::on_transport_feedback for one 100-packet report (send side stamped
// outside the timing).
static void BM_AdapterPer100PacketFeedback(benchmark::State& state) {
  TransportFeedbackAdapter adapter;
  Timestamp now = Timestamp::Seconds(1);
  Random rnd(1);
  for (auto _ : state) {
    state.PauseTiming();
    const rtcp::TransportFeedback fb = next_report(adapter, now, rnd);
    state.ResumeTiming();
    benchmark::DoNotOptimize(adapter.on_transport_feedback(fb, now + 50_ms));
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_AdapterPer100PacketFeedback);

// The same, including 100 x on_sent_packet and the wire parse of the report.
static void BM_AdapterSendAndParsePer100Packets(benchmark::State& state) {
  TransportFeedbackAdapter adapter;
  Timestamp now = Timestamp::Seconds(1);
  Random rnd(2);
  std::vector<uint8_t> wire;
  for (auto _ : state) {
    const rtcp::TransportFeedback fb = next_report(adapter, now, rnd);
    wire.resize(fb.size());
    ByteWriter w(wire);
    fb.write(w);
    auto header = rtcp::CommonHeader::parse(wire);
    auto parsed = rtcp::TransportFeedback::parse(header.value());
    benchmark::DoNotOptimize(adapter.on_transport_feedback(parsed.value(), now + 50_ms));
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_AdapterSendAndParsePer100Packets);

// TransportFeedbackGenerator: one received packet, plus a report every 100 packets (amortised).
static void BM_GeneratorPerPacket(benchmark::State& state) {
  TransportFeedbackGenerator gen;
  Timestamp now = Timestamp::Seconds(1);
  uint16_t seq = 0;
  size_t reports = 0;
  for (auto _ : state) {
    gen.on_received_packet(seq++, now);
    now += 1_ms;
    if (seq % 100 == 0) reports += gen.process(now).size();
  }
  benchmark::DoNotOptimize(reports);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GeneratorPerPacket);

// RFC 8888: generator per packet (two SSRCs) with a report every 100 packets, and the adapter.
static void BM_Rfc8888GeneratorAndAdapterPerPacket(benchmark::State& state) {
  CongestionControlFeedbackGenerator gen;
  TransportFeedbackAdapter adapter;
  Timestamp now = Timestamp::Seconds(1);
  uint16_t rtp_seq[2] = {0, 0};
  size_t n = 0;
  for (auto _ : state) {
    const uint32_t ssrc = n % 2;
    const uint16_t seq = rtp_seq[ssrc]++;
    (void)adapter.on_sent_packet(now, 1200_bytes, kNotAProbe, false, TransportFeedbackAdapter::RtpId{ssrc, seq});
    gen.on_received_packet(ssrc, seq, now + 30_ms);
    now += 1_ms;
    if (++n % 100 == 0) {
      for (const auto& fb : gen.process(now + 30_ms)) {
        benchmark::DoNotOptimize(adapter.on_congestion_control_feedback(fb, now + 60_ms));
      }
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Rfc8888GeneratorAndAdapterPerPacket);
