// Tests of the assembled video jitter buffer: render-time release, keyframe requests (PLI on a
// missing keyframe or a stall, throttled; FIR when asked), stats (freezes on a known gap), and
// config validation.
#include "tern/jitterbuffer/video/video_jitter_buffer.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "video_test_util.h"

using namespace tern;
using namespace tern::jitterbuffer;
using namespace tern::jitterbuffer::test;

namespace {

const Timestamp kT0 = Timestamp::Seconds(500);
constexpr TimeDelta kFrameInterval = TimeDelta::Micros(33333);

// A 30 fps VP8 sender with picture ids and no temporal layers.
struct Sender {
  uint16_t seq = 40000;
  uint16_t pid = 7;
  uint32_t ts = 12345;
  bool with_pid = true;  // false: no picture ids (frames are numbered by their sequence numbers)
  std::vector<rtp::RtpPacket> frame(bool key, size_t size = 2500) {
    auto p = vp8_frame_packets({.first_seq = seq,
                                .timestamp = ts,
                                .picture_id = with_pid ? std::optional<uint16_t>(pid) : std::nullopt,
                                .keyframe = key,
                                .size = size});
    seq = static_cast<uint16_t>(seq + p.size());
    pid = static_cast<uint16_t>((pid + 1) & 0x7FFF);
    ts += 3000;
    return p;
  }
};

std::vector<EncodedVideoFrame> feed(VideoJitterBuffer& jb, std::vector<rtp::RtpPacket> packets, Timestamp now) {
  for (auto& p : packets) (void)jb.insert(std::move(p), now);
  return jb.process(now);
}

// A keyframe and `deltas` delta frames at 30 fps from `t` on, then 100 ms: the frames released.
size_t play(VideoJitterBuffer& jb, Sender& s, Timestamp& t, int deltas) {
  size_t released = feed(jb, s.frame(true), t).size();
  for (int i = 0; i < deltas; ++i) {
    t += kFrameInterval;
    released += feed(jb, s.frame(false), t).size();
  }
  t += TimeDelta::Millis(100);
  return released + jb.process(t).size();
}

}  // namespace

TEST_CASE("video jitter buffer releases a keyframe at its render time") {
  VideoJitterBuffer jb;
  Sender s;
  CHECK_FALSE(jb.next_wakeup().has_value());
  auto packets = s.frame(true);
  VideoJitterBuffer::InsertResult last;
  for (auto& p : packets) last = jb.insert(std::move(p), kT0);
  CHECK(last.accepted);
  CHECK(last.frames_completed == 1);
  REQUIRE(last.keyframe_first_seq.has_value());
  CHECK(*last.keyframe_first_seq == 40000);
  REQUIRE(jb.next_wakeup().has_value());
  const Timestamp due = *jb.next_wakeup();
  CHECK(due >= kT0 + TimeDelta::Millis(10));  // render delay at least
  CHECK(due <= kT0 + TimeDelta::Millis(30));
  CHECK(jb.process(due - TimeDelta::Micros(1)).empty());
  auto out = jb.process(due);
  REQUIRE(out.size() == 1);
  CHECK(out[0].keyframe);
  CHECK(out[0].render_time == due);
  CHECK(out[0].data.size() == 2500);
  const auto st = jb.stats();
  CHECK(st.frames_received == 1);
  CHECK(st.frames_decoded == 1);
  CHECK(st.key_frames_decoded == 1);
  CHECK(st.jitter_buffer_emitted_count == 1);
  CHECK(st.jitter_buffer_delay == due - kT0);
  CHECK(st.pli_count == 0);
  CHECK_FALSE(jb.poll_keyframe_request(due).has_value());
}

