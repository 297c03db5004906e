// Quality meters: PSNR/SSIM against known values and ffmpeg's psnr filter, alignment through the
// frame stamp, webrtc-stats freeze/pause counting, end-to-end delay percentiles, audio
// concealment counters.
#include <doctest/doctest.h>
#include <libyuv/compare.h>  // reference for the combined SSIM (tern_media links libyuv statically)

#include <algorithm>
#include <cmath>
#include <string>

#include "support/process.h"
#include "tern/core/random.h"
#include "tern/media/audio_quality_summary.h"
#include "tern/media/end_to_end_delay_meter.h"
#include "tern/media/file_io.h"
#include "tern/media/frame_stamp.h"
#include "tern/media/synthetic_video_source.h"
#include "tern/media/video_quality.h"
#include "tern/media/y4m_file.h"

namespace tern::media {
namespace {

SyntheticVideoSource MakeVideo(int w, int h) {
  SyntheticVideoConfig c;
  c.width = w;
  c.height = h;
  auto s = SyntheticVideoSource::Create(c);
  REQUIRE(s.ok());
  return std::move(s).value();
}

// Adds +d or -d (alternating per sample, clamped away by keeping values in 20..235) to every plane.
codecs::VideoFrame WithError(const codecs::VideoFrame& f, int d) {
  codecs::VideoFrame out = f;
  int sign = 1;
  for (auto* plane : {&out.y, &out.u, &out.v}) {
    for (auto& v : *plane) {
      v = static_cast<uint8_t>(std::clamp<int>(v, 20, 235) + sign * d);
      sign = -sign;
    }
  }
  return out;
}

codecs::VideoFrame Clamped(const codecs::VideoFrame& f) { return WithError(f, 0); }

TEST_CASE("psnr of identical frames is capped and ssim is one") {
  auto src = MakeVideo(160, 120);
  const auto f = src.render(3);
  auto q = compare_frames(f, f);
  REQUIRE(q.ok());
  CHECK(q->psnr == kMaxPsnrDb);
  CHECK(q->psnr_y == kMaxPsnrDb);
  REQUIRE(q->ssim);
  REQUIRE(q->ssim_y);
  CHECK(*q->ssim == doctest::Approx(1.0));
  CHECK(*q->ssim_y == doctest::Approx(1.0));
  CHECK_FALSE(compare_frames(f, codecs::VideoFrame::Allocate(64, 48)).ok());
  CHECK(psnr_from_sse(0, 0) == 0);
}

TEST_CASE("psnr of a known error matches the formula") {
  auto src = MakeVideo(160, 120);
  const auto ref = Clamped(src.render(7));
  for (int d : {1, 2, 4, 8}) {
    auto q = compare_frames(ref, WithError(ref, d));
    REQUIRE(q.ok());
    const double expected = 10 * std::log10(255.0 * 255.0 / (d * d));
    CHECK(q->psnr == doctest::Approx(expected).epsilon(1e-9));
    CHECK(q->psnr_y == doctest::Approx(expected).epsilon(1e-9));
    REQUIRE(q->ssim);
    CHECK(*q->ssim < 1.0);
    // PSNR only: the same PSNR, no SSIM.
    auto p = compare_frames(ref, WithError(ref, d), QualityMetrics::kPsnr);
    REQUIRE(p.ok());
    CHECK(p->psnr == q->psnr);
    CHECK(p->psnr_y == q->psnr_y);
    CHECK_FALSE(p->ssim);
    CHECK_FALSE(p->ssim_y);
  }
  // The combined SSIM is libyuv's I420Ssim.
  const auto test_frame = WithError(ref, 3);
  CHECK(*compare_frames(ref, test_frame)->ssim ==
        doctest::Approx(libyuv::I420Ssim(ref.y.data(), ref.stride_y, ref.u.data(), ref.stride_u, ref.v.data(), ref.stride_v,
                                         test_frame.y.data(), test_frame.stride_y, test_frame.u.data(), test_frame.stride_u,
                                         test_frame.v.data(), test_frame.stride_v, ref.width, ref.height))
            .epsilon(1e-12));
  // Larger error: lower SSIM.
  CHECK(*compare_frames(ref, WithError(ref, 8))->ssim < *compare_frames(ref, WithError(ref, 2))->ssim);
}

TEST_CASE("psnr sums of squared errors match libyuv on random planes with odd sizes and strides") {
  Random rng(21);
  for (int i = 0; i < 40; ++i) {
    const int w = static_cast<int>(rng.uniform_int(1, 700));
    const int h = static_cast<int>(rng.uniform_int(1, 40));
    codecs::VideoFrame a = codecs::VideoFrame::Allocate(w, h);
    // Padded strides, extreme values included (0 vs 255 is the largest squared error).
    a.stride_y = w + static_cast<int>(rng.uniform_int(0, 33));
    a.stride_u = a.stride_v = a.chroma_width() + static_cast<int>(rng.uniform_int(0, 9));
    a.y.resize(static_cast<size_t>(a.stride_y) * static_cast<size_t>(h));
    a.u.resize(static_cast<size_t>(a.stride_u) * static_cast<size_t>(a.chroma_height()));
    a.v.resize(a.u.size());
    codecs::VideoFrame b = a;
    for (auto* plane : {&a.y, &a.u, &a.v, &b.y, &b.u, &b.v}) {
      for (auto& v : *plane) v = rng.bernoulli(0.1) ? (rng.bernoulli(0.5) ? 0 : 255) : static_cast<uint8_t>(rng.uniform_int(0, 255));
    }
    const uint64_t y = libyuv::ComputeSumSquareErrorPlane(a.y.data(), a.stride_y, b.y.data(), b.stride_y, w, h);
    const uint64_t u = libyuv::ComputeSumSquareErrorPlane(a.u.data(), a.stride_u, b.u.data(), b.stride_u,
                                                          a.chroma_width(), a.chroma_height());
    const uint64_t v = libyuv::ComputeSumSquareErrorPlane(a.v.data(), a.stride_v, b.v.data(), b.stride_v,
                                                          a.chroma_width(), a.chroma_height());
    const uint64_t luma = static_cast<uint64_t>(w) * static_cast<uint64_t>(h);
    const uint64_t chroma = static_cast<uint64_t>(a.chroma_width()) * static_cast<uint64_t>(a.chroma_height());
    auto q = compare_frames(a, b, QualityMetrics::kPsnr);
    REQUIRE(q.ok());
    CHECK(q->psnr_y == psnr_from_sse(y, luma));
    CHECK(q->psnr == psnr_from_sse(y + u + v, luma + 2 * chroma));
  }
}

TEST_CASE("psnr agrees with ffmpeg's psnr filter") {
  if (!test::have_tool("ffmpeg")) {
    if (test::interop_required()) FAIL("ffmpeg is missing and TERN_REQUIRE_INTEROP=1");
    MESSAGE("ffmpeg not installed: skipping");
    return;
  }
  auto src = MakeVideo(160, 120);
  const auto ref = src.render(1);
  Random rng(4);
  auto test_frame = ref;
  for (auto& v : test_frame.y) v = static_cast<uint8_t>(std::clamp<int>(v + static_cast<int>(rng.uniform_int(-6, 6)), 0, 255));
  for (auto& v : test_frame.u) v = static_cast<uint8_t>(std::clamp<int>(v + static_cast<int>(rng.uniform_int(-3, 3)), 0, 255));
  auto q = compare_frames(ref, test_frame);
  REQUIRE(q.ok());
  const std::string dir = test::scratch_dir("media_psnr");
  for (auto [name, frame] : {std::pair{"ref", &ref}, std::pair{"test", static_cast<const codecs::VideoFrame*>(&test_frame)}}) {
    auto w = Y4mWriter::Create(160, 120, 30, 1);
    REQUIRE(w.ok());
    REQUIRE(w->append(*frame).ok());
    REQUIRE(save_file(dir + "/" + name + ".y4m", w->bytes()).ok());
  }
  const auto r = test::run_command("ffmpeg -nostdin -hide_banner -i '" + dir + "/test.y4m' -i '" + dir +
                                       "/ref.y4m' -lavfi psnr -f null -",
                                   60, true);
  REQUIRE(r.exit_code == 0);
  // "... PSNR y:37.12 u:44.0 v:inf average:38.5 min:... max:..."
  auto field = [&](const std::string& key) {
    const auto pos = r.out.find(" " + key + ":", r.out.find("PSNR y:"));
    REQUIRE(pos != std::string::npos);
    return std::atof(r.out.c_str() + pos + key.size() + 2);
  };
  CHECK(q->psnr_y == doctest::Approx(field("y")).epsilon(0.001));
  CHECK(q->psnr == doctest::Approx(field("average")).epsilon(0.001));
}

TEST_CASE("video quality meter aligns decoded frames by stamp") {
  auto src = MakeVideo(160, 120);
  VideoQualityMeter meter(4);
  for (uint32_t n = 0; n < 6; ++n) meter.on_source_frame(n, src.render(n));
  // Frame 5 arrives (kept), frame 4 arrives degraded, frame 0 was forgotten, an unstamped one.
  auto q5 = meter.on_decoded_frame(src.render(5));
  REQUIRE(q5);
  CHECK(q5->psnr == kMaxPsnrDb);
  auto degraded = src.render(4);
  for (size_t i = degraded.y.size() / 2; i < degraded.y.size(); i += 2) degraded.y[i] ^= 0x10;
  auto q4 = meter.on_decoded_frame(degraded);
  REQUIRE(q4);
  CHECK(q4->psnr < 40);
  CHECK_FALSE(meter.on_decoded_frame(src.render(0)));
  CHECK_FALSE(meter.on_decoded_frame(codecs::VideoFrame::Allocate(160, 120)));
  const auto& s = meter.summary();
  CHECK(s.measured == 2);
  CHECK(s.unmatched == 1);
  CHECK(s.unreadable == 1);
  CHECK(s.min_psnr == doctest::Approx(q4->psnr));
  CHECK(s.mean_psnr == doctest::Approx((q4->psnr + kMaxPsnrDb) / 2));
}

TEST_CASE("end to end delay percentiles") {
  EndToEndDelayMeter meter(64);
  const Timestamp t0 = Timestamp::Seconds(5);
  for (uint32_t n = 0; n < 100; ++n) {
    const Timestamp capture = t0 + TimeDelta::Millis(33 * n);
    meter.on_captured(n, capture);
    // Delays 101..200 ms in a scrambled order.
    const int64_t delay_ms = 101 + (n * 37) % 100;
    auto d = meter.on_rendered(n, capture + TimeDelta::Millis(delay_ms));
    REQUIRE(d);
    CHECK(*d == TimeDelta::Millis(delay_ms));
  }
  CHECK(meter.samples() == 100);
  CHECK(meter.p50() == TimeDelta::Millis(150));
  CHECK(meter.p95() == TimeDelta::Millis(195));
  CHECK(meter.percentile(100) == TimeDelta::Millis(200));
  CHECK(meter.percentile(0) == TimeDelta::Millis(101));
  // Repeats do not count twice; forgotten and unknown captures are unmatched.
  CHECK_FALSE(meter.on_rendered(99, t0 + TimeDelta::Seconds(10)));
  CHECK_FALSE(meter.on_rendered(10, t0 + TimeDelta::Seconds(10)));  // overwritten by 74
  CHECK_FALSE(meter.on_rendered(1000, t0));
  CHECK(meter.unmatched() == 2);
  EndToEndDelayMeter empty;
  CHECK_FALSE(empty.p50());
}

TEST_CASE("audio quality summary counts concealment events") {
  AudioQualitySummary summary;
  auto block = [](codecs::AudioDecodeKind kind) {
    codecs::DecodedAudio d;
    d.frame = codecs::AudioFrame::Silence(48000, 1, 960);
    d.kind = kind;
    return d;
  };
  using K = codecs::AudioDecodeKind;
  for (K k : {K::kNormal, K::kConcealment, K::kConcealment, K::kNormal, K::kFec, K::kConcealment, K::kNormal}) {
    summary.on_decoded(block(k));
  }
  const auto& s = summary.stats();
  CHECK(s.total_samples == 7 * 960);
  CHECK(s.concealed_samples == 3 * 960);
  CHECK(s.fec_samples == 960);
  CHECK(s.concealment_events == 2);
  CHECK(s.concealed_ratio() == doctest::Approx(3.0 / 7.0));
}

}  // namespace
}  // namespace tern::media
