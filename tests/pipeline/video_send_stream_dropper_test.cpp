// VideoSendStream's sender-side frame dropping: the leaky-bucket frame dropper that keeps the
// encoder's output at its media rate after a rate drop, the pacer-backlog drop, and their bounds
// (gaps never longer than a few frames; keyframe requests are never held back).
#include <vector>

#include "doctest/doctest.h"
#include "tern/pipeline/video_send_stream.h"

namespace tern::pipeline {
namespace {

struct Captures : VideoCaptureListener {
  std::vector<CapturedVideoFrame> frames;
  void on_video_frame_captured(const CapturedVideoFrame& f) override {
    CapturedVideoFrame copy = f;
    copy.picture = nullptr;
    frames.push_back(copy);
  }
};

std::unique_ptr<VideoSendStream> make_stream(DataRate start) {
  VideoSendStream::Config c;
  c.width = 320;
  c.height = 240;
  c.start_rate = start;
  c.rtp.ssrc = 0x1234;
  c.rtp.rtx_ssrc = 0x1235;
  c.degradation = DegradationPreference::kDisabled;  // the dropper alone, no adapted frame rate
  auto s = VideoSendStream::Create(c, rtp::ExtensionMap{});
  REQUIRE(s.ok());
  return std::move(s).value();
}

// Runs `frames` capture instants (33 ms apart) from `t`; returns the bytes packetized.
int64_t run(VideoSendStream& s, Timestamp& t, int frames) {
  int64_t bytes = 0;
  std::vector<OutgoingPacket> out;
  for (int i = 0; i < frames; ++i) {
    out.clear();
    s.process(t, out);
    for (const OutgoingPacket& p : out) bytes += static_cast<int64_t>(p.packet.payload_size());
    t = t + TimeDelta::Micros(33334);
  }
  return bytes;
}

int longest_gap(const std::vector<CapturedVideoFrame>& frames, size_t from) {
  int gap = 0, longest = 0;
  for (size_t i = from; i < frames.size(); ++i) {
    gap = frames[i].encoded ? 0 : gap + 1;
    if (gap > longest) longest = gap;
  }
  return longest;
}

TEST_CASE("pipeline video send stream drops frames after a rate drop and bounds the gaps") {
  auto s = make_stream(DataRate::KilobitsPerSec(1500));
  Captures cap;
  s->set_capture_listener(&cap);
  Timestamp t = Timestamp::Seconds(1);
  s->set_target(DataRate::KilobitsPerSec(1500), false);
  (void)run(*s, t, 60);
  CHECK(s->counters().frames_dropped_by_encoder == 0);  // the encoder's own dropping is off
  // A 10x drop: the encoder keeps overshooting for a while, the frame dropper absorbs it.
  s->set_target(DataRate::KilobitsPerSec(150), false);
  const size_t from = cap.frames.size();
  const int64_t bytes = run(*s, t, 90);  // 3 s
  CHECK(s->counters().frames_dropped_by_rate > 0);
  CHECK(longest_gap(cap.frames, from) <= 2);
  // Output over the 3 s stays near 150 kbps (the dropper's 100 ms allowance plus one frame).
  const double kbps = static_cast<double>(bytes) * 8.0 / 3000.0;
  MESSAGE("after the drop: " << kbps << " kbps, dropped " << s->counters().frames_dropped_by_rate);
  CHECK(kbps < 150 * 1.25);
}

TEST_CASE("pipeline video send stream skips frames while the pacer is backlogged for at most 300 ms") {
  auto s = make_stream(DataRate::KilobitsPerSec(500));
  Captures cap;
  s->set_capture_listener(&cap);
  Timestamp t = Timestamp::Seconds(1);
  (void)run(*s, t, 10);
  const int64_t before = s->counters().frames_encoded;
  s->set_pacer_backlog(true);
  const size_t from = cap.frames.size();
  (void)run(*s, t, 30);  // 1 s of backlog
  // About one frame in ten gets through (each after ~300 ms without an encoded frame).
  const int64_t encoded = s->counters().frames_encoded - before;
  CHECK(encoded >= 2);
  CHECK(encoded <= 5);
  CHECK(longest_gap(cap.frames, from) <= 9);
  CHECK(s->counters().frames_dropped_by_pacer == 30 - encoded);
  // A keyframe request is served at once even during a backlog.
  s->request_keyframe();
  (void)run(*s, t, 1);
  REQUIRE(!cap.frames.empty());
  CHECK(cap.frames.back().encoded);
  CHECK(cap.frames.back().keyframe);
  s->set_pacer_backlog(false);
  const int64_t dropped = s->counters().frames_dropped_by_pacer;
  (void)run(*s, t, 10);
  CHECK(s->counters().frames_dropped_by_pacer == dropped);
}

TEST_CASE("pipeline video send stream suspension resets the frame dropper") {
  auto s = make_stream(DataRate::KilobitsPerSec(1000));
  Timestamp t = Timestamp::Seconds(1);
  (void)run(*s, t, 30);
  s->set_target(DataRate::KilobitsPerSec(100), true);
  (void)run(*s, t, 30);
  CHECK(s->counters().frames_suspended == 30);
  s->set_target(DataRate::KilobitsPerSec(300), false);
  const int64_t encoded = s->counters().frames_encoded;
  (void)run(*s, t, 1);
  CHECK(s->counters().frames_encoded == encoded + 1);  // the first frame after the resume is not held back
}

}  // namespace
}  // namespace tern::pipeline
