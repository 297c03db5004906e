#include "tern/codecs/vp8_temporal_pattern.h"

#include <doctest/doctest.h>

using namespace tern::codecs;

namespace {

// Simulates a decoder that receives only layers <= max_tid: every frame it receives must
// reference only buffers that were last written by a frame it also received.
bool LayersDecodeIndependently(int layers, int max_tid, int frames) {
  auto p = Vp8TemporalPattern::Create(layers);
  REQUIRE(p.ok());
  int writer_tid[3] = {0, 0, 0};  // tid of the last frame that wrote each buffer
  for (int i = 0; i < frames; ++i) {
    const bool key = i == 0;
    const Vp8FrameConfig c = p->next_frame(key);
    for (int b = 0; b < 3 && !key; ++b) {
      if (c.temporal_id <= max_tid && c.references(b) && writer_tid[b] > max_tid) return false;
    }
    for (int b = 0; b < 3; ++b) {
      if (key) writer_tid[b] = 0;
      else if (c.updates(b)) writer_tid[b] = c.temporal_id;
    }
    p->on_encoded(c, key);
  }
  return true;
}

}  // namespace

TEST_CASE("vp8 temporal pattern: every layer subset is self-contained") {
  for (int layers = 1; layers <= 3; ++layers) {
    for (int max_tid = 0; max_tid < layers; ++max_tid) {
      CAPTURE(layers);
      CAPTURE(max_tid);
      CHECK(LayersDecodeIndependently(layers, max_tid, 64));
    }
  }
}

TEST_CASE("vp8 temporal pattern: libvpx layer ids, decimators and validation") {
  CHECK_FALSE(Vp8TemporalPattern::Create(0).ok());
  CHECK_FALSE(Vp8TemporalPattern::Create(4).ok());
  auto two = Vp8TemporalPattern::Create(2);
  REQUIRE(two.ok());
  CHECK(two->periodicity() == 2);
  CHECK(two->layer_id_at(0) == 0);
  CHECK(two->layer_id_at(1) == 1);
  CHECK(two->rate_decimator(0) == 2);
  CHECK(two->rate_decimator(1) == 1);
  auto three = Vp8TemporalPattern::Create(3);
  REQUIRE(three.ok());
  CHECK(three->periodicity() == 4);
  const int ids[4] = {0, 2, 1, 2};
  for (int i = 0; i < 8; ++i) {
    CHECK(three->layer_id_at(i) == ids[i % 4]);
    // The full 8-frame table agrees with libvpx's short layer-id cycle.
    CHECK(three->next_frame(i == 0).temporal_id == ids[i % 4]);
  }
  CHECK(three->rate_decimator(0) == 4);
}

TEST_CASE("vp8 temporal pattern: layer sync only where references are all TL0") {
  auto p = Vp8TemporalPattern::Create(3);
  REQUIRE(p.ok());
  for (int i = 0; i < 16; ++i) {
    const Vp8FrameConfig c = p->next_frame(i == 0);
    const bool sync = p->is_layer_sync(c);
    CAPTURE(i);
    CHECK(sync == (i % 8 == 1 || i % 8 == 2));
    p->on_encoded(c, i == 0);
  }
}