TEST_CASE("video jitter buffer decodes pion's VP8: no PictureID when its counter is 0, 7-bit below 128, then 15-bit") {
  // pion's VP8 payloader (pion/rtp codecs.VP8Payloader with EnablePictureID) leaves the PictureID
  // out while its counter is 0, i.e. on the first frame (a keyframe) and every 32768th frame after.
  // Seen from pion/webrtc 3.1.56: ~29 of every 30 frames after the first were never decodable.
  auto run = [](uint16_t counter, int frames) {
    VideoJitterBuffer jb;
    DecodabilityChecker checker;
    uint16_t seq = 65000;  // wraps too
    uint32_t ts = 1000;
    Timestamp now = kT0;
    std::vector<int64_t> ids;
    for (int i = 0; i < frames; ++i, now += kFrameInterval) {
      auto packets = vp8_frame_packets({.first_seq = seq,
                                        .timestamp = ts,
                                        .picture_id = counter == 0 ? std::nullopt : std::optional<uint16_t>(counter),
                                        .keyframe = i == 0,
                                        .size = i == 0 ? size_t{3000} : size_t{1000},
                                        .picture_id_15bit = false});
      seq = static_cast<uint16_t>(seq + packets.size());
      counter = static_cast<uint16_t>((counter + 1) & 0x7FFF);
      ts += 2970;
      for (const EncodedVideoFrame& f : feed(jb, std::move(packets), now)) {
        checker.on_frame(f);
        ids.push_back(f.id);
      }
      CHECK_FALSE(jb.poll_keyframe_request(now).has_value());
    }
    for (const EncodedVideoFrame& f : jb.process(now + TimeDelta::Seconds(1))) checker.on_frame(f);
    CHECK(checker.count() == static_cast<size_t>(frames));
    CHECK(jb.stats().frames_decoded == static_cast<uint64_t>(frames));
    CHECK(jb.stats().frames_dropped == 0);
    return ids;
  };
  run(0, 140);  // the start: keyframe without PictureID, then 1..127 (7 bits), 128.. (15 bits)
  const std::vector<int64_t> ids = run(32760, 20);  // the wrap: 32767, (none), 1, 2, ...
  REQUIRE(ids.size() >= 10);
  CHECK(ids[8] == ids[7] + 1);  // the frame without PictureID continues the picture-id space
  CHECK(ids[9] == ids[8] + 1);
}

TEST_CASE("video jitter buffer asks for a keyframe when the stream starts with a delta frame") {
  VideoJitterBuffer jb;
  Sender s;
  (void)feed(jb, s.frame(false), kT0);
  CHECK(jb.next_wakeup() == kT0);
  auto req = jb.poll_keyframe_request(kT0);
  REQUIRE(req.has_value());
  CHECK(req->kind == KeyframeRequest::Kind::kPli);
  CHECK_FALSE(jb.poll_keyframe_request(kT0 + TimeDelta::Millis(100)).has_value());  // throttled
  // Still undecodable while packets arrive: asked again once the limit and the interval pass.
  Timestamp t = kT0;
  int requests = 1;
  for (int i = 0; i < 30; ++i) {
    t += kFrameInterval;
    (void)feed(jb, s.frame(false), t);
    if (jb.poll_keyframe_request(t)) ++requests;
  }
  // Before the first keyframe every new delta frame renews the want: one request per interval.
  CHECK(requests == 4);  // at 0, 300, 600, 900 ms
  CHECK(jb.stats().pli_count == 4);
  CHECK(jb.stats().frames_decoded == 0);
  // The keyframe repairs the stream and the requests stop.
  t += kFrameInterval;
  (void)feed(jb, s.frame(true), t);
  auto out = jb.process(t + TimeDelta::Seconds(1));
  REQUIRE(out.size() == 1);
  CHECK(out[0].keyframe);
  CHECK_FALSE(jb.poll_keyframe_request(t + TimeDelta::Seconds(1)).has_value());
}

TEST_CASE("video jitter buffer asks with FIR when configured and numbers the requests") {
  VideoJitterBufferConfig config;
  config.use_fir = true;
  auto jb = VideoJitterBuffer::Create(config);
  REQUIRE(jb.ok());
  Sender s;
  (void)feed(*jb, s.frame(false), kT0);
  auto a = jb->poll_keyframe_request(kT0);
  REQUIRE(a.has_value());
  CHECK(a->kind == KeyframeRequest::Kind::kFir);
  (void)feed(*jb, s.frame(false), kT0 + TimeDelta::Seconds(1));
  auto b = jb->poll_keyframe_request(kT0 + TimeDelta::Seconds(1));
  REQUIRE(b.has_value());
  CHECK(b->fir_seq_nr == static_cast<uint8_t>(a->fir_seq_nr + 1));
  CHECK(jb->stats().fir_count == 2);
  CHECK(jb->stats().pli_count == 0);
}

TEST_CASE("video jitter buffer requests a keyframe after a stall of the limit") {
  VideoJitterBuffer jb;
  Sender s;
  Timestamp t = kT0;
  CHECK(play(jb, s, t, 10) == 11);
  (void)s.frame(false);  // lost for good: every later delta frame is undecodable
  const Timestamp stall = t;
  std::optional<Timestamp> asked;
  for (int i = 0; i < 30 && !asked; ++i) {
    t += kFrameInterval;
    CHECK(feed(jb, s.frame(false), t).empty());
    if (jb.poll_keyframe_request(t)) asked = t;
  }
  REQUIRE(asked.has_value());
  CHECK(*asked - stall >= TimeDelta::Millis(500));  // the last frame went out at `stall`
  CHECK(*asked - stall <= TimeDelta::Millis(500) + kFrameInterval);
}

