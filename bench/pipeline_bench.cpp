// Pipeline benchmarks: how fast a whole simulated call runs (simulated seconds per wall second)
// for 640x480@30 VP8 + Opus over a netsim link, with and without the PSNR/SSIM measurement, and
// the encoder alone on the same content for the CPU split.
#include <benchmark/benchmark.h>

#include <memory>

#include "tern/codecs/codec_factory.h"
#include "tern/media/synthetic_video_source.h"
#include "tern/netsim/event_loop.h"
#include "tern/netsim/network.h"
#include "tern/pipeline/endpoint.h"
#include "tern/netsim/datagram_adapter.h"

namespace tern::pipeline {
namespace {

constexpr TimeDelta kCallLength = TimeDelta::Seconds(3);

netsim::LinkConfig bench_link() {
  netsim::LinkConfig l;
  l.capacity = DataRate::MegabitsPerSec(5);
  l.delay = TimeDelta::Millis(20);
  return l;
}

// One-way call A -> B (B sends RTCP only), `seconds` of simulated time.
void run_call(bool measure_quality, bool two_way, benchmark::State& state) {
  EndpointConfig ca;  // 640x480@30 VP8 + Opus, transport-cc
  ca.measure_quality = measure_quality;
  if (!two_way) {
    ca.receive.video.reset();
    ca.receive.audio.reset();
  }
  const EndpointConfig cb = ca.mirrored();
  double simulated = 0;
  for (auto _ : state) {
    netsim::EventLoop loop;
    auto network = netsim::Network::Create(netsim::NetworkConfig::Direct(bench_link(), bench_link())).value();
    netsim::Network* nw = network.get();
    netsim::NetsimTransport ta([nw](netsim::SimPacket p, Timestamp now) { nw->send_from_a(std::move(p), now); });
    netsim::NetsimTransport tb([nw](netsim::SimPacket p, Timestamp now) { nw->send_from_b(std::move(p), now); });
    auto a = Endpoint::Create(ca, &ta);
    auto b = Endpoint::Create(cb, &tb);
    if (!a.ok() || !b.ok()) {
      state.SkipWithError("endpoint creation failed");
      return;
    }
    netsim::PollableAdapter<Endpoint> da(**a), db(**b);
    nw->set_sink_a(&da);
    nw->set_sink_b(&db);
    nw->attach(loop);
    loop.add_pollable(&da);
    loop.add_pollable(&db);
    if (!loop.run_for(kCallLength).ok()) {
      state.SkipWithError("event loop overrun");
      return;
    }
    simulated += kCallLength.seconds_f();
    benchmark::DoNotOptimize((*b)->stats(loop.now()));
  }
  state.counters["sim_s_per_wall_s"] = benchmark::Counter(simulated, benchmark::Counter::kIsRate);
}

void BM_Call640x480Vp8Opus(benchmark::State& state) { run_call(false, false, state); }
void BM_Call640x480Vp8OpusWithPsnr(benchmark::State& state) { run_call(true, false, state); }
void BM_Call640x480Vp8OpusTwoWay(benchmark::State& state) { run_call(false, true, state); }

// The VP8 encoder (and the synthetic camera) alone on the same content: its share of the call.
void BM_Vp8Encode640x480(benchmark::State& state) {
  media::SyntheticVideoConfig sc;
  auto source = media::SyntheticVideoSource::Create(sc).value();
  codecs::VideoEncoderConfig ec;
  ec.start_bitrate = DataRate::KilobitsPerSec(1500);
  auto encoder = codecs::CreateVideoEncoder(ec).value();
  uint32_t n = 0;
  codecs::VideoFrame frame = source.render(0);
  for (auto _ : state) {
    source.render_into(n, frame);
    frame.rtp_timestamp = n * 3000;
    ++n;
    benchmark::DoNotOptimize(encoder->encode(frame));
  }
  state.counters["frames_per_s"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
  // A 30 fps call needs 30 of these per simulated second.
  state.counters["sim_s_per_wall_s_encoder_only"] =
      benchmark::Counter(static_cast<double>(n) / 30.0, benchmark::Counter::kIsRate);
}

BENCHMARK(BM_Call640x480Vp8Opus)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_Call640x480Vp8OpusWithPsnr)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_Call640x480Vp8OpusTwoWay)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_Vp8Encode640x480)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tern::pipeline
