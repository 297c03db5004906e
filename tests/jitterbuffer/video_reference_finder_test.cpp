// Tests of the reference finder (VP8 PictureID/TL0PICIDX/TID/Y, VP9 flexible P_DIFF, sequence
// number mode) and of the frame buffer (decodable frames only, in decode order).
#include "tern/jitterbuffer/video/reference_finder.h"

#include <doctest/doctest.h>

#include <vector>

#include "tern/jitterbuffer/video/frame_buffer.h"

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
  k.header.codec = VideoCodec::kVp9;
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
