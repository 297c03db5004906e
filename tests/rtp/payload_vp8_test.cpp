// Tests of the VP8 payload format (RFC 7741): descriptor layouts byte by byte, keyframe
// detection, packetizer/depacketizer round trips over many frame sizes and payload limits.
#include "tern/rtp/payload/vp8_payload.h"

#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "tern/core/random.h"
#include "tern/rtp/payload/frame_assembler.h"

using namespace tern;
using namespace tern::rtp;

namespace {

// A VP8 keyframe-like payload (RFC 6386 9.1): 3-byte frame tag with P=0, start code 9d 01 2a,
// then 14-bit little-endian width and height with the scaling bits set to check masking.
std::vector<uint8_t> vp8_keyframe_header(uint16_t width, uint16_t height, size_t total_size) {
  std::vector<uint8_t> f(std::max<size_t>(total_size, 10), 0x55);
  f[0] = 0x10;  // P=0 (keyframe), version 0, show_frame=1
  f[1] = 0x02;
  f[2] = 0x00;
  f[3] = 0x9d;
  f[4] = 0x01;
  f[5] = 0x2a;
  f[6] = static_cast<uint8_t>(width);
  f[7] = static_cast<uint8_t>((width >> 8) | 0x40);  // horizontal scale 1
  f[8] = static_cast<uint8_t>(height);
  f[9] = static_cast<uint8_t>((height >> 8) | 0x80);  // vertical scale 2
  return f;
}

std::string error_of(std::span<const uint8_t> payload) { return Vp8Depacketizer::parse(payload).error(); }

}  // namespace

TEST_CASE("payload: vp8 descriptor minimal form") {
  const std::array<uint8_t, 3> pkt{0x10, 0x01, 0x02};  // X=0 S=1 PID=0, delta frame
  auto p = Vp8Depacketizer::parse(pkt);
  REQUIRE(p.ok());
  CHECK_FALSE(p->descriptor.non_reference);
  CHECK(p->descriptor.start_of_partition);
  CHECK(p->descriptor.partition_index == 0);
  CHECK_FALSE(p->descriptor.picture_id.has_value());
  CHECK(p->is_first_packet_in_frame);
  CHECK_FALSE(p->is_keyframe);  // P bit (0x01) set
  CHECK(p->payload.data() == pkt.data() + 1);
  CHECK(p->payload.size() == 2);
}

TEST_CASE("payload: vp8 descriptor with every extension field") {
  // X=1 N=1 S=0 PID=3 | I L T K | M=1 PictureID=0x1234 | TL0PICIDX=0x45 | TID=2 Y=1 KEYIDX=17
  const std::array<uint8_t, 7> pkt{0xA3, 0xF0, 0x92, 0x34, 0x45, (2 << 6) | 0x20 | 17, 0xEE};
  auto p = Vp8Depacketizer::parse(pkt);
  REQUIRE(p.ok());
  const Vp8Descriptor& d = p->descriptor;
  CHECK(d.non_reference);
  CHECK_FALSE(d.start_of_partition);
  CHECK(d.partition_index == 3);
  CHECK(d.picture_id == uint16_t{0x1234});
  CHECK(d.picture_id_15bit);
  CHECK(d.tl0_pic_idx == uint8_t{0x45});
  CHECK(d.temporal_id == uint8_t{2});
  CHECK(d.layer_sync);
  CHECK(d.key_idx == uint8_t{17});
  CHECK_FALSE(p->is_first_packet_in_frame);
  CHECK(p->payload.size() == 1);
  CHECK(p->payload[0] == 0xEE);
  // Writing the parsed descriptor reproduces the bytes.
  std::array<uint8_t, Vp8Descriptor::kMaxSize> out{};
  REQUIRE(d.size() == 6);
  REQUIRE(d.write(out) == 6);
  CHECK(std::equal(out.begin(), out.end(), pkt.begin()));
}

