// media/ costs per frame at 640x480: synthetic picture generation, frame-stamp write and read,
// PSNR/SSIM against the source (libyuv), and 10 ms of speech-like audio.
#include <benchmark/benchmark.h>

#include "tern/media/frame_stamp.h"
#include "tern/media/synthetic_audio_source.h"
#include "tern/media/synthetic_video_source.h"
#include "tern/media/video_quality.h"

using namespace tern;
using namespace tern::media;

namespace {

SyntheticVideoSource Vga() {
  SyntheticVideoConfig c;
  c.width = 640;
  c.height = 480;
  return std::move(SyntheticVideoSource::Create(c)).value();
}

void BM_SyntheticFrame640x480(benchmark::State& state) {
  const auto src = Vga();
  auto frame = codecs::VideoFrame::Allocate(640, 480);
  uint32_t n = 0;
  for (auto _ : state) {
    src.render_into(n++, frame);
    benchmark::DoNotOptimize(frame.y.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SyntheticFrame640x480);

void BM_StampWrite640x480(benchmark::State& state) {
  auto frame = codecs::VideoFrame::Allocate(640, 480);
  uint32_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(FrameStamp::write(frame, n++));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StampWrite640x480);

void BM_StampRead640x480(benchmark::State& state) {
  const auto frame = Vga().render(1234);
  for (auto _ : state) benchmark::DoNotOptimize(FrameStamp::read(frame));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StampRead640x480);

void BM_PsnrSsim640x480(benchmark::State& state) {
  const auto src = Vga();
  const auto a = src.render(10);
  const auto b = src.render(11);
  for (auto _ : state) benchmark::DoNotOptimize(compare_frames(a, b).ok());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PsnrSsim640x480);

void BM_SpeechAudio10ms(benchmark::State& state) {
  auto src = std::move(SyntheticAudioSource::Create({})).value();
  for (auto _ : state) benchmark::DoNotOptimize(src.next_audio(Timestamp::Zero()).samples.data());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SpeechAudio10ms);

}  // namespace
