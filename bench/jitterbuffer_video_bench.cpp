// Benchmark of the video jitter buffer, reported per packet: video insert with ~1,000 packets in
// flight (frames held back by one late packet each, so the packet buffer stays full), frame
// assembly, reference finding and release included; the packets are copied untimed just before
// insertion (hot, as if just read from a socket). The NACK generator's is in recovery_bench.cpp.
// Target (issue): under 200 ns per packet for video insert.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "tern/core/random.h"
#include "tern/jitterbuffer/video/video_jitter_buffer.h"
#include "tern/rtp/payload/vp8_payload.h"
#include "tern/rtp/rtp_packet_builder.h"

using namespace tern;
using namespace tern::jitterbuffer;

namespace {

// A VP8 stream: frames of `per_frame` packets of 1,100 payload bytes, picture ids, 30 fps.
std::vector<rtp::RtpPacket> make_stream(size_t frames, size_t per_frame) {
  std::vector<rtp::RtpPacket> out;
  std::vector<uint8_t> frame(per_frame * 1100, 0x5A);
  rtp::Vp8Packetizer packetizer;
  std::vector<uint8_t> buf(1300);
  uint16_t seq = 0;
  for (size_t f = 0; f < frames; ++f) {
    frame[0] = f == 0 ? 0x10 : 0x11;
    rtp::Vp8Descriptor info;
    if (!packetizer.plan(frame, info, rtp::PayloadLimits{.max_payload_size = 1110}).ok()) return {};
    for (size_t i = 0; i < packetizer.num_packets(); ++i) {
      auto n = packetizer.write(i, buf);
      rtp::RtpPacketBuilder b;
      b.set_sequence_number(seq++).set_timestamp(static_cast<uint32_t>(f * 3000)).set_marker(packetizer.marker(i));
      b.set_payload(std::span<const uint8_t>(buf.data(), n.ok() ? *n : 0));
      auto p = b.build();
      if (p.ok()) out.push_back(std::move(*p));
    }
  }
  return out;
}

void BM_VideoInsert1000InFlight(benchmark::State& state) {
  constexpr size_t kPerFrame = 5;
  constexpr size_t kInFlight = 1000;
  constexpr size_t kChunk = 50;  // packets copied (untimed) just before they are inserted
  const std::vector<rtp::RtpPacket> stream = make_stream(3000, kPerFrame);
  // Arrival order: every packet but each frame's second one on time; the second one kInFlight
  // packets late, so the buffer always holds ~1,000 packets and every frame completes late.
  std::vector<size_t> order;
  for (size_t i = 0; i < stream.size(); ++i) {
    if (i % kPerFrame != 1) order.push_back(i);
    if (i >= kInFlight && (i - kInFlight) % kPerFrame == 1) order.push_back(i - kInFlight);
  }
  int64_t packets = 0;
  std::vector<rtp::RtpPacket> chunk;
  for (auto _ : state) {
    state.PauseTiming();
    VideoJitterBuffer jb;
    Timestamp now = Timestamp::Seconds(1);
    for (size_t base = 0; base < order.size(); base += kChunk) {
      // Fresh copies, hot in cache like a packet just read from a socket.
      chunk.clear();
      for (size_t k = base; k < order.size() && k < base + kChunk; ++k) chunk.push_back(stream[order[k]]);
      state.ResumeTiming();
      for (size_t k = 0; k < chunk.size(); ++k) {
        now += TimeDelta::Micros(6667);
        benchmark::DoNotOptimize(jb.insert(std::move(chunk[k]), now));
        if (k % kPerFrame == 0) benchmark::DoNotOptimize(jb.process(now));
      }
      state.PauseTiming();
    }
    packets += static_cast<int64_t>(order.size());
    state.ResumeTiming();
  }
  state.counters["ns_per_packet"] = benchmark::Counter(
      static_cast<double>(packets), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetItemsProcessed(packets);
}
BENCHMARK(BM_VideoInsert1000InFlight)->Unit(benchmark::kMillisecond);

}  // namespace