TEST_CASE("payload: vp8 descriptor 7-bit picture id and K without T") {
  // X=1 S=1 | I K | M=0 PictureID=0x55 | TID/Y ignored, KEYIDX=5
  const std::array<uint8_t, 5> pkt{0x90, 0x90, 0x55, 0xE5, 0x00};
  auto p = Vp8Depacketizer::parse(pkt);
  REQUIRE(p.ok());
  CHECK(p->descriptor.picture_id == uint16_t{0x55});
  CHECK_FALSE(p->descriptor.picture_id_15bit);
  CHECK_FALSE(p->descriptor.tl0_pic_idx.has_value());
  CHECK_FALSE(p->descriptor.temporal_id.has_value());  // T=0: TID and Y are ignored
  CHECK_FALSE(p->descriptor.layer_sync);
  CHECK(p->descriptor.key_idx == uint8_t{5});
  CHECK(p->is_keyframe);  // first VP8 byte 0x00: P=0
  CHECK(p->width == 0);   // too short for the keyframe header
}

TEST_CASE("payload: vp8 keyframe detection and dimensions") {
  std::vector<uint8_t> pkt{0x10};
  const auto key = vp8_keyframe_header(640, 360, 40);
  pkt.insert(pkt.end(), key.begin(), key.end());
  auto p = Vp8Depacketizer::parse(pkt);
  REQUIRE(p.ok());
  CHECK(p->is_keyframe);
  CHECK(p->width == 640);
  CHECK(p->height == 360);
  // Not the first packet of the frame: no keyframe claim.
  pkt[0] = 0x00;
  p = Vp8Depacketizer::parse(pkt);
  REQUIRE(p.ok());
  CHECK_FALSE(p->is_keyframe);
  // First partition but PID 1: not the start of the frame either.
  pkt[0] = 0x11;
  CHECK_FALSE(Vp8Depacketizer::parse(pkt)->is_first_packet_in_frame);
  // Broken start code: still a keyframe by the P bit, size unknown.
  pkt[0] = 0x10;
  pkt[4] = 0x00;
  p = Vp8Depacketizer::parse(pkt);
  CHECK(p->is_keyframe);
  CHECK(p->width == 0);
}

TEST_CASE("payload: vp8 depacketizer rejects truncated descriptors") {
  CHECK(error_of({}) == "vp8: empty payload");
  CHECK(error_of(std::array<uint8_t, 1>{0x80}) == "vp8: truncated extension");
  CHECK(error_of(std::array<uint8_t, 2>{0x80, 0x80}) == "vp8: truncated picture id");
  CHECK(error_of(std::array<uint8_t, 3>{0x80, 0x80, 0x80}) == "vp8: truncated picture id");  // M=1, 1 byte
  CHECK(error_of(std::array<uint8_t, 2>{0x80, 0x40}) == "vp8: truncated tl0picidx");
  CHECK(error_of(std::array<uint8_t, 2>{0x80, 0x20}) == "vp8: truncated tid/keyidx");
  CHECK(error_of(std::array<uint8_t, 2>{0x80, 0x10}) == "vp8: truncated tid/keyidx");
  CHECK(error_of(std::array<uint8_t, 1>{0x10}) == "vp8: no data after descriptor");
  CHECK(error_of(std::array<uint8_t, 4>{0x90, 0x80, 0x81, 0x00}) == "vp8: no data after descriptor");
}

TEST_CASE("payload: vp8 descriptor validation") {
  Vp8Descriptor d;
  d.partition_index = 8;
  CHECK_FALSE(d.validate().ok());
  d = {};
  d.picture_id = 0x8000;
  CHECK_FALSE(d.validate().ok());
  d = {};
  d.temporal_id = 4;
  CHECK_FALSE(d.validate().ok());
  d = {};
  d.key_idx = 32;
  CHECK_FALSE(d.validate().ok());
  Vp8Packetizer p;
  const std::vector<uint8_t> frame(10, 1);
  CHECK_FALSE(p.plan(frame, d, PayloadLimits{}).ok());
  CHECK_FALSE(p.plan({}, Vp8Descriptor{}, PayloadLimits{}).ok());
  CHECK_FALSE(p.plan(frame, Vp8Descriptor{}, PayloadLimits{.max_payload_size = 4}).ok());  // 4-byte descriptor
  CHECK(p.plan(frame, Vp8Descriptor{}, PayloadLimits{.max_payload_size = 5}).ok());
  CHECK(p.num_packets() == 10);
}

