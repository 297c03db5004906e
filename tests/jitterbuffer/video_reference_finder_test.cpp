// Tests of the reference finder (VP8 PictureID/TL0PICIDX/TID/Y, VP9 flexible P_DIFF, sequence
// number mode) and of the frame buffer (decodable frames only, in decode order).
#include "tern/jitterbuffer/video/reference_finder.h"

#include <doctest/doctest.h>

#include <map>
#include <vector>

#include "tern/jitterbuffer/video/frame_buffer.h"
#include "tern/jitterbuffer/video/video_header.h"
#include "tern/rtp/payload/vp9_payload.h"
#include "tern/rtp/rtp_packet_builder.h"

using namespace tern;
using namespace tern::jitterbuffer;

namespace {

EncodedVideoFrame vp8(uint16_t pid, bool key, std::optional<uint8_t> tl0 = std::nullopt,
                      std::optional<uint8_t> tid = std::nullopt, bool sync = false) {
  EncodedVideoFrame f;
  f.keyframe = key;
  f.header.keyframe = key;
  f.header.picture_id = pid;
  f.header.tl0_pic_idx = tl0;
  f.header.temporal_id = tid;
  f.header.layer_sync = sync;
  return f;
}

// Resolves one frame that must not be stashed.
EncodedVideoFrame resolve(ReferenceFinder& rf, EncodedVideoFrame f) {
  auto out = rf.manage(std::move(f));
  REQUIRE(out.size() == 1);
  return out[0];
}

EncodedVideoFrame with_refs(int64_t id, std::vector<int64_t> refs, bool key = false) {
  EncodedVideoFrame f;
  f.id = id;
  f.keyframe = key;
  f.references = std::move(refs);
  return f;
}

}  // namespace

TEST_CASE("reference finder vp8 picture id chain") {
  ReferenceFinder rf;
  const auto k = resolve(rf, vp8(100, true));
  CHECK(k.references.empty());
  const auto d = resolve(rf, vp8(101, false));
  CHECK(d.id == k.id + 1);
  CHECK(d.references == std::vector<int64_t>{k.id});
}

TEST_CASE("reference finder vp8 15-bit picture id wraps") {
  ReferenceFinder rf;
  const auto k = resolve(rf, vp8(32767, true));
  const auto d = resolve(rf, vp8(0, false));
  CHECK(d.id == k.id + 1);
  CHECK(d.references == std::vector<int64_t>{k.id});
}

TEST_CASE("reference finder vp8 temporal layers survive a lost upper layer frame") {
  // L1T3 pattern: TID 0 2 1 2 | 0 ...; TL0PICIDX increments on each TID 0 frame.
  ReferenceFinder rf;
  const auto f0 = resolve(rf, vp8(10, true, 5, 0));
  const auto f1 = resolve(rf, vp8(11, false, 5, 2, true));  // sync: base only
  CHECK(f1.references == std::vector<int64_t>{f0.id});
  // 12 (TID 1) lost; 13 (TID 2, not sync) references 12 conservatively.
  const auto f3 = resolve(rf, vp8(13, false, 5, 2));
  CHECK(f3.references == std::vector<int64_t>{f0.id + 2});
  const auto f4 = resolve(rf, vp8(14, false, 6, 0));  // next base frame references the previous base
  CHECK(f4.references == std::vector<int64_t>{f0.id});
}

TEST_CASE("reference finder stashes a base frame until its base reference is known") {
  ReferenceFinder rf;
  resolve(rf, vp8(10, true, 200, 0));
  CHECK(rf.manage(vp8(12, false, 202, 0)).empty());  // needs TL0PICIDX 201, not seen yet
  CHECK(rf.stashed() == 1);
  auto out = rf.manage(vp8(11, false, 201, 0));
  REQUIRE(out.size() == 2);
  CHECK(out[0].header.picture_id == 11);
  CHECK(out[1].header.picture_id == 12);
  CHECK(out[1].references == std::vector<int64_t>{out[0].id});
  CHECK(rf.stashed() == 0);
}