TEST_CASE("video jitter buffer starts over behind a packet numbered far ahead of the stream") {
  // One corrupt or forged packet of the stream's SSRC numbered 12000 ahead (junk in the pipeline
  // robustness test had one) left every later packet "too old" until the stream caught up with it:
  // no frame for minutes. Either a stray delta packet, or a keyframe that is released, which also
  // moves the cleared-to point and (numbered by sequence, without picture ids) the released ids.
  for (const bool released_jump : {false, true}) {
    CAPTURE(released_jump);
    VideoJitterBuffer jb;
    Sender s;
    s.with_pid = !released_jump;
    Timestamp t = kT0;
    REQUIRE(play(jb, s, t, 5) == 6);
    auto jump = vp8_frame_packets({.first_seq = static_cast<uint16_t>(s.seq + 12000),
                                   .timestamp = s.ts,
                                   .keyframe = released_jump,
                                   .size = 300});
    REQUIRE(jump.size() == 1);
    (void)jb.insert(std::move(jump.front()), t);
    t += TimeDelta::Millis(100);
    CHECK(jb.process(t).size() == (released_jump ? 1u : 0u));
    // The stream goes on behind it: within a few frames the buffer starts over and asks for a
    // keyframe, and the keyframe and what follows play.
    bool asked = false;
    for (int i = 0; i < 10; ++i) {
      t += kFrameInterval;
      (void)feed(jb, s.frame(false), t);
      asked = asked || jb.poll_keyframe_request(t).has_value();
    }
    CHECK(jb.stats().packet_buffer.resyncs == 1);
    CHECK(asked);
    t += kFrameInterval;
    CHECK(play(jb, s, t, 5) == 6);
  }
}

TEST_CASE("video jitter buffer counts a one second gap as one freeze") {
  VideoJitterBuffer jb;
  Sender s;
  Timestamp t = kT0;
  auto run = [&](int frames, bool first_key) {
    for (int i = 0; i < frames; ++i) {
      (void)feed(jb, s.frame(first_key && i == 0), t);
      const Timestamp next = t + kFrameInterval;
      for (int k = 0; k < 10; ++k) {  // drain up to the next frame's arrival
        auto w = jb.next_wakeup();
        if (!w || *w >= next) break;
        (void)jb.process(*w);
      }
      t = next;
    }
  };
  run(60, true);
  // The sender pauses for one second (timestamps move on as if frames were captured).
  for (int i = 0; i < 30; ++i) (void)s.frame(false);
  t += TimeDelta::Seconds(1) - kFrameInterval;
  // The next frames reference the missing ones, so start again with a keyframe.
  run(60, true);
  (void)jb.process(t + TimeDelta::Seconds(1));
  const auto st = jb.stats();
  CHECK(st.frames_decoded == 120);
  CHECK(st.freeze_count == 1);
  CHECK(st.total_freezes_duration >= TimeDelta::Millis(980));
  CHECK(st.total_freezes_duration <= TimeDelta::Millis(1040));
}

TEST_CASE("video jitter buffer config validation") {
  CHECK(VideoJitterBuffer::Create({}).ok());
  VideoJitterBufferConfig bad;
  bad.max_frames = 0;
  CHECK_FALSE(VideoJitterBuffer::Create(bad).ok());
  bad = {};
  bad.timing.max_delay = TimeDelta::Millis(-1);
  CHECK_FALSE(VideoJitterBuffer::Create(bad).ok());
  bad = {};
  bad.packet_buffer.start_capacity = 3;
  CHECK_FALSE(VideoJitterBuffer::Create(bad).ok());
  bad = {};
  bad.keyframe_request_interval = TimeDelta::Zero();
  CHECK_FALSE(VideoJitterBuffer::Create(bad).ok());
  bad = {};
  bad.codec = codecs::CodecType::kOpus;
  CHECK_FALSE(VideoJitterBuffer::Create(bad).ok());
  // A packet handed to the depacketizer of a non-video codec is refused, not parsed as VP8.
  const std::vector<uint8_t> payload = synthetic_vp8_frame(100, true, 1);
  const rtp::RtpPacket packet = build_packet(1, 90000, true, payload);
  CHECK(parse_video_packet(codecs::CodecType::kVp8, packet).ok());
  CHECK_FALSE(parse_video_packet(codecs::CodecType::kOpus, packet).ok());
}

