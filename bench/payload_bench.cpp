// Benchmarks of the RTP payload formats (rtp/payload/): packetizing (plan + write of every packet)
// and depacketizing, reported per packet. Payload copies are part of write(); the descriptor work
// is what the "per packet" budget of ~100 ns is about.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "tern/core/random.h"
#include "tern/rtp/payload/opus_payload.h"
#include "tern/rtp/payload/vp8_payload.h"
#include "tern/rtp/payload/vp9_payload.h"

using namespace tern;
using namespace tern::rtp;

namespace {

std::vector<uint8_t> random_bytes(size_t n, uint64_t seed) {
  Random rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng.next_u32());
  return v;
}

template <typename Packetizer, typename Info>
void packetize(benchmark::State& state, Packetizer& packetizer, const Info& info) {
  const auto frame = random_bytes(static_cast<size_t>(state.range(0)), 1);
  const PayloadLimits limits{.max_payload_size = 1200};
  std::vector<uint8_t> out(1500);
  int64_t packets = 0;
  for (auto _ : state) {
    if (!packetizer.plan(frame, info, limits).ok()) state.SkipWithError("plan failed");
    for (size_t i = 0; i < packetizer.num_packets(); ++i) {
      auto n = packetizer.write(i, out);
      benchmark::DoNotOptimize(n);
      benchmark::DoNotOptimize(packetizer.marker(i));
    }
    packets += static_cast<int64_t>(packetizer.num_packets());
  }
  state.counters["ns/packet"] =
      benchmark::Counter(static_cast<double>(packets), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

template <typename Depacketizer, typename Packetizer, typename Info>
void depacketize(benchmark::State& state, Packetizer& packetizer, const Info& info) {
  const auto frame = random_bytes(static_cast<size_t>(state.range(0)), 2);
  if (!packetizer.plan(frame, info, PayloadLimits{.max_payload_size = 1200}).ok()) state.SkipWithError("plan failed");
  std::vector<std::vector<uint8_t>> packets(packetizer.num_packets());
  for (size_t i = 0; i < packets.size(); ++i) {
    packets[i].resize(packetizer.packet_size(i));
    (void)packetizer.write(i, packets[i]);
  }
  int64_t count = 0;
  for (auto _ : state) {
    for (const auto& p : packets) {
      auto parsed = Depacketizer::parse(p);
      benchmark::DoNotOptimize(parsed);
    }
    count += static_cast<int64_t>(packets.size());
  }
  state.counters["ns/packet"] =
      benchmark::Counter(static_cast<double>(count), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

Vp8Descriptor vp8_info() {
  Vp8Descriptor d;
  d.tl0_pic_idx = 3;
  d.temporal_id = 1;
  return d;
}

Vp9FrameInfo vp9_info(bool with_ss) {
  Vp9FrameInfo info;
  info.descriptor.picture_id = 4000;
  info.descriptor.inter_picture_predicted = !with_ss;
  info.descriptor.layer = Vp9LayerIndices{0, false, 0, false};
  if (with_ss) {
    Vp9ScalabilityStructure ss;
    ss.num_spatial_layers = 2;
    ss.has_resolutions = true;
    ss.width = {640, 1280};
    ss.height = {360, 720};
    ss.has_picture_group = true;
    ss.picture_group = {Vp9PictureGroupEntry{0, false, 1, {4, 0, 0}}, Vp9PictureGroupEntry{1, true, 1, {1, 0, 0}}};
    info.descriptor.ss = ss;
  }
  return info;
}

void BM_Vp8Packetize(benchmark::State& state) {
  Vp8Packetizer p;
  packetize(state, p, vp8_info());
}
void BM_Vp8Depacketize(benchmark::State& state) {
  Vp8Packetizer p;
  depacketize<Vp8Depacketizer>(state, p, vp8_info());
}
void BM_Vp9Packetize(benchmark::State& state) {
  Vp9Packetizer p;
  packetize(state, p, vp9_info(false));
}
void BM_Vp9PacketizeKeyframeWithSs(benchmark::State& state) {
  Vp9Packetizer p;
  packetize(state, p, vp9_info(true));
}
void BM_Vp9Depacketize(benchmark::State& state) {
  Vp9Packetizer p;
  depacketize<Vp9Depacketizer>(state, p, vp9_info(false));
}
void BM_Vp9DepacketizeKeyframeWithSs(benchmark::State& state) {
  Vp9Packetizer p;
  depacketize<Vp9Depacketizer>(state, p, vp9_info(true));
}
void BM_OpusPacketize(benchmark::State& state) {
  OpusPacketizer p;
  packetize(state, p, OpusFrameInfo{});
}
void BM_OpusDepacketize(benchmark::State& state) {
  OpusPacketizer p;
  depacketize<OpusDepacketizer>(state, p, OpusFrameInfo{});
}

}  // namespace

BENCHMARK(BM_Vp8Packetize)->Arg(1000)->Arg(10000)->Arg(100000);
BENCHMARK(BM_Vp8Depacketize)->Arg(1000)->Arg(100000);
BENCHMARK(BM_Vp9Packetize)->Arg(1000)->Arg(10000)->Arg(100000);
BENCHMARK(BM_Vp9PacketizeKeyframeWithSs)->Arg(100000);
BENCHMARK(BM_Vp9Depacketize)->Arg(1000)->Arg(100000);
BENCHMARK(BM_Vp9DepacketizeKeyframeWithSs)->Arg(100000);
BENCHMARK(BM_OpusPacketize)->Arg(120);
BENCHMARK(BM_OpusDepacketize)->Arg(120);
