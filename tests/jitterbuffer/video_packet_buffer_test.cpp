// Tests of the video packet buffer and frame assembler: in-order and reordered assembly, missing
// packets, duplicates, sequence-number wraparound, growth to the limit and the clear when full.
#include "tern/jitterbuffer/video/packet_buffer.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "tern/core/random.h"
#include "video_test_util.h"

using namespace tern;
using namespace tern::jitterbuffer;
using namespace tern::jitterbuffer::test;

namespace {

const Timestamp kNow = Timestamp::Seconds(100);

PacketBuffer::InsertResult insert(PacketBuffer& pb, const rtp::RtpPacket& p, Timestamp now = kNow) {
  auto parsed = parse_video_packet(codecs::CodecType::kVp8, p);
  REQUIRE(parsed.ok());
  return pb.insert(p, *parsed, now);
}

}  // namespace

TEST_CASE("video packet buffer assembles an in-order frame") {
  std::vector<uint8_t> frame;
  auto packets = vp8_frame_packets({.first_seq = 10, .timestamp = 900, .picture_id = 5, .keyframe = true,
                                    .size = 3000}, &frame);
  REQUIRE(packets.size() == 3);
  PacketBuffer pb;
  CHECK(insert(pb, packets[0]).frames.empty());
  CHECK(insert(pb, packets[1]).frames.empty());
  auto r = insert(pb, packets[2], kNow + TimeDelta::Millis(3));
  REQUIRE(r.frames.size() == 1);
  const EncodedVideoFrame& f = r.frames[0];
  CHECK(f.data == frame);
  CHECK(f.keyframe);
  CHECK(f.rtp_timestamp == 900);
  CHECK(f.first_seq == 10);
  CHECK(f.last_seq == 12);
  CHECK(f.num_packets == 3);
  CHECK(f.header.picture_id == 5);
  CHECK(f.receive_time == kNow + TimeDelta::Millis(3));
  CHECK(f.first_receive_time == kNow);
  CHECK_FALSE(f.retransmitted);
  CHECK(pb.size() == 0);
}

TEST_CASE("video packet buffer waits for a missing packet and assembles after reordering") {
  std::vector<uint8_t> frame;
  auto packets = vp8_frame_packets({.first_seq = 65534, .timestamp = 1, .picture_id = 1, .size = 5000}, &frame);
  REQUIRE(packets.size() == 5);  // 65534, 65535, 0, 1, 2: wraps
  PacketBuffer pb;
  for (size_t i : {4u, 0u, 3u, 1u}) CHECK(insert(pb, packets[i]).frames.empty());
  CHECK(pb.size() == 4);
  auto r = insert(pb, packets[2]);
  REQUIRE(r.frames.size() == 1);
  CHECK(r.frames[0].data == frame);
  CHECK(r.frames[0].retransmitted);  // completed out of order
  CHECK(r.frames[0].last_seq - r.frames[0].first_seq == 4);
}

TEST_CASE("video packet buffer ignores duplicates and packets already cleared") {
  auto a = vp8_frame_packets({.first_seq = 100, .timestamp = 0, .picture_id = 1, .keyframe = true, .size = 2000});
  auto b = vp8_frame_packets({.first_seq = 102, .timestamp = 3000, .picture_id = 2, .size = 2000});
  PacketBuffer pb;
  CHECK(insert(pb, a[0]).frames.empty());
  CHECK(insert(pb, a[0]).frames.empty());
  CHECK(pb.stats().duplicates == 1);
  CHECK(insert(pb, a[1]).frames.size() == 1);
  pb.clear_to(101);
  CHECK(insert(pb, a[1]).frames.empty());  // the late copy of an assembled frame
  CHECK(pb.stats().too_old == 1);
  CHECK(pb.size() == 0);
  CHECK(insert(pb, b[1]).frames.empty());
  CHECK(insert(pb, b[0]).frames.size() == 1);
}


