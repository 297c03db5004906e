// tools/net ReceiveTap, the recorder behind tern-recv's, tern-peer's and tern-sfu's WebM files, on a
// real VP8 stream: a packet repaired late still has its frames recorded; frames left waiting for a
// packet that never came are counted at the end (no processes, no sockets).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tern/codecs/codec_factory.h"
#include "tern/media/file_io.h"
#include "tern/media/synthetic_video_source.h"
#include "tern/rtp/payload/vp8_payload.h"
#include "tern/rtp/rtp_packet_builder.h"
#include "tern/tools/net/receive_tap.h"
#include "support/process.h"

namespace receive_tap_test {

using tern::TimeDelta;
using tern::Timestamp;

constexpr uint32_t kTapSsrc = 0x5eed;
constexpr uint8_t kTapVp8Pt = 96;

struct Sent {
  std::vector<uint8_t> bytes;
  size_t frame = 0;
  bool keyframe = false;
};

// `frames` pictures of a real VP8 encoder at 320x240, 30 fps (a keyframe first and at each of
// `keyframes`), as RTP packets of at most 400 bytes of payload (several a frame).
std::vector<Sent> TapVp8Stream(size_t frames, const std::vector<size_t>& keyframes = {}) {
  tern::codecs::VideoEncoderConfig ec;
  ec.width = 320;
  ec.height = 240;
  auto encoder = tern::codecs::CreateVideoEncoder(ec);
  REQUIRE(encoder.ok());
  tern::media::SyntheticVideoConfig sc;
  sc.width = 320;
  sc.height = 240;
  auto source = tern::media::SyntheticVideoSource::Create(sc);
  REQUIRE(source.ok());
  tern::rtp::Vp8Packetizer packetizer;
  std::vector<Sent> out;
  uint16_t seq = 1000;
  for (size_t i = 0; i < frames; ++i) {
    if (std::find(keyframes.begin(), keyframes.end(), i) != keyframes.end()) encoder.value()->force_keyframe();
    auto encoded = encoder.value()->encode(source->render(static_cast<uint32_t>(i)));
    REQUIRE(encoded.ok());
    REQUIRE(encoded.value().has_value());
    const auto& frame = *encoded.value();
    REQUIRE(packetizer.plan(frame.data, tern::rtp::Vp8Descriptor{}, tern::rtp::PayloadLimits{.max_payload_size = 400}).ok());
    std::vector<uint8_t> payload(420);
    for (size_t p = 0; p < packetizer.num_packets(); ++p) {
      auto n = packetizer.write(p, payload);
      REQUIRE(n.ok());
      tern::rtp::RtpPacketBuilder b;
      b.set_sequence_number(seq++).set_timestamp(static_cast<uint32_t>(3000 * i)).set_marker(packetizer.marker(p));
      b.set_payload_type(kTapVp8Pt).set_ssrc(kTapSsrc).set_payload(std::span<const uint8_t>(payload.data(), *n));
      auto packet = b.build();
      REQUIRE(packet.ok());
      const auto bytes = packet->data();
      out.push_back({std::vector<uint8_t>(bytes.begin(), bytes.end()), i, frame.is_keyframe});
    }
  }
  return out;
}

Timestamp FrameTime(Timestamp start, size_t frame) { return start + TimeDelta::Micros(33'333 * static_cast<int64_t>(frame)); }

struct TapRun {
  tern::tools::net::ReceiveTapCounters counters;
  std::optional<Timestamp> opened;  // when the first picture opened the file
  tern::Status finished;
};

// Plays `stream` into a tap writing `path` (each frame's packets at its capture time, every 5 ms
// for 2 s from `start`), all but the first packet of frame `hole`, which comes at `repair_at`
// (never when null), then finishes the recording.
TapRun PlayIntoTap(const std::vector<Sent>& stream, size_t hole, std::optional<Timestamp> repair_at, Timestamp start,
                   const std::string& path) {
  size_t held = 0;
  while (stream[held].frame != hole) ++held;
  REQUIRE(stream[held + 1].frame == hole);  // the frame has more packets: incomplete without this one
  tern::tools::net::ReceiveTapConfig rc;
  rc.video = tern::codecs::CodecType::kVp8;
  rc.video_pt = kTapVp8Pt;
  rc.video_ssrc = kTapSsrc;
  rc.webm_path = path;
  auto made = tern::tools::net::ReceiveTap::Create(rc);
  REQUIRE(made.ok());
  tern::tools::net::ReceiveTap& tap = *made.value();
  TapRun run;
  size_t next = 0;
  for (Timestamp now = start; now < start + TimeDelta::Seconds(2); now += TimeDelta::Millis(5)) {
    for (; next < stream.size() && FrameTime(start, stream[next].frame) <= now; ++next) {
      if (next != held) tap.on_rtp(stream[next].bytes, now);
    }
    if (repair_at && now >= *repair_at) {
      tap.on_rtp(stream[held].bytes, now);
      repair_at.reset();
    }
    tap.process(now);
    if (!run.opened && tap.recording()) run.opened = now;
  }
  run.finished = tap.finish(start + TimeDelta::Seconds(2));
  run.counters = tap.counters();
  return run;
}

}  // namespace receive_tap_test

using receive_tap_test::FrameTime;
using receive_tap_test::Sent;
using tern::TimeDelta;
using tern::Timestamp;
using receive_tap_test::PlayIntoTap;
using receive_tap_test::TapVp8Stream;

TEST_CASE("ReceiveTap: a packet repaired after the next keyframe came still has its frame and those after it recorded") {
  // A hole in frame 10; the sender's next keyframe (frame 20: a receiver's PLI) comes 333 ms
  // later, the hole's retransmission 100 ms after that (a loaded sender). A live jitter buffer
  // plays the keyframe at once and drops frames 10-19 waiting for the repair; the recording holds
  // the keyframe kRecordingDelay, so the repair fills the hole first.
  const std::vector<Sent> stream = TapVp8Stream(30, {20});
  REQUIRE(std::any_of(stream.begin(), stream.end(), [](const Sent& s) { return s.frame == 20 && s.keyframe; }));
  const Timestamp start = Timestamp::Millis(1000);
  const std::string dir = tern::test::scratch_dir("receive_tap");
  const auto run = PlayIntoTap(stream, 10, FrameTime(start, 20) + TimeDelta::Millis(100), start, dir + "/late.webm");
  REQUIRE(run.finished.ok());
  const auto& c = run.counters;
  CHECK(c.video_frames_assembled == 30);
  CHECK(c.video_frames_recorded == 30);
  CHECK(c.video_keyframes_recorded == 2);
  CHECK(c.gaps == 0);
  CHECK(c.frames_not_recorded == 0);
  CHECK(c.video_frames_unrepaired_at_end == 0);
  CHECK(c.width == 320);
  // Nothing is written before the hold: the first picture, released after it, opens the file.
  REQUIRE(run.opened);
  CHECK(*run.opened >= start + tern::tools::net::ReceiveTap::kRecordingDelay);
  CHECK(*run.opened <= start + tern::tools::net::ReceiveTap::kRecordingDelay + TimeDelta::Millis(100));
  auto file = tern::media::load_file(dir + "/late.webm");
  REQUIRE(file.ok());
  CHECK(file->size() > 1000);
}

TEST_CASE("ReceiveTap: the frames after a hole never repaired are counted when the recording ends, not written") {
  const std::vector<Sent> stream = TapVp8Stream(30);
  const std::string dir = tern::test::scratch_dir("receive_tap_end");
  const auto run = PlayIntoTap(stream, 25, std::nullopt, Timestamp::Millis(1000), dir + "/end.webm");
  REQUIRE(run.finished.ok());
  const auto& c = run.counters;
  CHECK(c.video_frames_recorded == 25);  // 0-24
  CHECK(c.video_frames_unrepaired_at_end == 4);  // 26-29: whole, but they need 25
  CHECK(c.video_frames_assembled == 25);
  CHECK(c.gaps == 0);
}
