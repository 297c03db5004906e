// Tests for the synthetic, file-less sources: video detail and motion, the frame-number stamp
// (raw and through a low-bitrate VP8 encode), pacing, audio signals, and the app-fed source.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>

#include "tern/codecs/vp8_encoder.h"
#include "tern/codecs/vpx_decoder.h"
#include "tern/core/random.h"
#include "tern/media/app_source.h"
#include "tern/media/frame_stamp.h"
#include "tern/media/synthetic_audio_source.h"
#include "tern/media/synthetic_video_source.h"
#include "tern/media/video_quality.h"

namespace tern::media {
namespace {

SyntheticVideoSource MakeStampedVideo(int w, int h, uint64_t seed = 1, bool stamp = true) {
  SyntheticVideoConfig c;
  c.width = w;
  c.height = h;
  c.seed = seed;
  c.stamp = stamp;
  auto s = SyntheticVideoSource::Create(c);
  REQUIRE(s.ok());
  return std::move(s).value();
}

double Rms(const codecs::AudioFrame& f) {
  double sum = 0;
  for (int16_t s : f.samples) sum += static_cast<double>(s) * s;
  return f.samples.empty() ? 0 : std::sqrt(sum / static_cast<double>(f.samples.size()));
}

TEST_CASE("synthetic video has detail and motion between consecutive frames") {
  auto src = MakeStampedVideo(320, 240);
  for (uint32_t n = 0; n < 20; ++n) {
    const auto a = src.render(n);
    const auto b = src.render(n + 1);
    auto q = compare_frames(a, b);
    REQUIRE(q.ok());
    CHECK(q->psnr < 40.0);
  }
  // Not flat: the luma spread of one picture is wide.
  const auto f = src.render(5);
  double mean = 0;
  for (uint8_t v : f.y) mean += v;
  mean /= static_cast<double>(f.y.size());
  double var = 0;
  for (uint8_t v : f.y) var += (v - mean) * (v - mean);
  CHECK(std::sqrt(var / static_cast<double>(f.y.size())) > 20.0);
}

TEST_CASE("synthetic video is deterministic per seed") {
  auto a = MakeStampedVideo(160, 120, 7);
  auto b = MakeStampedVideo(160, 120, 7);
  auto c = MakeStampedVideo(160, 120, 8);
  CHECK(a.render(42).y == b.render(42).y);
  CHECK(a.render(42).u == b.render(42).u);
  CHECK(a.render(42).y != c.render(42).y);
}

TEST_CASE("synthetic video renders into reused buffers exactly as render") {
  auto src = MakeStampedVideo(320, 240, 3);
  codecs::VideoFrame reused;  // empty: allocated on the first call
  for (uint32_t n : {0u, 1u, 170u, 171u, 511u, 512u, 100000u, FrameStamp::kMaxFrameNumber}) {
    src.render_into(n, reused);
    const auto fresh = src.render(n);
    CHECK(reused.y == fresh.y);
    CHECK(reused.u == fresh.u);
    CHECK(reused.v == fresh.v);
    CHECK(FrameStamp::read(reused) == n);
  }
  // A frame of another size is replaced by one of the configured size.
  auto other = codecs::VideoFrame::Allocate(64, 48);
  src.render_into(9, other);
  CHECK(other.width == 320);
  CHECK(other.y == src.render(9).y);
  // The pan repeats only after a whole background period: frames 512 apart still differ (objects).
  CHECK(src.render(5).y != src.render(5 + 512).y);
  CHECK(SyntheticVideoSource::Validate({}).ok());
  SyntheticVideoConfig odd;
  odd.width = 321;
  CHECK_FALSE(SyntheticVideoSource::Validate(odd).ok());
}

TEST_CASE("synthetic video rejects bad configurations") {
  SyntheticVideoConfig c;
  c.width = 63;
  CHECK_FALSE(SyntheticVideoSource::Create(c).ok());
  c = {};
  c.height = 38;
  CHECK_FALSE(SyntheticVideoSource::Create(c).ok());
  c = {};
  c.fps = 0;
  CHECK_FALSE(SyntheticVideoSource::Create(c).ok());
}

TEST_CASE("synthetic video paces frames by capture time and skips missed ones") {
  auto src = MakeStampedVideo(64, 48);
  const Timestamp t0 = Timestamp::Seconds(100);
  auto f0 = src.next_frame(t0);
  REQUIRE(f0);
  CHECK(FrameStamp::read(*f0) == 0u);
  CHECK(f0->capture_time == t0);
  CHECK_FALSE(src.next_frame(t0 + TimeDelta::Millis(20)));
  auto f1 = src.next_frame(t0 + TimeDelta::Millis(34));
  REQUIRE(f1);
  CHECK(FrameStamp::read(*f1) == 1u);
  CHECK(f1->rtp_timestamp == 3000u);
  // Polling 10 frame intervals late yields the latest due frame only.
  auto f2 = src.next_frame(t0 + TimeDelta::Millis(340));
  REQUIRE(f2);
  CHECK(FrameStamp::read(*f2) == 10u);
  CHECK(f2->rtp_timestamp == 30000u);
  CHECK(src.next_capture_time() == t0 + TimeDelta::SecondsF(11.0 / 30.0));
}

TEST_CASE("frame stamp round-trips random numbers at several sizes") {
  Random rng(11);
  for (auto [w, h] : {std::pair{64, 40}, std::pair{320, 240}, std::pair{640, 480}, std::pair{1280, 720}, std::pair{66, 50}}) {
    for (int i = 0; i < 50; ++i) {
      auto f = codecs::VideoFrame::Allocate(w, h);
      const auto n = static_cast<uint32_t>(rng.uniform_int(0, FrameStamp::kMaxFrameNumber));
      REQUIRE(FrameStamp::write(f, n));
      CHECK(FrameStamp::read(f) == n);
    }
  }
  auto f = codecs::VideoFrame::Allocate(64, 40);
  REQUIRE(FrameStamp::write(f, FrameStamp::kMaxFrameNumber + 5));
  CHECK(FrameStamp::read(f) == 4u);  // wraps at 2^24
}

TEST_CASE("frame stamp is refused on tiny frames and not read from unstamped content") {
  auto narrow = codecs::VideoFrame::Allocate(62, 40);
  CHECK_FALSE(FrameStamp::write(narrow, 1));
  CHECK_FALSE(FrameStamp::read(narrow));
  auto flat = codecs::VideoFrame::Allocate(64, 39);
  CHECK_FALSE(FrameStamp::write(flat, 1));
  auto plain = MakeStampedVideo(320, 240, 3, /*stamp=*/false);
  for (uint32_t n = 0; n < 30; ++n) CHECK_FALSE(FrameStamp::read(plain.render(n)));
  // Random pictures: the sync bits and CRC reject (essentially) all of them.
  Random rng(5);
  int false_reads = 0;
  for (int i = 0; i < 200; ++i) {
    auto f = codecs::VideoFrame::Allocate(64, 48);
    for (auto& v : f.y) v = static_cast<uint8_t>(rng.uniform_int(0, 255));
    if (FrameStamp::read(f)) ++false_reads;
  }
  CHECK(false_reads <= 2);
}

TEST_CASE("frame stamp survives VP8 at 300 kbps 320x240") {
  auto src = MakeStampedVideo(320, 240, 9);
  codecs::VideoEncoderConfig ec;
  ec.width = 320;
  ec.height = 240;
  ec.start_bitrate = DataRate::KilobitsPerSec(300);
  auto enc = codecs::Vp8Encoder::Create(ec);
  REQUIRE(enc.ok());
  auto dec = codecs::VpxDecoder::Create({});
  REQUIRE(dec.ok());
  int decoded = 0;
  int correct = 0;
  Timestamp now = Timestamp::Seconds(1);
  for (int i = 0; i < 90; ++i, now += TimeDelta::Micros(33334)) {
    auto frame = src.next_frame(now);
    REQUIRE(frame);
    const auto number = FrameStamp::read(*frame);
    REQUIRE(number);
    auto encoded = (*enc)->encode(*frame);
    REQUIRE(encoded.ok());
    if (!*encoded) continue;  // dropped by rate control
    auto out = (*dec)->decode(**encoded);
    REQUIRE(out.ok());
    if (!*out) continue;
    ++decoded;
    if (FrameStamp::read(**out) == number) ++correct;
  }
  CHECK(decoded >= 60);
  CHECK(correct == decoded);
}

TEST_CASE("synthetic tone has the configured frequency and level") {
  SyntheticAudioConfig c;
  c.kind = SyntheticAudioKind::kTone;
  c.tone_hz = 1000;
  c.amplitude = 0.5;
  auto src = SyntheticAudioSource::Create(c);
  REQUIRE(src.ok());
  int crossings = 0;
  int16_t prev = 0;
  for (int block = 0; block < 100; ++block) {  // 1 s
    auto f = src->next_audio(Timestamp::Millis(block * 10));
    CHECK(f.samples_per_channel == 480);
    CHECK(f.rtp_timestamp == static_cast<uint32_t>(block * 480));
    CHECK(Rms(f) == doctest::Approx(0.5 * 32767 / std::sqrt(2.0)).epsilon(0.02));
    for (int16_t s : f.samples) {
      if ((prev < 0) != (s < 0)) ++crossings;
      prev = s;
    }
  }
  CHECK(crossings == doctest::Approx(2000).epsilon(0.01));
}

TEST_CASE("synthetic sweep rises in frequency") {
  SyntheticAudioConfig c;
  c.kind = SyntheticAudioKind::kSweep;
  c.sweep_period = TimeDelta::Seconds(1);
  auto src = SyntheticAudioSource::Create(c);
  REQUIRE(src.ok());
  auto crossings = [](const codecs::AudioFrame& f) {
    int n = 0;
    for (size_t i = 1; i < f.samples.size(); ++i) n += (f.samples[i - 1] < 0) != (f.samples[i] < 0);
    return n;
  };
  const int early = crossings(src->next_samples(4800, Timestamp::Zero()));  // 0..100 ms
  for (int i = 0; i < 7; ++i) (void)src->next_samples(4800, Timestamp::Zero());
  const int late = crossings(src->next_samples(4800, Timestamp::Zero()));  // 800..900 ms
  CHECK(late > 10 * early);
}

TEST_CASE("speech-like audio alternates talk and pauses deterministically") {
  SyntheticAudioConfig c;
  c.seed = 3;
  auto a = SyntheticAudioSource::Create(c);
  auto b = SyntheticAudioSource::Create(c);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  int silent = 0;
  int loud = 0;
  for (int block = 0; block < 1000; ++block) {  // 10 s
    auto fa = a->next_audio(Timestamp::Zero());
    auto fb = b->next_audio(Timestamp::Zero());
    REQUIRE(fa.samples == fb.samples);
    const double rms = Rms(fa);
    if (rms < 1.0) ++silent;
    if (rms > 1000.0) ++loud;
  }
  CHECK(silent > 50);   // pauses for DTX
  CHECK(loud > 300);    // voiced syllables
  c.sample_rate_hz = 4000;
  CHECK_FALSE(SyntheticAudioSource::Create(c).ok());
}

TEST_CASE("app source is bounded and drops the oldest") {
  AppVideoSource src(2);
  for (uint32_t i = 0; i < 3; ++i) {
    auto f = codecs::VideoFrame::Allocate(64, 32);
    f.rtp_timestamp = i;
    f.capture_time = Timestamp::Millis(10 + i);
    CHECK(src.push(std::move(f)) == (i < 2));
  }
  CHECK(src.dropped() == 1);
  CHECK_FALSE(src.next_frame(Timestamp::Millis(10)));  // oldest kept is due at 11 ms
  auto f = src.next_frame(Timestamp::Millis(11));
  REQUIRE(f);
  CHECK(f->rtp_timestamp == 1u);
}

// Interleaved stereo block of `n` samples per channel continuing a ramp at `start`: left = k, right = -k.
codecs::AudioFrame Ramp(int start, int n) {
  codecs::AudioFrame f = codecs::AudioFrame::Silence(48000, 2, n);
  for (int i = 0; i < n; ++i) {
    f.samples[static_cast<size_t>(2 * i)] = static_cast<int16_t>((start + i) % 30000);
    f.samples[static_cast<size_t>(2 * i + 1)] = static_cast<int16_t>(-((start + i) % 30000));
  }
  return f;
}

TEST_CASE("app audio source re-blocks pushed blocks of any size in order") {
  AppAudioSource src(64, 48000, 2);
  CHECK(src.sample_rate_hz() == 48000);
  CHECK(src.channels() == 2);
  CHECK_FALSE(src.next_samples(960, Timestamp::Millis(1)));  // nothing yet: an underrun
  int pushed = 0;
  for (int n : {333, 100, 480, 7, 960, 1200, 1}) {
    CHECK(src.push(Ramp(pushed, n)));
    pushed += n;
  }
  int pulled = 0;
  for (int i = 0; pulled + 960 <= pushed; ++i) {
    CAPTURE(i);
    auto f = src.next_samples(960, Timestamp::Millis(20 * i));
    REQUIRE(f);
    CHECK(f->samples_per_channel == 960);
    CHECK(f->channels == 2);
    CHECK(f->capture_time == Timestamp::Millis(20 * i));
    for (int k = 0; k < 960; ++k) {
      REQUIRE(f->samples[static_cast<size_t>(2 * k)] == (pulled + k) % 30000);
      REQUIRE(f->samples[static_cast<size_t>(2 * k + 1)] == -((pulled + k) % 30000));
    }
    pulled += 960;
  }
  CHECK(pulled == 2880);
  CHECK_FALSE(src.next_samples(960, Timestamp::Seconds(1)));  // 201 left: underrun, nothing consumed
  CHECK_FALSE(src.ended());
  src.close();
  auto last = src.next_samples(960, Timestamp::Seconds(1));  // the rest, zero-padded
  REQUIRE(last);
  CHECK(last->samples[0] == pulled % 30000);
  CHECK(last->samples[2 * 200] == (pushed - 1) % 30000);
  CHECK(last->samples[2 * 201] == 0);
  CHECK(last->samples.back() == 0);
  CHECK(src.ended());
  CHECK_FALSE(src.next_samples(960, Timestamp::Seconds(2)));
}

TEST_CASE("app audio source refuses other formats and stays bounded") {
  AppAudioSource src(2);  // 48 kHz mono
  CHECK_FALSE(src.push(codecs::AudioFrame::Silence(16000, 1, 160)));
  CHECK_FALSE(src.push(codecs::AudioFrame::Silence(48000, 2, 480)));
  codecs::AudioFrame broken = codecs::AudioFrame::Silence(48000, 1, 480);
  broken.samples.resize(100);
  CHECK_FALSE(src.push(broken));
  CHECK(src.rejected() == 3);
  CHECK(src.push(codecs::AudioFrame::Silence(48000, 1, 480)));
  CHECK(src.push(codecs::AudioFrame::Silence(48000, 1, 480)));
  CHECK_FALSE(src.push(codecs::AudioFrame::Silence(48000, 1, 480)));  // full: the oldest goes
  CHECK(src.dropped() == 1);
  CHECK(src.size() == 2);
  // A block stamped in the future is not due yet.
  AppAudioSource timed(4);
  codecs::AudioFrame later = codecs::AudioFrame::Silence(48000, 1, 960);
  later.capture_time = Timestamp::Millis(100);
  CHECK(timed.push(later));
  CHECK_FALSE(timed.next_samples(960, Timestamp::Millis(50)));
  CHECK(timed.next_samples(960, Timestamp::Millis(100)));
}

}  // namespace
}  // namespace tern::media