TEST_CASE("reference finder stash is bounded") {
  ReferenceFinder rf(4);
  resolve(rf, vp8(0, true, 0, 0));
  for (uint16_t i = 0; i < 10; ++i) CHECK(rf.manage(vp8(static_cast<uint16_t>(10 + i), false, static_cast<uint8_t>(10 + i), 0)).empty());
  CHECK(rf.stashed() == 4);
  CHECK(rf.dropped() == 6);
}

TEST_CASE("reference finder drops stashed frames older than a new keyframe") {
  ReferenceFinder rf;
  resolve(rf, vp8(10, true, 1, 0));
  CHECK(rf.manage(vp8(12, false, 3, 0)).empty());
  CHECK(rf.stashed() == 1);
  const auto k = resolve(rf, vp8(13, true, 4, 0));
  CHECK(k.keyframe);
  CHECK(rf.stashed() == 0);
  CHECK(rf.dropped() == 1);
  const auto d = resolve(rf, vp8(14, false, 5, 0));
  CHECK(d.references == std::vector<int64_t>{k.id});
}

TEST_CASE("reference finder vp9 flexible mode uses p_diffs") {
  ReferenceFinder rf;
  EncodedVideoFrame k;
  k.keyframe = true;
  k.header.codec = codecs::CodecType::kVp9;
  k.header.picture_id = 50;
  k.header.flexible_mode = true;
  const auto rk = resolve(rf, k);
  EncodedVideoFrame d = k;
  d.keyframe = false;
  d.header.picture_id = 53;
  d.header.num_p_diffs = 2;
  d.header.p_diff[0] = 3;
  d.header.p_diff[1] = 1;
  const auto rd = resolve(rf, d);
  CHECK(rd.id == rk.id + 3);
  CHECK(rd.references == std::vector<int64_t>{rk.id, rk.id + 2});
}

namespace {

// An L1T3 group of frames whose references the older rules get wrong: no picture is a switching
// point (U=0), picture 2 (TID 1) skips picture 1 and picture 3 (TID 2) references two pictures.
std::vector<rtp::Vp9PictureGroupEntry> l1t3_gof() {
  return {rtp::Vp9PictureGroupEntry{0, false, 1, {4, 0, 0}}, rtp::Vp9PictureGroupEntry{2, false, 1, {1, 0, 0}},
          rtp::Vp9PictureGroupEntry{1, false, 1, {2, 0, 0}}, rtp::Vp9PictureGroupEntry{2, false, 2, {1, 3, 0}}};
}

// A one-packet VP9 picture in non-flexible mode, parsed the way the jitter buffer parses it (the
// SS, when given, travels in the descriptor).
EncodedVideoFrame vp9_non_flexible(uint16_t pid, uint8_t tl0, uint8_t tid, bool key,
                                   std::optional<rtp::Vp9ScalabilityStructure> ss = std::nullopt) {
  rtp::Vp9Descriptor d;
  d.picture_id = pid;
  d.inter_picture_predicted = !key;
  d.start_of_frame = d.end_of_frame = true;
  d.layer = rtp::Vp9LayerIndices{tid, false, 0, false};
  d.tl0_pic_idx = tl0;
  d.ss = std::move(ss);
  std::vector<uint8_t> payload(d.size() + 4, 0xAB);
  REQUIRE(d.write(payload) == d.size());
  rtp::RtpPacketBuilder b;
  b.set_payload_type(98).set_sequence_number(pid).set_timestamp(pid * 3000u).set_ssrc(1).set_marker(true);
  auto packet = b.set_payload(payload).build();
  REQUIRE(packet.ok());
  auto parsed = parse_video_packet(codecs::CodecType::kVp9, *packet);
  REQUIRE(parsed.ok());
  EncodedVideoFrame f;
  f.header = parsed->header;
  f.keyframe = parsed->header.keyframe;
  f.first_seq = f.last_seq = pid;
  return f;
}

rtp::Vp9ScalabilityStructure ss_with(std::vector<rtp::Vp9PictureGroupEntry> gof) {
  rtp::Vp9ScalabilityStructure ss;
  ss.has_picture_group = true;
  ss.picture_group = std::move(gof);
  return ss;
}

// Pictures 10..18 of the L1T3 GOF: TID 0 2 1 2 | 0 2 1 2 | 0, TL0PICIDX 0, 1, 2 on the base frames.
EncodedVideoFrame l1t3_picture(uint16_t pid) {
  static constexpr uint8_t kTid[] = {0, 2, 1, 2};
  const uint16_t i = static_cast<uint16_t>(pid - 10);
  const uint8_t tl0 = static_cast<uint8_t>(i / 4);
  if (i == 0) return vp9_non_flexible(pid, tl0, 0, true, ss_with(l1t3_gof()));
  return vp9_non_flexible(pid, tl0, kTid[i % 4], false);
}

}  // namespace