TEST_CASE("payload: vp8 packetizer assigns 15-bit picture ids that wrap") {
  Vp8Packetizer p(Vp8PacketizerConfig{.initial_picture_id = 0x7FFE});
  const std::vector<uint8_t> frame(10, 1);
  std::vector<uint8_t> out(100);
  const uint16_t expected[] = {0x7FFE, 0x7FFF, 0, 1};
  for (uint16_t want : expected) {
    REQUIRE(p.plan(frame, Vp8Descriptor{}, PayloadLimits{}).ok());
    auto n = p.write(0, out);
    REQUIRE(n.ok());
    auto parsed = Vp8Depacketizer::parse(std::span<const uint8_t>(out.data(), *n));
    REQUIRE(parsed.ok());
    CHECK(parsed->descriptor.picture_id == want);
    CHECK(parsed->descriptor.picture_id_15bit);
  }
  // An explicit picture id moves the counter; 7-bit mode wraps at 128.
  Vp8Packetizer seven(Vp8PacketizerConfig{.picture_id_mode = Vp8PictureIdMode::k7Bit});
  Vp8Descriptor explicit_id;
  explicit_id.picture_id = 127;
  explicit_id.picture_id_15bit = false;
  REQUIRE(seven.plan(frame, explicit_id, PayloadLimits{}).ok());
  REQUIRE(seven.plan(frame, Vp8Descriptor{}, PayloadLimits{}).ok());
  CHECK(seven.descriptor().picture_id == uint16_t{0});
  CHECK_FALSE(seven.descriptor().picture_id_15bit);
  CHECK(seven.packet_size(0) == 3 + 10);
  Vp8Packetizer none(Vp8PacketizerConfig{.picture_id_mode = Vp8PictureIdMode::kNone});
  REQUIRE(none.plan(frame, Vp8Descriptor{}, PayloadLimits{}).ok());
  CHECK(none.packet_size(0) == 1 + 10);
}

TEST_CASE("payload: vp8 round trip over frame sizes and limits") {
  Random rng(0x7e8);
  Vp8Packetizer packetizer;
  std::vector<uint8_t> buffer;
  const size_t mtus[] = {16, 50, 100, 576, 1200, 1500};
  const size_t sizes[] = {1, 2, 7, 99, 100, 101, 1000, 1193, 1194, 1195, 4000, 65536};
  for (size_t mtu : mtus) {
    for (size_t size : sizes) {
      INFO("mtu " << mtu << " size " << size);
      auto frame = vp8_keyframe_header(320, 240, size);
      frame.resize(size);
      for (size_t i = 10; i < frame.size(); ++i) frame[i] = static_cast<uint8_t>(rng.next_u32());
      Vp8Descriptor info;
      info.tl0_pic_idx = 7;
      info.temporal_id = 1;
      REQUIRE(packetizer.plan(frame, info, PayloadLimits{.max_payload_size = mtu}).ok());
      const size_t n = packetizer.num_packets();
      std::vector<std::vector<uint8_t>> packets(n);
      size_t smallest = SIZE_MAX, largest = 0;
      for (size_t i = 0; i < n; ++i) {
        packets[i].resize(packetizer.packet_size(i));
        auto w = packetizer.write(i, packets[i]);
        REQUIRE(w.ok());
        REQUIRE(*w == packets[i].size());
        CHECK(packets[i].size() <= mtu);
        CHECK(packetizer.marker(i) == (i + 1 == n));
        auto parsed = Vp8Depacketizer::parse(packets[i]);
        REQUIRE(parsed.ok());
        CHECK(parsed->is_first_packet_in_frame == (i == 0));
        CHECK(parsed->descriptor.tl0_pic_idx == uint8_t{7});
        CHECK(parsed->descriptor.temporal_id == uint8_t{1});
        smallest = std::min(smallest, parsed->payload.size());
        largest = std::max(largest, parsed->payload.size());
        if (i == 0 && size >= 10) {
          CHECK(parsed->is_keyframe);
          if (parsed->payload.size() >= 10) CHECK(parsed->width == 320);
        }
      }
      CHECK(largest - smallest <= 1);
      std::vector<std::span<const uint8_t>> parts(packets.begin(), packets.end());
      auto joined = assemble_frame<Vp8Depacketizer>(parts);
      REQUIRE(joined.ok());
      CHECK(*joined == frame);
    }
  }
}

