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
  REQUIRE(alloc.set_audio(AudioAllocationConfig{20_kbps, 40_kbps}).ok());
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
  // The sender's protection policy turns FEC off, then on at 10%: the reserve follows.
  CHECK(alloc.set_fec_overhead(7, 0.0));
  const auto off = alloc.allocate(400_kbps);
  CHECK(off.video[0].media == 400_kbps);
  CHECK(off.video[0].fec == DataRate::Zero());
  CHECK(alloc.set_fec_overhead(7, 0.1));
  CHECK(alloc.allocate(2_mbps).video[0].fec == 50_kbps);
  CHECK(!alloc.set_fec_overhead(8, 0.1));   // unknown stream
  CHECK(!alloc.set_fec_overhead(7, -0.1));  // negative
}

TEST_CASE("BitrateAllocator suspends video below its minimum and resumes with hysteresis") {
  BitrateAllocator::Config cfg;
  cfg.rtx_share = 0;
  BitrateAllocator alloc(cfg);
  REQUIRE(alloc.set_audio(AudioAllocationConfig{20_kbps, 20_kbps}).ok());
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

TEST_CASE("BitrateAllocator serves audio first: the Opus rate follows the target between its minimum and maximum") {
  BitrateAllocator::Config cfg;
  cfg.rtx_share = 0;
  BitrateAllocator alloc(cfg);
  REQUIRE(alloc.set_audio(AudioAllocationConfig{6_kbps, 32_kbps}).ok());
  REQUIRE(alloc.add_video_stream({1, 30_kbps, 2_mbps, 1.0, 0.0, true}).ok());
  // Audio minimum, video minimum, then audio up to its maximum before video gets more.
  auto a = alloc.allocate(50_kbps);
  CHECK(a.audio == 20_kbps);
  CHECK(a.video[0].media == 30_kbps);
  a = alloc.allocate(62_kbps);
  CHECK(a.audio == 32_kbps);
  CHECK(a.video[0].media == 30_kbps);
  a = alloc.allocate(300_kbps);
  CHECK(a.audio == 32_kbps);
  CHECK(a.video[0].media == 268_kbps);
  // Below both minimums video is suspended and audio keeps what there is (at most its maximum).
  a = alloc.allocate(30_kbps);
  CHECK(a.video[0].suspended);
  CHECK(a.audio == 30_kbps);
  a = alloc.allocate(4_kbps);
  CHECK(a.audio == 4_kbps);
}

TEST_CASE("BitrateAllocator grants audio redundancy (RED) only when the budget allows it") {
  BitrateAllocator::Config cfg;
  cfg.rtx_share = 0;
  BitrateAllocator alloc(cfg);
  REQUIRE(alloc.set_audio(AudioAllocationConfig{6_kbps, 32_kbps, 3.0}).ok());
  REQUIRE(alloc.add_video_stream({1, 30_kbps, 2_mbps, 1.0, 0.0, true}).ok());
  // 108 kbps: Opus at its 32 kbps maximum and video above its minimum; the two copies (64 kbps)
  // would take what video has: no RED, nothing charged for it.
  auto a = alloc.allocate(108_kbps);
  CHECK_FALSE(a.audio_redundancy);
  CHECK(a.audio == 32_kbps);
  CHECK(a.audio_wire == 32_kbps);
  CHECK(a.video[0].media == 76_kbps);
  CHECK_FALSE(a.video[0].suspended);
  // 500 kbps: the copies cost 64 kbps, 12.8% of the target (<= 25%): granted and charged.
  a = alloc.allocate(500_kbps);
  CHECK(a.audio_redundancy);
  CHECK(a.audio == 32_kbps);
  CHECK(a.audio_wire == 96_kbps);
  CHECK(a.video[0].media == 404_kbps);
  CHECK(a.audio_wire + a.video[0].media == 500_kbps);
  // Hysteresis: kept while they cost at most 30% (230 kbps: 28%), dropped beyond (210 kbps:
  // 30.5%), and granted again only at 25% (230 kbps no, 256 kbps yes).
  CHECK(alloc.allocate(230_kbps).audio_redundancy);
  a = alloc.allocate(210_kbps);
  CHECK_FALSE(a.audio_redundancy);
  CHECK(a.audio_wire == 32_kbps);
  CHECK_FALSE(alloc.allocate(230_kbps).audio_redundancy);
  CHECK(alloc.allocate(256_kbps).audio_redundancy);
  // Video suspended (30 kbps): the copies take nothing from it, so Opus shares audio's budget
  // with them (10 kbps sent three times)...
  a = alloc.allocate(30_kbps);
  CHECK(a.video[0].suspended);
  CHECK(a.audio_redundancy);
  CHECK(a.audio == 10_kbps);
  CHECK(a.audio_wire == 30_kbps);
  // ... unless that would take Opus below its minimum: then plain Opus at what there is.
  a = alloc.allocate(15_kbps);
  CHECK_FALSE(a.audio_redundancy);
  CHECK(a.audio == 15_kbps);
  // No redundancy configured: never granted.
  REQUIRE(alloc.set_audio(AudioAllocationConfig{6_kbps, 32_kbps, 1.0}).ok());
  CHECK_FALSE(alloc.allocate(2_mbps).audio_redundancy);
  CHECK_FALSE(alloc.set_audio(AudioAllocationConfig{6_kbps, 32_kbps, 0.5}).ok());
  CHECK_FALSE(alloc.set_audio(AudioAllocationConfig{40_kbps, 32_kbps, 1.0}).ok());
  // Audio alone: granted as soon as the copies fit.
  BitrateAllocator alone(cfg);
  REQUIRE(alone.set_audio(AudioAllocationConfig{6_kbps, 32_kbps, 3.0}).ok());
  CHECK_FALSE(alone.allocate(95_kbps).audio_redundancy);
  CHECK(alone.allocate(96_kbps).audio_redundancy);
}

TEST_CASE("BitrateAllocator gives spare rate to active video above its minimum only") {
  BitrateAllocator::Config cfg;
  cfg.rtx_share = 0;
  BitrateAllocator alloc(cfg);
  REQUIRE(alloc.set_audio(AudioAllocationConfig{6_kbps, 32_kbps}).ok());
  REQUIRE(alloc.add_video_stream({1, 30_kbps, 2_mbps, 1.0, 0.0, true}).ok());
  auto a = alloc.allocate(100_kbps, 40_kbps);
  CHECK(a.audio == 32_kbps);
  CHECK(a.video[0].media == 108_kbps);  // 68 + the spare 40
  // Spare never resumes (nor keeps running) a stream whose minimum does not fit.
  a = alloc.allocate(20_kbps, 100_kbps);
  CHECK(a.video[0].suspended);
  CHECK(a.video[0].media == DataRate::Zero());
  a = alloc.allocate(40_kbps, 100_kbps);  // 34 left for video: resuming needs 30 x 1.1 + 30
  CHECK(a.video[0].suspended);
}