TEST_CASE("reference finder vp9 non-flexible mode takes references from the SS group of frames") {
  ReferenceFinder rf;
  std::map<uint16_t, EncodedVideoFrame> out;
  for (uint16_t pid = 10; pid <= 18; ++pid) {
    const auto f = resolve(rf, l1t3_picture(pid));
    out[pid] = f;
  }
  const int64_t base = out[10].id;
  auto id = [&](uint16_t pid) { return base + (pid - 10); };
  CHECK(out[10].references.empty());
  CHECK(out[11].references == std::vector<int64_t>{id(10)});
  CHECK(out[12].references == std::vector<int64_t>{id(10)});  // TID 1 skips picture 11
  CHECK(out[13].references == std::vector<int64_t>{id(12), id(10)});
  CHECK(out[14].references == std::vector<int64_t>{id(10)});
  CHECK(out[15].references == std::vector<int64_t>{id(14)});
  CHECK(out[16].references == std::vector<int64_t>{id(14)});
  CHECK(out[17].references == std::vector<int64_t>{id(16), id(14)});
  CHECK(out[18].references == std::vector<int64_t>{id(14)});
}

TEST_CASE("reference finder vp9 GOF: a lost picture blocks exactly the pictures that reference it") {
  ReferenceFinder rf;
  FrameBuffer fb;
  for (uint16_t pid = 10; pid <= 18; ++pid) {
    if (pid == 11 || pid == 16) continue;  // lost: a TID 2 picture nobody references, a TID 1 one
    for (auto& f : rf.manage(l1t3_picture(pid))) (void)fb.insert(std::move(f));
  }
  std::vector<int64_t> decoded;
  size_t dropped = 0;
  for (int i = 0; i < 20 && fb.next_decodable() != nullptr; ++i) decoded.push_back(fb.pop_next_decodable(&dropped).id);
  REQUIRE(!decoded.empty());
  const int64_t base = decoded.front();
  // 12 and 13 do not need 11; 17 needs 16 and is never decodable; 18 needs only 14.
  CHECK(decoded == std::vector<int64_t>{base, base + 2, base + 3, base + 4, base + 5, base + 8});
}