TEST_CASE("payload: vp8 property: random descriptors survive write and parse") {
  Random rng(0x7e81);
  for (int iter = 0; iter < 5000; ++iter) {
    Vp8Descriptor d;
    d.non_reference = rng.bernoulli(0.5);
    d.start_of_partition = rng.bernoulli(0.5);
    d.partition_index = static_cast<uint8_t>(rng.uniform_int(0, 7));
    if (rng.bernoulli(0.6)) {
      d.picture_id_15bit = rng.bernoulli(0.5);
      d.picture_id = static_cast<uint16_t>(rng.uniform_int(0, d.picture_id_15bit ? 0x7FFF : 0x7F));
    }
    if (rng.bernoulli(0.5)) d.tl0_pic_idx = static_cast<uint8_t>(rng.next_u32());
    if (rng.bernoulli(0.5)) {
      d.temporal_id = static_cast<uint8_t>(rng.uniform_int(0, 3));
      d.layer_sync = rng.bernoulli(0.5);
    }
    if (rng.bernoulli(0.5)) d.key_idx = static_cast<uint8_t>(rng.uniform_int(0, 31));
    REQUIRE(d.validate().ok());
    std::array<uint8_t, Vp8Descriptor::kMaxSize + 1> buf{};
    const size_t n = d.write(buf);
    REQUIRE(n == d.size());
    buf[n] = 0x01;
    auto parsed = Vp8Depacketizer::parse(std::span<const uint8_t>(buf.data(), n + 1));
    REQUIRE(parsed.ok());
    CHECK(parsed->descriptor == d);
    // Every truncation of the descriptor itself is rejected.
    for (size_t cut = 0; cut <= n; ++cut) CHECK_FALSE(Vp8Depacketizer::parse(std::span<const uint8_t>(buf.data(), cut)).ok());
  }
  // Garbage: never crashes; any accepted payload is a view inside the input.
  for (int iter = 0; iter < 5000; ++iter) {
    std::vector<uint8_t> junk(static_cast<size_t>(rng.uniform_int(0, 12)));
    for (auto& b : junk) b = static_cast<uint8_t>(rng.next_u32());
    auto parsed = Vp8Depacketizer::parse(junk);
    if (parsed.ok()) {
      CHECK(parsed->payload.data() + parsed->payload.size() == junk.data() + junk.size());
      CHECK(!parsed->payload.empty());
    }
  }
}

TEST_CASE("payload: vp8 property: random frames and limits round trip with reductions") {
  Random rng(0x7e82);
  Vp8Packetizer packetizer;
  for (int iter = 0; iter < 400; ++iter) {
    std::vector<uint8_t> frame(static_cast<size_t>(rng.uniform_int(1, 20000)));
    for (auto& b : frame) b = static_cast<uint8_t>(rng.next_u32());
    PayloadLimits l{.max_payload_size = static_cast<size_t>(rng.uniform_int(20, 1400))};
    l.first_packet_reduction = static_cast<size_t>(rng.uniform_int(0, 10));
    l.last_packet_reduction = static_cast<size_t>(rng.uniform_int(0, 10));
    l.single_packet_reduction = static_cast<size_t>(rng.uniform_int(0, 10));
    INFO("seed 0x7e82 iter " << iter);
    REQUIRE(packetizer.plan(frame, Vp8Descriptor{}, l).ok());
    const size_t n = packetizer.num_packets();
    std::vector<std::vector<uint8_t>> packets(n);
    for (size_t i = 0; i < n; ++i) {
      packets[i].resize(packetizer.packet_size(i));
      REQUIRE(packetizer.write(i, packets[i]).ok());
      const size_t reduction = n == 1 ? l.single_packet_reduction
                               : i == 0 ? l.first_packet_reduction
                               : i + 1 == n ? l.last_packet_reduction : 0;
      CHECK(packets[i].size() + reduction <= l.max_payload_size);
    }
    std::vector<std::span<const uint8_t>> parts(packets.begin(), packets.end());
    auto joined = assemble_frame<Vp8Depacketizer>(parts);
    REQUIRE(joined.ok());
    CHECK(*joined == frame);
  }
}