TEST_CASE("video packet buffer does not join packets of different timestamps") {
  // A frame's middle packet replaced by one from another frame with the same sequence number.
  auto a = vp8_frame_packets({.first_seq = 0, .timestamp = 0, .picture_id = 1, .size = 3000});
  auto other = vp8_frame_packets({.first_seq = 0, .timestamp = 9000, .picture_id = 9, .size = 3000});
  PacketBuffer pb;
  CHECK(insert(pb, a[0]).frames.empty());
  CHECK(insert(pb, other[1]).frames.empty());
  CHECK(insert(pb, a[2]).frames.empty());
  CHECK(pb.stats().frames_assembled == 0);
}

TEST_CASE("video packet buffer grows to its limit and clears when full") {
  PacketBufferConfig config{.start_capacity = 16, .max_capacity = 64};
  REQUIRE(config.validate().ok());
  PacketBuffer pb(config);
  // First packets of frames that never complete (no marker follow-up): all held.
  std::vector<rtp::RtpPacket> held;
  for (uint16_t i = 0; i < 64; ++i) {
    auto p = vp8_frame_packets({.first_seq = i, .timestamp = i * 3000u, .size = 2400, .mtu = 1200});
    auto r = insert(pb, p[0]);
    CHECK(r.frames.empty());
    CHECK_FALSE(r.buffer_cleared);
  }
  CHECK(pb.capacity() == 64);
  CHECK(pb.size() == 64);
  auto p = vp8_frame_packets({.first_seq = 64, .timestamp = 1, .size = 2400});
  auto r = insert(pb, p[0]);
  CHECK(r.buffer_cleared);
  CHECK(pb.size() == 1);
  CHECK(pb.stats().buffer_clears == 1);
}

TEST_CASE("video packet buffer config validation") {
  CHECK_FALSE(PacketBufferConfig{.start_capacity = 0}.validate().ok());
  CHECK_FALSE(PacketBufferConfig{.start_capacity = 100}.validate().ok());
  CHECK_FALSE(PacketBufferConfig{.start_capacity = 1024, .max_capacity = 512}.validate().ok());
  CHECK_FALSE(PacketBufferConfig{.max_capacity = 65536}.validate().ok());
  CHECK(PacketBufferConfig{}.validate().ok());
}

TEST_CASE("video packet buffer seeded random order assembles every frame exactly once") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Random rng(seed);
    CAPTURE(seed);
    std::vector<rtp::RtpPacket> all;
    std::vector<std::vector<uint8_t>> frames;
    uint16_t seq = static_cast<uint16_t>(rng.next_u32());
    for (uint16_t i = 0; i < 30; ++i) {
      std::vector<uint8_t> f;
      auto p = vp8_frame_packets({.first_seq = seq, .timestamp = i * 3000u, .picture_id = i,
                                  .keyframe = i == 0, .size = static_cast<size_t>(rng.uniform_int(1, 4000)),
                                  .fill = static_cast<uint8_t>(i)}, &f);
      seq = static_cast<uint16_t>(seq + p.size());
      frames.push_back(f);
      for (auto& x : p) all.push_back(std::move(x));
    }
    // Shuffle within a window of 8, and duplicate some packets.
    for (size_t i = 0; i < all.size(); ++i) {
      const size_t j = std::min(all.size() - 1, i + static_cast<size_t>(rng.uniform_int(0, 7)));
      std::swap(all[i], all[j]);
    }
    PacketBuffer pb;
    std::vector<EncodedVideoFrame> out;
    for (const auto& p : all) {
      for (int k = 0; k < (rng.bernoulli(0.1) ? 2 : 1); ++k) {
        auto r = insert(pb, p);
        for (auto& f : r.frames) out.push_back(std::move(f));
      }
    }
    REQUIRE(out.size() == frames.size());
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first_seq < b.first_seq; });
    for (size_t i = 0; i < out.size(); ++i) CHECK(out[i].data == frames[i]);
    CHECK(pb.size() == 0);
  }
}