TEST_CASE("reference finder vp9 GOF: upper layers wait for their base frame, a new SS re-anchors") {
  ReferenceFinder rf;
  resolve(rf, l1t3_picture(10));
  // Picture 15 (TL0PICIDX 1) arrives before its base picture 14: stashed, released with it.
  CHECK(rf.manage(l1t3_picture(15)).empty());
  auto out = rf.manage(l1t3_picture(14));
  REQUIRE(out.size() == 2);
  CHECK(out[1].references == std::vector<int64_t>{out[0].id});
  // A keyframe with a 2-picture GOF (TID 0 1, the TID 1 picture referencing its base) replaces it.
  const auto k = resolve(rf, vp9_non_flexible(30, 7, 0, true,
                                              ss_with({rtp::Vp9PictureGroupEntry{0, false, 1, {2, 0, 0}},
                                                       rtp::Vp9PictureGroupEntry{1, false, 1, {1, 0, 0}}})));
  CHECK(resolve(rf, vp9_non_flexible(31, 7, 1, false)).references == std::vector<int64_t>{k.id});
  CHECK(resolve(rf, vp9_non_flexible(32, 8, 0, false)).references == std::vector<int64_t>{k.id});
  CHECK(resolve(rf, vp9_non_flexible(33, 8, 1, false)).references == std::vector<int64_t>{k.id + 2});
}

TEST_CASE("reference finder sequence number mode without picture ids") {
  ReferenceFinder rf;
  EncodedVideoFrame k;
  k.keyframe = true;
  k.first_seq = 100;
  k.last_seq = 102;
  const auto rk = resolve(rf, k);
  CHECK(rk.id == 102);
  EncodedVideoFrame d;
  d.first_seq = 103;
  d.last_seq = 103;
  const auto rd = resolve(rf, d);
  CHECK(rd.references == std::vector<int64_t>{102});
}

TEST_CASE("frame buffer releases only decodable frames in decode order") {
  FrameBuffer fb;
  CHECK(fb.insert(with_refs(2, {1})) == FrameBuffer::InsertOutcome::kInserted);
  CHECK(fb.next_decodable() == nullptr);  // no keyframe yet
  CHECK(fb.insert(with_refs(1, {}, true)) == FrameBuffer::InsertOutcome::kInserted);
  CHECK(fb.insert(with_refs(1, {}, true)) == FrameBuffer::InsertOutcome::kDuplicate);
  REQUIRE(fb.next_decodable() != nullptr);
  CHECK(fb.next_decodable()->id == 1);
  size_t dropped = 9;
  CHECK(fb.pop_next_decodable(&dropped).id == 1);
  CHECK(dropped == 0);
  CHECK(fb.pop_next_decodable(&dropped).id == 2);
  CHECK(fb.insert(with_refs(2, {1})) == FrameBuffer::InsertOutcome::kTooOld);
}

TEST_CASE("frame buffer skips past a frame whose reference never came") {
  FrameBuffer fb;
  (void)fb.insert(with_refs(1, {}, true));
  size_t dropped = 0;
  fb.pop_next_decodable(&dropped);
  (void)fb.insert(with_refs(3, {2}));  // 2 lost
  (void)fb.insert(with_refs(4, {3}));
  CHECK(fb.next_decodable() == nullptr);
  (void)fb.insert(with_refs(5, {1}));  // e.g. the next base-layer frame
  REQUIRE(fb.next_decodable() != nullptr);
  CHECK(fb.pop_next_decodable(&dropped).id == 5);
  CHECK(dropped == 2);
  CHECK(fb.size() == 0);
}

TEST_CASE("frame buffer keyframe resets references and overflow clears") {
  FrameBuffer fb(3);
  (void)fb.insert(with_refs(1, {}, true));
  size_t dropped = 0;
  fb.pop_next_decodable(&dropped);
  (void)fb.insert(with_refs(10, {}, true));
  fb.pop_next_decodable(&dropped);
  (void)fb.insert(with_refs(11, {1}));  // reference from before the keyframe: never decodable
  CHECK(fb.next_decodable() == nullptr);
  (void)fb.insert(with_refs(12, {9}));
  (void)fb.insert(with_refs(13, {9}));
  CHECK(fb.insert(with_refs(14, {10})) == FrameBuffer::InsertOutcome::kCleared);
  CHECK(fb.size() == 1);
  REQUIRE(fb.next_decodable() != nullptr);
  CHECK(fb.next_decodable()->id == 14);
}
