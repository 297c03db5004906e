// tern-loopback's ReferenceFrameCache: the ring of captured pictures B's quality measurement reads
// instead of rendering them again (lookup by frame number, eviction after `capacity` numbers, the
// byte bound, zero-copy take, numbers wrapping at 2^24).
#include "doctest/doctest.h"
#include "tern/media/synthetic_video_source.h"
#include "tern/tools/loopback/reference_frame_cache.h"

namespace tern::tools {
namespace {

media::SyntheticVideoSource Source(int w, int h) {
  media::SyntheticVideoConfig c;
  c.width = w;
  c.height = h;
  auto s = media::SyntheticVideoSource::Create(c);
  REQUIRE(s.ok());
  return std::move(s).value();
}

TEST_CASE("reference cache returns the stored picture by frame number") {
  const auto src = Source(160, 120);
  ReferenceFrameCache cache(8);
  CHECK(cache.capacity() == 0);
  CHECK(cache.reference_frame(0) == nullptr);
  for (uint32_t n = 0; n < 5; ++n) cache.store(n, src.render(n));
  CHECK(cache.capacity() == 8);
  for (uint32_t n = 0; n < 5; ++n) {
    const codecs::VideoFrame* f = cache.reference_frame(n);
    REQUIRE(f != nullptr);
    CHECK(f->y == src.render(n).y);
    CHECK(f->u == src.render(n).u);
  }
  CHECK(cache.reference_frame(5) == nullptr);
  CHECK(cache.hits() == 5);
  CHECK(cache.misses() == 2);
  // An invalid picture is ignored.
  cache.store(6, codecs::VideoFrame{});
  CHECK(cache.reference_frame(6) == nullptr);
}

TEST_CASE("reference cache forgets pictures capacity numbers older and skips gaps") {
  const auto src = Source(64, 48);
  ReferenceFrameCache cache(4);
  for (uint32_t n = 0; n < 10; ++n) cache.store(n, src.render(n));
  for (uint32_t n = 0; n < 6; ++n) CHECK(cache.reference_frame(n) == nullptr);
  for (uint32_t n = 6; n < 10; ++n) CHECK(cache.reference_frame(n) != nullptr);
  // Skipped numbers (a camera dropping frames) leave older pictures in place.
  cache.store(13, src.render(13));
  CHECK(cache.reference_frame(13) != nullptr);
  CHECK(cache.reference_frame(9) == nullptr);  // same slot as 13
  CHECK(cache.reference_frame(8) != nullptr);
}

TEST_CASE("reference cache bounds its bytes and keeps at least one picture") {
  const auto src = Source(640, 480);  // 460800 bytes per picture
  ReferenceFrameCache bytes_bound(64, 4 * 460800);
  bytes_bound.store(1, src.render(1));
  CHECK(bytes_bound.capacity() == 4);
  ReferenceFrameCache tiny(64, 1000);
  tiny.store(1, src.render(1));
  CHECK(tiny.capacity() == 1);
  CHECK(tiny.reference_frame(1) != nullptr);
  ReferenceFrameCache zero(0);
  zero.store(1, src.render(1));
  CHECK(zero.capacity() == 1);
}

TEST_CASE("reference cache takes captured pictures without copying") {
  const auto src = Source(160, 120);
  ReferenceFrameCache cache(2);
  codecs::VideoFrame f = src.render(7);
  const uint8_t* buffer = f.y.data();
  pipeline::CapturedVideoFrame captured;
  captured.frame_number = 7;
  captured.picture = &f;
  cache.on_video_frame_captured(captured);
  const codecs::VideoFrame* kept = cache.reference_frame(7);
  REQUIRE(kept != nullptr);
  CHECK(kept->y.data() == buffer);  // the same buffer, moved in
  CHECK(kept->y == src.render(7).y);
  // An event without a picture stores nothing.
  captured.frame_number = 8;
  captured.picture = nullptr;
  cache.on_video_frame_captured(captured);
  CHECK(cache.reference_frame(8) == nullptr);
}

TEST_CASE("reference cache numbers wrap at 2 to the 24") {
  const auto src = Source(64, 48);
  ReferenceFrameCache cache(64);
  const uint32_t last = (1u << 24) - 1;
  cache.store(last, src.render(last));
  cache.store(last + 1, src.render(0));  // stamped as 0
  CHECK(cache.reference_frame(last) != nullptr);
  CHECK(cache.reference_frame(0) != nullptr);
  CHECK(cache.reference_frame(1u << 24) != nullptr);  // the same number
}

}  // namespace
}  // namespace tern::tools
