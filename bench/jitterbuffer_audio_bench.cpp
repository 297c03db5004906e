// Cost of the audio jitter buffer per 10 ms of playout: insert one 20 ms Opus packet every other
// pull and pull 10 ms, with the real Opus decoder (decode + PLC + time stretch) and with a
// trivial decoder (buffer bookkeeping alone). Time stretching is exercised by the jittered case.
#include <benchmark/benchmark.h>

#include <cmath>
#include <memory>
#include <numbers>
#include <vector>

#include "tern/codecs/opus_encoder.h"
#include "tern/core/random.h"
#include "tern/jitterbuffer/audio/audio_jitter_buffer.h"
#include "tern/jitterbuffer/audio/time_stretcher.h"
#include "tern/rtp/rtp_packet_builder.h"

using namespace tern;
using namespace tern::jitterbuffer;

namespace {

constexpr int kPackets = 500;  // 10 s of 20 ms packets, replayed in a loop

std::vector<rtp::RtpPacket> EncodeClip() {
  codecs::AudioEncoderConfig c;
  c.bitrate = DataRate::KilobitsPerSec(32);
  c.complexity = 5;
  auto enc = codecs::OpusEncoder::Create(c);
  std::vector<rtp::RtpPacket> out;
  if (!enc.ok()) return out;
  double phase = 0;
  for (int i = 0; i < kPackets; ++i) {
    codecs::AudioFrame f = codecs::AudioFrame::Silence(48000, 1, 960);
    for (int n = 0; n < 960; ++n) {
      phase += 2 * std::numbers::pi * 160.0 / 48000.0;
      f.samples[static_cast<size_t>(n)] =
          static_cast<int16_t>(4000 * (std::sin(phase) + 0.5 * std::sin(2 * phase) + 0.3 * std::sin(3 * phase)));
    }
    auto pkt = (*enc)->encode(f);
    if (!pkt.ok()) return {};
    rtp::RtpPacketBuilder b;
    b.set_payload_type(111).set_sequence_number(static_cast<uint16_t>(i)).set_timestamp(static_cast<uint32_t>(i * 960));
    b.set_ssrc(1).set_payload(pkt->data);
    auto p = b.build();
    if (!p.ok()) return {};
    out.push_back(std::move(p).value());
  }
  return out;
}

// Decodes nothing: 20 ms of a constant per packet.
class NullDecoder final : public codecs::AudioDecoder {
 public:
  Result<codecs::DecodedAudio> decode(std::span<const uint8_t>) override { return Make(960); }
  Result<codecs::DecodedAudio> conceal(TimeDelta d) override { return Make(static_cast<int>(d.us() * 48 / 1000)); }
  Result<codecs::DecodedAudio> decode_fec(std::span<const uint8_t>, TimeDelta d) override { return conceal(d); }
  void reset() override {}
  const codecs::AudioDecoderConfig& config() const override { return config_; }

 private:
  static codecs::DecodedAudio Make(int n) {
    codecs::DecodedAudio out;
    out.frame = codecs::AudioFrame::Silence(48000, 1, n);
    return out;
  }
  codecs::AudioDecoderConfig config_;
};

// state.range(0): 1 = real Opus decoder, 0 = null decoder. state.range(1): jitter in ms.
void BM_InsertAndPull10ms(benchmark::State& state) {
  static const std::vector<rtp::RtpPacket> clip = EncodeClip();
  if (clip.empty()) {
    state.SkipWithError("opus encode failed");
    return;
  }
  const bool opus = state.range(0) != 0;
  const double jitter_ms = static_cast<double>(state.range(1));
  auto jb = AudioJitterBuffer::Create({}, opus ? nullptr : std::make_unique<NullDecoder>());
  if (!jb.ok()) {
    state.SkipWithError(jb.error());
    return;
  }
  Random rng(1);
  int64_t pull = 0;
  int64_t packet = 0;
  rtp::RtpPacket p;
  for (auto _ : state) {
    // Two pulls per packet; the packet arrives with jitter (no reordering beyond it).
    if (pull % 2 == 0) {
      p = clip[static_cast<size_t>(packet % kPackets)];
      p.set_sequence_number(static_cast<uint16_t>(packet));
      p.set_timestamp(static_cast<uint32_t>(packet * 960));
      const Timestamp at = Timestamp::Micros(packet * 20000 + static_cast<int64_t>(rng.uniform(0, jitter_ms) * 1000));
      (*jb)->insert(p, at);
      ++packet;
    }
    PlayoutFrame f = (*jb)->pull_10ms(Timestamp::Millis(10 * pull) + TimeDelta::Millis(5));
    benchmark::DoNotOptimize(f.frame.samples.data());
    ++pull;
  }
  const auto& s = (*jb)->stats();
  // Seconds of audio played per second of CPU: the real-time multiple.
  state.counters["x_realtime"] = benchmark::Counter(static_cast<double>(state.iterations()) * 0.01,
                                                    benchmark::Counter::kIsRate);
  state.counters["concealed_pct"] =
      s.jitter_buffer_emitted_count ? 100.0 * static_cast<double>(s.concealed_samples) / static_cast<double>(s.jitter_buffer_emitted_count) : 0;
}
BENCHMARK(BM_InsertAndPull10ms)->ArgNames({"opus", "jitter_ms"})->Args({0, 0})->Args({0, 40})->Args({1, 0})->Args({1, 40});

void BM_TimeStretchAccelerate(benchmark::State& state) {
  std::vector<int16_t> tone(1440);
  for (size_t n = 0; n < tone.size(); ++n) {
    tone[n] = static_cast<int16_t>(6000 * std::sin(2 * std::numbers::pi * 180.0 * static_cast<double>(n) / 48000.0));
  }
  std::vector<int16_t> pcm;
  for (auto _ : state) {
    pcm = tone;
    benchmark::DoNotOptimize(TimeStretcher::accelerate(pcm, 1, 48000));
  }
}
BENCHMARK(BM_TimeStretchAccelerate);

}  // namespace
