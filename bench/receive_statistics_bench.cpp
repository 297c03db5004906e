// Cost of RFC 3550 receive statistics: one packet update, and building report blocks.
#include <benchmark/benchmark.h>

#include <vector>

#include "tern/rtp/receive_statistics.h"

using namespace tern;
using namespace tern::rtp;

namespace {

RtpHeader header(uint32_t ssrc, uint16_t seq, uint32_t ts) {
  RtpHeader h;
  h.ssrc = ssrc;
  h.sequence_number = seq;
  h.timestamp = ts;
  h.payload_type = 96;
  h.header_size = 12;
  h.payload_size = 1100;
  return h;
}

ReceiveStatistics make(size_t streams) {
  auto r = ReceiveStatistics::Create({.max_streams = streams});
  (void)r->register_payload_type(96, 90000);
  return std::move(r).value();
}

// Per-packet update over `state.range(0)` interleaved SSRCs, with 1 % loss and some reordering.
void BM_ReceiveStatisticsPacket(benchmark::State& state) {
  const auto streams = static_cast<uint32_t>(state.range(0));
  ReceiveStatistics s = make(streams);
  uint64_t i = 0;
  for (auto _ : state) {
    const auto ssrc = static_cast<uint32_t>(i % streams) + 1000;
    const uint64_t n = i / streams;
    uint16_t seq = static_cast<uint16_t>(n);
    if (n % 100 == 37) seq = static_cast<uint16_t>(n + 1);  // a loss / reorder pattern
    const bool ok = s.on_rtp_packet(header(ssrc, seq, static_cast<uint32_t>(n * 3000)),
                                    Timestamp::Micros(static_cast<int64_t>(i) * 100), 1112);
    benchmark::DoNotOptimize(ok);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReceiveStatisticsPacket)->Arg(1)->Arg(16)->Arg(64);

// One RR's worth of blocks (up to 31) from `state.range(0)` active sources.
void BM_ReportBlocks(benchmark::State& state) {
  const auto streams = static_cast<uint32_t>(state.range(0));
  ReceiveStatistics s = make(streams);
  uint16_t seq = 0;
  int64_t t_us = 0;
  auto feed_all = [&] {
    for (uint32_t k = 0; k < streams; ++k)
      (void)s.on_rtp_packet(header(k + 1, seq, seq * 3000u), Timestamp::Micros(t_us), 1112);
    ++seq;
    t_us += 1000;
  };
  feed_all();
  feed_all();
  for (uint32_t k = 0; k < streams; ++k) s.on_sender_report(k + 1, NtpTime(3900000000u, 0), Timestamp::Zero());
  feed_all();
  // Copies with news from every source, refreshed outside the timed region in batches so that the
  // pause/resume overhead is amortised over kBatch calls.
  constexpr size_t kBatch = 256;
  std::vector<ReceiveStatistics> ready(kBatch, s);
  size_t next = 0;
  for (auto _ : state) {
    if (next == kBatch) {
      state.PauseTiming();
      for (auto& r : ready) r = s;
      next = 0;
      state.ResumeTiming();
    }
    auto blocks = ready[next++].report_blocks(Timestamp::Micros(t_us), 31);
    benchmark::DoNotOptimize(blocks.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReportBlocks)->Arg(1)->Arg(31)->Arg(64);

}  // namespace
