// tern-loopback's pipeline listeners (tools/loopback/call_listeners.h): capture counts and the
// capture-to-render delay pairing, one record per rendered frame, audio playout counted from the
// first decoded block.
#include "tern/tools/loopback/call_listeners.h"

#include "doctest/doctest.h"
#include "support/sim_time.h"

namespace tern::tools {
namespace {

using tern::test::At;

TEST_CASE("capture and render logs count frames and pair capture and render by frame number") {
  media::EndToEndDelayMeter meter(16);
  CaptureLog capture;
  capture.meter = &meter;
  std::vector<FrameRecord> frames;
  RenderLog render;
  render.meter = &meter;
  render.frames = &frames;

  pipeline::CapturedVideoFrame c;
  c.frame_number = 1;
  c.capture_time = At(0);
  c.encoded = true;
  c.keyframe = true;
  capture.on_video_frame_captured(c);
  c.frame_number = 2;
  c.capture_time = At(33);
  c.keyframe = false;
  capture.on_video_frame_captured(c);
  c.frame_number = 3;
  c.capture_time = At(66);
  c.encoded = false;  // dropped by rate control
  capture.on_video_frame_captured(c);
  CHECK(capture.captured == 3);
  CHECK(capture.encoded == 2);
  CHECK(capture.keyframes == 1);

  pipeline::RenderedVideoFrame r;
  r.frame_number = 2;
  r.render_time = At(233);
  media::FrameQuality q;
  q.psnr = 36.5;
  q.ssim = 0.93;
  r.quality = q;
  render.on_video_frame_rendered(r);
  r.frame_number = std::nullopt;  // stamp unreadable: no delay, no pairing
  r.render_time = At(266);
  r.quality = std::nullopt;
  render.on_video_frame_rendered(r);
  REQUIRE(frames.size() == 2);
  CHECK(frames[0].frame_number == 2u);
  CHECK(frames[0].render_ms == 233);
  CHECK(frames[0].psnr == 36.5);
  CHECK(frames[0].ssim == 0.93);
  CHECK(frames[0].e2e_delay_ms.value_or(0) == doctest::Approx(200));
  CHECK_FALSE(frames[1].frame_number.has_value());
  CHECK_FALSE(frames[1].psnr.has_value());
  CHECK_FALSE(frames[1].e2e_delay_ms.has_value());
}

TEST_CASE("playout log starts at the first normal block and counts expansions") {
  PlayoutLog log;
  pipeline::AudioPlayoutEvent e;
  e.operation = jitterbuffer::PlayoutOperation::kExpand;  // before the stream started: not counted
  e.buffer_delay = TimeDelta::Millis(500);
  log.on_audio_playout(e);
  CHECK(log.counts.pulls == 0);
  e.operation = jitterbuffer::PlayoutOperation::kNormal;
  e.buffer_delay = TimeDelta::Millis(60);
  e.sync_delay = TimeDelta::Millis(10);
  log.on_audio_playout(e);
  e.operation = jitterbuffer::PlayoutOperation::kExpand;
  e.buffer_delay = TimeDelta::Millis(40);
  e.sync_delay = TimeDelta::Zero();
  log.on_audio_playout(e);
  CHECK(log.counts.pulls == 2);
  CHECK(log.counts.concealed == 1);
  CHECK(log.counts.buffer_delay_sum_ms == doctest::Approx(100));
  CHECK(log.counts.sync_delay_sum_ms == doctest::Approx(10));
}

TEST_CASE("sample log keeps every sample in order") {
  SampleLog log;
  pipeline::NetworkSample s;
  s.time = At(100);
  log.on_network_sample(s);
  s.time = At(200);
  log.on_network_sample(s);
  REQUIRE(log.samples.size() == 2);
  CHECK(log.samples[1].time == At(200));
}

}  // namespace
}  // namespace tern::tools
