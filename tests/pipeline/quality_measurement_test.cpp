// Quality measurement of received video in pipeline::VideoReceiveStream: PSNR on every rendered
// frame, SSIM sampled on frame numbers that are multiples of EndpointConfig::ssim_every, and the
// source picture taken from a ReferenceFrameProvider (a harness's capture cache) with the
// regenerated synthetic picture as fallback giving the same scores.
#include <map>
#include <optional>
#include <vector>

#include "call_fixture.h"
#include "doctest/doctest.h"

namespace tern::pipeline {
namespace {

using testing::Call;
using testing::link;
using testing::small_call_config;

netsim::NetworkConfig lossy_net() {
  return netsim::NetworkConfig::Direct(link(DataRate::KilobitsPerSec(600), TimeDelta::Millis(30), 0.02),
                                       link(DataRate::MegabitsPerSec(5), TimeDelta::Millis(30)));
}

// Keeps every captured picture of A (taken by copy) and serves them, except the frame numbers it
// is told to forget, for which the stream must fall back to regenerating the picture.
struct KeepAll final : VideoCaptureListener, ReferenceFrameProvider {
  std::map<uint32_t, codecs::VideoFrame> pictures;
  int captured_with_picture = 0;
  int lookups = 0;
  int served = 0;
  uint32_t forget_every = 0;  // numbers that are multiples of this are not served (0: serve all)
  void on_video_frame_captured(const CapturedVideoFrame& f) override {
    if (f.picture == nullptr) return;
    ++captured_with_picture;
    pictures[f.frame_number] = *f.picture;
  }
  const codecs::VideoFrame* reference_frame(uint32_t n) override {
    ++lookups;
    if (forget_every != 0 && n % forget_every == 0) return nullptr;
    auto it = pictures.find(n);
    if (it == pictures.end()) return nullptr;
    ++served;
    return &it->second;
  }
};

struct Scores {
  std::map<uint32_t, double> psnr;
  std::map<uint32_t, double> ssim;
  std::optional<double> mean_ssim;
};

Scores run_call(const EndpointConfig& ca, KeepAll* keep, int seconds = 4) {
  auto call = Call::Make(ca, ca.mirrored(), lossy_net());
  if (keep != nullptr) {
    call->a->set_video_capture_listener(keep);
    call->b->set_reference_frame_provider(keep);
  }
  call->run(TimeDelta::Seconds(seconds));
  Scores s;
  for (const RenderedVideoFrame& f : call->render_b.frames) {
    if (!f.frame_number || !f.quality) continue;
    s.psnr[*f.frame_number] = f.quality->psnr;
    if (f.quality->ssim) s.ssim[*f.frame_number] = *f.quality->ssim;
  }
  const StatsReport rb = call->b->stats(call->now());
  if (const InboundRtpStats* v = rb.inbound("video")) s.mean_ssim = v->tern_mean_ssim;
  return s;
}

TEST_CASE("pipeline quality PSNR on every frame and SSIM only on sampled frame numbers") {
  EndpointConfig ca = small_call_config();
  ca.ssim_every = 7;
  const Scores s = run_call(ca, nullptr);
  REQUIRE(s.psnr.size() >= 90);
  CHECK_FALSE(s.ssim.empty());
  for (const auto& [n, v] : s.ssim) {
    CHECK(n % 7 == 0);
    CHECK(v > 0.5);
    CHECK(v <= 1.0);
    CHECK(s.psnr.count(n) == 1);
  }
  // Every rendered multiple of 7 got its SSIM.
  for (const auto& [n, v] : s.psnr) {
    if (n % 7 == 0) CHECK(s.ssim.count(n) == 1);
  }
  REQUIRE(s.mean_ssim.has_value());
  double sum = 0;
  for (const auto& [n, v] : s.ssim) sum += v;
  CHECK(*s.mean_ssim == doctest::Approx(sum / static_cast<double>(s.ssim.size())));
}

TEST_CASE("pipeline quality without SSIM when ssim_every is zero") {
  EndpointConfig ca = small_call_config();
  ca.ssim_every = 0;
  const Scores s = run_call(ca, nullptr, 2);
  CHECK(s.psnr.size() >= 40);
  CHECK(s.ssim.empty());
  CHECK_FALSE(s.mean_ssim.has_value());
  ca.ssim_every = -1;
  CHECK_FALSE(ca.validate().ok());
}

TEST_CASE("pipeline quality from a reference provider equals the regenerated source") {
  EndpointConfig ca = small_call_config();
  ca.ssim_every = 5;
  const Scores regenerated = run_call(ca, nullptr);
  KeepAll keep;
  keep.forget_every = 4;  // a quarter of the lookups miss: those frames are regenerated
  const Scores provided = run_call(ca, &keep);
  CHECK(keep.captured_with_picture >= 110);
  CHECK(keep.served > 0);
  CHECK(keep.served < keep.lookups);
  // The captured picture is the synthetic picture: the same call scores exactly the same.
  CHECK(provided.psnr == regenerated.psnr);
  CHECK(provided.ssim == regenerated.ssim);
}

TEST_CASE("pipeline quality ignores a provider picture of the wrong size") {
  struct WrongSize final : ReferenceFrameProvider {
    codecs::VideoFrame frame = codecs::VideoFrame::Allocate(64, 48);
    const codecs::VideoFrame* reference_frame(uint32_t) override { return &frame; }
  } wrong;
  EndpointConfig ca = small_call_config();
  const Scores regenerated = run_call(ca, nullptr, 2);
  auto call = Call::Make(ca, ca.mirrored(), lossy_net());
  call->b->set_reference_frame_provider(&wrong);
  call->run(TimeDelta::Seconds(2));
  std::map<uint32_t, double> psnr;
  for (const RenderedVideoFrame& f : call->render_b.frames) {
    if (f.frame_number && f.quality) psnr[*f.frame_number] = f.quality->psnr;
  }
  CHECK(psnr == regenerated.psnr);
}

}  // namespace
}  // namespace tern::pipeline