TEST_CASE("video jitter buffer rejects payloads that do not parse") {
  VideoJitterBuffer jb;
  const std::vector<uint8_t> empty;
  auto r = jb.insert(build_packet(1, 1, true, empty), kT0);
  CHECK_FALSE(r.accepted);
  CHECK(jb.stats().packets_invalid == 1);
  CHECK(jb.packets_held() == 0);
}

TEST_CASE("video jitter buffer handles vp9 flexible mode") {
  VideoJitterBufferConfig config;
  config.codec = codecs::CodecType::kVp9;
  VideoJitterBuffer jb(config);
  DecodabilityChecker checker;
  Timestamp t = kT0;
  uint16_t seq = 65530;
  // Picture 0 key; 1 refs 0; 2 refs 0 (1 lost); 3 refs 2 and 1 (never decodable); 4 refs 2.
  struct P { uint16_t pid; bool key; std::vector<uint8_t> p_diffs; bool lost; };
  const std::vector<P> pics{{0, true, {}, false}, {1, false, {1}, true}, {2, false, {2}, false},
                            {3, false, {1, 2}, false}, {4, false, {2}, false}};
  std::vector<int64_t> released;
  for (const P& p : pics) {
    auto packets = vp9_frame_packets({.first_seq = seq, .timestamp = p.pid * 3000u, .picture_id = p.pid,
                                      .keyframe = p.key, .p_diffs = p.p_diffs});
    seq = static_cast<uint16_t>(seq + packets.size());
    if (!p.lost) {
      for (auto& f : feed(jb, std::move(packets), t)) released.push_back(f.header.picture_id.value_or(999));
    }
    t += kFrameInterval;
  }
  for (auto& f : jb.process(t + TimeDelta::Seconds(1))) released.push_back(f.header.picture_id.value_or(999));
  CHECK(released == std::vector<int64_t>{0, 2, 4});
  CHECK(jb.stats().frames_dropped == 1);  // picture 3, skipped when 4 went out
}

TEST_CASE("video jitter buffer joins vp9 spatial layers into one picture") {
  VideoJitterBufferConfig config;
  config.codec = codecs::CodecType::kVp9;
  VideoJitterBuffer jb(config);
  uint16_t seq = 100;
  std::vector<rtp::RtpPacket> packets;
  // Two pictures of two spatial layers each, non-flexible mode (TL0PICIDX 7, 8).
  for (uint16_t pic = 0; pic < 2; ++pic) {
    for (uint8_t sid = 0; sid < 2; ++sid) {
      rtp::Vp9FrameInfo info;
      info.descriptor.picture_id = static_cast<uint16_t>(500 + pic);
      info.descriptor.inter_picture_predicted = pic > 0;
      info.descriptor.layer = rtp::Vp9LayerIndices{.temporal_id = 0, .switching_up = false, .spatial_id = sid,
                                                   .inter_layer_dependency = sid > 0};
      info.descriptor.tl0_pic_idx = static_cast<uint8_t>(7 + pic);
      info.end_of_picture = sid == 1;
      const std::vector<uint8_t> layer(1500, static_cast<uint8_t>(0x40 + sid));
      rtp::Vp9Packetizer packetizer;
      REQUIRE(packetizer.plan(layer, info, rtp::PayloadLimits{.max_payload_size = 1000}).ok());
      std::vector<uint8_t> buf(1100);
      for (size_t i = 0; i < packetizer.num_packets(); ++i) {
        auto n = packetizer.write(i, buf);
        REQUIRE(n.ok());
        packets.push_back(build_packet(seq++, pic * 3000u, packetizer.marker(i),
                                       std::span<const uint8_t>(buf.data(), *n)));
      }
    }
  }
  std::reverse(packets.begin(), packets.end());  // worst-case order
  for (auto& p : packets) (void)jb.insert(std::move(p), kT0);
  auto out = jb.process(kT0 + TimeDelta::Seconds(1));
  REQUIRE(out.size() == 2);
  CHECK(out[0].keyframe);
  CHECK(out[0].data.size() == 3000);
  CHECK(out[0].data.front() == 0x40);
  CHECK(out[0].data.back() == 0x41);
  CHECK_FALSE(out[1].keyframe);
  CHECK(out[1].references == std::vector<int64_t>{out[0].id});
}
