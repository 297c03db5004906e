#include "tern/congestion/bitrate_allocator.h"

#include <doctest/doctest.h>

using namespace tern;
using namespace tern::congestion;
using namespace tern::unit_literals;

namespace {
DataRate sum(const BitrateAllocation& a) {
  DataRate s = a.audio + a.rtx + a.unallocated;
  for (const auto& v : a.video) s += v.media + v.fec;
  return s;
}
}  // namespace

TEST_CASE("BitrateAllocator serves RTX, audio, video minimums, then shares by priority") {
  BitrateAllocator::Config cfg;
  cfg.rtx_share = 0.05;
  BitrateAllocator alloc(cfg);
  alloc.set_audio(AudioAllocationConfig{20_kbps, 40_kbps});
  REQUIRE(alloc.add_video_stream({1, 100_kbps, 1_mbps, 1.0, 0.0, true}).ok());
  REQUIRE(alloc.add_video_stream({2, 100_kbps, 1_mbps, 3.0, 0.0, true}).ok());
  const BitrateAllocation a = alloc.allocate(1_mbps);
  CHECK(a.rtx == 50_kbps);
  CHECK(a.audio == 40_kbps);
  REQUIRE(a.video.size() == 2);
  // 1000 - 50 - 40 - 200 = 710 kbps above the minimums, split 1:3.
  CHECK(a.video[0].media.kbps() == 278);  // 100 + 177.5
  CHECK(a.video[1].media.kbps() == 633);  // 100 + 532.5
  CHECK(sum(a).kbps() == 1000);
  CHECK(a.unallocated.kbps() == 0);

  const BitrateAllocation big = alloc.allocate(10_mbps);
  CHECK(big.video[0].media == 1_mbps);
  CHECK(big.video[1].media == 1_mbps);
  CHECK(big.rtx == 500_kbps);  // capped
  CHECK(big.unallocated.kbps() == 10000 - 500 - 40 - 2000);
}

TEST_CASE("BitrateAllocator includes FEC overhead in video allocations") {
  BitrateAllocator::Config cfg;
  cfg.rtx_share = 0;
  BitrateAllocator alloc(cfg);
  REQUIRE(alloc.add_video_stream({7, 100_kbps, 500_kbps, 1.0, 0.25, true}).ok());
  const auto a = alloc.allocate(400_kbps);
  CHECK(a.video[0].media.kbps() == 320);
  CHECK(a.video[0].fec.kbps() == 80);
  const auto full = alloc.allocate(2_mbps);
  CHECK(full.video[0].media == 500_kbps);
  CHECK(full.video[0].fec.kbps() == 125);
}

TEST_CASE("BitrateAllocator suspends video below its minimum and resumes with hysteresis") {
  BitrateAllocator::Config cfg;
  cfg.rtx_share = 0;
  BitrateAllocator alloc(cfg);
  alloc.set_audio(AudioAllocationConfig{20_kbps, 20_kbps});
  REQUIRE(alloc.add_video_stream({1, 100_kbps, 1_mbps, 1.0, 0.0, true}).ok());
  CHECK_FALSE(alloc.allocate(500_kbps).video[0].suspended);
  auto a = alloc.allocate(100_kbps);  // 80 kbps left after audio
  CHECK(a.video[0].suspended);
  CHECK(a.video[0].media == DataRate::Zero());
  CHECK(a.audio == 20_kbps);
  // 130 kbps left would fit the minimum, but resuming needs 100 x 1.1 + 30 = 140 kbps.
  CHECK(alloc.allocate(150_kbps).video[0].suspended);
  CHECK_FALSE(alloc.allocate(160_kbps).video[0].suspended);
  // Once running, the plain minimum keeps it running.
  CHECK_FALSE(alloc.allocate(121_kbps).video[0].suspended);

  REQUIRE(alloc.add_video_stream({2, 300_kbps, 1_mbps, 1.0, 0.0, false}).ok());
  a = alloc.allocate(50_kbps);
  CHECK(a.video[1].media == 300_kbps);  // cannot be suspended: gets its minimum regardless
}

TEST_CASE("BitrateAllocator rejects invalid streams") {
  BitrateAllocator alloc;
  CHECK_FALSE(alloc.add_video_stream({1, 2_mbps, 1_mbps, 1.0, 0.0, true}).ok());
  CHECK_FALSE(alloc.add_video_stream({1, 1_kbps, 1_mbps, 0.0, 0.0, true}).ok());
  CHECK_FALSE(alloc.add_video_stream({1, 1_kbps, 1_mbps, 1.0, -0.5, true}).ok());
  CHECK(alloc.add_video_stream({1, 1_kbps, 1_mbps, 1.0, 0.0, true}).ok());
  CHECK_FALSE(alloc.add_video_stream({1, 1_kbps, 1_mbps, 1.0, 0.0, true}).ok());
  CHECK(alloc.remove_video_stream(1));
  CHECK_FALSE(alloc.remove_video_stream(1));
  CHECK(alloc.allocate(1_mbps).video.empty());
}
