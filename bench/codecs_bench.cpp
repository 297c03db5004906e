// Throughput of the codec wrappers: VP8/VP9 real-time encode and decode frames per second at VGA
// and 720p, and Opus 20 ms encode/decode speed as a multiple of real time.
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "tern/codecs/codec_factory.h"

using namespace tern;
using namespace tern::codecs;

namespace {

constexpr int kClipFrames = 30;

// A moving textured picture: enough detail and motion for the encoder to do real work.
VideoFrame Picture(int width, int height, int index) {
  VideoFrame f = VideoFrame::Allocate(width, height);
  const int sq = height / 4;
  const int sx = (index * 8) % (width - sq);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      int v = (x * 3 + y * 2 + index * 5) % 180 + 20 + ((x / 16 + y / 16) % 2) * 25;
      if (x >= sx && x < sx + sq && y >= sq && y < 2 * sq) v = 235;
      f.y[static_cast<std::size_t>(y * width + x)] = static_cast<uint8_t>(v);
    }
  }
  for (std::size_t i = 0; i < f.u.size(); ++i) {
    f.u[i] = static_cast<uint8_t>(100 + (i + static_cast<std::size_t>(index)) % 50);
    f.v[i] = static_cast<uint8_t>(110 + (i / 7) % 40);
  }
  return f;
}

std::vector<VideoFrame> Clip(int width, int height) {
  std::vector<VideoFrame> clip;
  for (int i = 0; i < kClipFrames; ++i) clip.push_back(Picture(width, height, i));
  return clip;
}

VideoEncoderConfig Config(CodecType codec, int width, int height) {
  VideoEncoderConfig c;
  c.codec = codec;
  c.width = width;
  c.height = height;
  c.start_bitrate = DataRate::KilobitsPerSec(width >= 1280 ? 2500 : 1000);
  c.threads = 1;
  return c;
}

void BM_VideoEncode(benchmark::State& state, CodecType codec) {
  const int w = static_cast<int>(state.range(0));
  const int h = static_cast<int>(state.range(1));
  const auto clip = Clip(w, h);
  auto enc = CreateVideoEncoder(Config(codec, w, h));
  if (!enc.ok()) {
    state.SkipWithError(enc.error());
    return;
  }
  std::size_t i = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    auto r = (*enc)->encode(clip[i++ % clip.size()]);
    if (r.ok() && r->has_value()) bytes += static_cast<int64_t>((*r)->data.size());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());  // items/s == frames/s
  state.counters["kbit_per_frame"] =
      benchmark::Counter(static_cast<double>(bytes) * 8 / 1000 / static_cast<double>(state.iterations()));
}

void BM_VideoDecode(benchmark::State& state, CodecType codec) {
  const int w = static_cast<int>(state.range(0));
  const int h = static_cast<int>(state.range(1));
  auto enc = CreateVideoEncoder(Config(codec, w, h));
  auto dec = CreateVideoDecoder(VideoDecoderConfig{codec, 1});
  if (!enc.ok() || !dec.ok()) {
    state.SkipWithError("codec creation failed");
    return;
  }
  std::vector<EncodedFrame> stream;
  for (const VideoFrame& f : Clip(w, h)) {
    auto r = (*enc)->encode(f);
    if (r.ok() && r->has_value()) stream.push_back(std::move(**r));
  }
  std::size_t i = 0;
  for (auto _ : state) {
    if (i % stream.size() == 0) {
      state.PauseTiming();
      dec = CreateVideoDecoder(VideoDecoderConfig{codec, 1});  // restart at the keyframe
      state.ResumeTiming();
    }
    auto r = (*dec)->decode(stream[i++ % stream.size()]);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

std::vector<AudioFrame> SpeechClip() {
  std::vector<AudioFrame> clip;
  for (int i = 0; i < 50; ++i) {
    AudioFrame f = AudioFrame::Silence(48000, 1, 960);
    for (int k = 0; k < 960; ++k) {
      const double t = (i * 960 + k) / 48000.0;
      double s = 0;
      for (int h = 1; h <= 8; ++h) s += std::sin(2 * 3.14159265 * 140 * h * t) / h;
      f.samples[static_cast<std::size_t>(k)] = static_cast<int16_t>(3000 * s * (0.6 + 0.4 * std::sin(18.8 * t)));
    }
    clip.push_back(std::move(f));
  }
  return clip;
}

void BM_OpusEncode20ms(benchmark::State& state) {
  AudioEncoderConfig c;
  c.bitrate = DataRate::KilobitsPerSec(32);
  auto enc = CreateAudioEncoder(c);
  if (!enc.ok()) {
    state.SkipWithError(enc.error());
    return;
  }
  const auto clip = SpeechClip();
  std::size_t i = 0;
  for (auto _ : state) {
    auto r = (*enc)->encode(clip[i++ % clip.size()]);
    benchmark::DoNotOptimize(r);
  }
  // Seconds of audio per second of CPU: the real-time factor.
  state.counters["x_realtime"] = benchmark::Counter(static_cast<double>(state.iterations()) * 0.020,
                                                    benchmark::Counter::kIsRate);
}

void BM_OpusDecode20ms(benchmark::State& state) {
  AudioEncoderConfig c;
  c.bitrate = DataRate::KilobitsPerSec(32);
  auto enc = CreateAudioEncoder(c);
  auto dec = CreateAudioDecoder(AudioDecoderConfig{});
  if (!enc.ok() || !dec.ok()) {
    state.SkipWithError("codec creation failed");
    return;
  }
  std::vector<EncodedFrame> packets;
  for (const AudioFrame& f : SpeechClip()) {
    auto r = (*enc)->encode(f);
    if (r.ok()) packets.push_back(std::move(r).value());
  }
  std::size_t i = 0;
  for (auto _ : state) {
    auto r = (*dec)->decode(packets[i++ % packets.size()].data);
    benchmark::DoNotOptimize(r);
  }
  state.counters["x_realtime"] = benchmark::Counter(static_cast<double>(state.iterations()) * 0.020,
                                                    benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK_CAPTURE(BM_VideoEncode, vp8, CodecType::kVp8)->Args({640, 480})->Args({1280, 720})->Iterations(60)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_VideoEncode, vp9, CodecType::kVp9)->Args({640, 480})->Args({1280, 720})->Iterations(60)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_VideoDecode, vp8, CodecType::kVp8)->Args({640, 480})->Args({1280, 720})->Iterations(60)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_VideoDecode, vp9, CodecType::kVp9)->Args({640, 480})->Args({1280, 720})->Iterations(60)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_OpusEncode20ms)->Iterations(500);
BENCHMARK(BM_OpusDecode20ms)->Iterations(2000);
