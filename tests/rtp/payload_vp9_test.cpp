// Tests of the VP9 payload format (RFC 9628): descriptor and scalability structure layouts byte
// by byte, truncation, and packetizer/depacketizer round trips.
#include "tern/rtp/payload/vp9_payload.h"

#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "tern/core/random.h"
#include "tern/rtp/payload/frame_assembler.h"

using namespace tern;
using namespace tern::rtp;

namespace {

std::string vp9_error_of(std::span<const uint8_t> payload) { return Vp9Depacketizer::parse(payload).error(); }

Vp9ScalabilityStructure random_ss(Random& rng) {
  Vp9ScalabilityStructure ss;
  ss.num_spatial_layers = static_cast<uint8_t>(rng.uniform_int(1, 8));
  ss.has_resolutions = rng.bernoulli(0.5);
  if (ss.has_resolutions) {
    for (size_t i = 0; i < ss.num_spatial_layers; ++i) {
      ss.width[i] = static_cast<uint16_t>(rng.next_u32());
      ss.height[i] = static_cast<uint16_t>(rng.next_u32());
    }
  }
  ss.has_picture_group = rng.bernoulli(0.5);
  if (ss.has_picture_group) {
    ss.picture_group.resize(static_cast<size_t>(rng.uniform_int(0, 20)));
    for (auto& e : ss.picture_group) {
      e.temporal_id = static_cast<uint8_t>(rng.uniform_int(0, 7));
      e.switching_up = rng.bernoulli(0.5);
      e.num_refs = static_cast<uint8_t>(rng.uniform_int(0, 3));
      for (size_t r = 0; r < e.num_refs; ++r) e.p_diff[r] = static_cast<uint8_t>(rng.next_u32());
    }
  }
  return ss;
}

Vp9Descriptor random_descriptor(Random& rng) {
  Vp9Descriptor d;
  d.inter_picture_predicted = rng.bernoulli(0.5);
  d.flexible_mode = rng.bernoulli(0.5);
  d.start_of_frame = rng.bernoulli(0.5);
  d.end_of_frame = rng.bernoulli(0.5);
  d.not_upper_layer_reference = rng.bernoulli(0.5);
  if (rng.bernoulli(0.8)) {
    d.picture_id_15bit = rng.bernoulli(0.7);
    d.picture_id = static_cast<uint16_t>(rng.uniform_int(0, d.picture_id_15bit ? 0x7FFF : 0x7F));
  }
  if (rng.bernoulli(0.6)) {
    d.layer = Vp9LayerIndices{static_cast<uint8_t>(rng.uniform_int(0, 7)), rng.bernoulli(0.5),
                              static_cast<uint8_t>(rng.uniform_int(0, 7)), rng.bernoulli(0.5)};
    if (!d.flexible_mode) d.tl0_pic_idx = static_cast<uint8_t>(rng.next_u32());
  }
  if (d.flexible_mode && d.inter_picture_predicted) {
    d.num_p_diffs = static_cast<uint8_t>(rng.uniform_int(1, 3));
    for (size_t i = 0; i < d.num_p_diffs; ++i) d.p_diff[i] = static_cast<uint8_t>(rng.uniform_int(1, 127));
  }
  if (rng.bernoulli(0.3)) d.ss = random_ss(rng);
  return d;
}

}  // namespace

TEST_CASE("payload: vp9 non-flexible descriptor byte by byte") {
  // I P L F=0 B E V=0 Z | M=1 PID=0x0ABC | TID=2 U=1 SID=1 D=1 | TL0PICIDX=200 | payload
  const std::array<uint8_t, 6> pkt{0xED, 0x8A, 0xBC, (2 << 5) | 0x10 | (1 << 1) | 1, 200, 0x77};
  auto p = Vp9Depacketizer::parse(pkt);
  REQUIRE(p.ok());
  const Vp9Descriptor& d = p->descriptor;
  CHECK(d.inter_picture_predicted);
  CHECK_FALSE(d.flexible_mode);
  CHECK(d.start_of_frame);
  CHECK(d.end_of_frame);
  CHECK(d.not_upper_layer_reference);
  CHECK(d.picture_id == uint16_t{0x0ABC});
  CHECK(d.picture_id_15bit);
  REQUIRE(d.layer.has_value());
  CHECK(d.layer->temporal_id == 2);
  CHECK(d.layer->switching_up);
  CHECK(d.layer->spatial_id == 1);
  CHECK(d.layer->inter_layer_dependency);
  CHECK(d.tl0_pic_idx == 200);
  CHECK(d.num_p_diffs == 0);
  CHECK_FALSE(d.ss.has_value());
  CHECK_FALSE(p->is_first_packet_in_frame);  // B, but predicted from the layer below
  CHECK(p->is_last_packet_in_frame);
  CHECK_FALSE(p->is_keyframe);
  CHECK(p->payload.size() == 1);
  std::array<uint8_t, 5> out{};
  REQUIRE(d.write(out) == 5);
  CHECK(std::equal(out.begin(), out.end(), pkt.begin()));
}

TEST_CASE("payload: vp9 flexible descriptor with three p_diff") {
  // I P L F B=1 | M=0 PID=0x21 | TID=1 SID=0 | P_DIFF 1 N=1, 2 N=1, 4 N=0 | payload
  const std::array<uint8_t, 8> pkt{0xF8, 0x21, (1 << 5), (1 << 1) | 1, (2 << 1) | 1, (4 << 1), 0x01, 0x02};
  auto p = Vp9Depacketizer::parse(pkt);
  REQUIRE(p.ok());
  const Vp9Descriptor& d = p->descriptor;
  CHECK(d.flexible_mode);
  CHECK(d.picture_id == uint16_t{0x21});
  CHECK_FALSE(d.picture_id_15bit);
  CHECK(d.layer->temporal_id == 1);
  CHECK(d.num_p_diffs == 3);
  CHECK(d.p_diff[0] == 1);
  CHECK(d.p_diff[1] == 2);
  CHECK(d.p_diff[2] == 4);
  CHECK(p->is_first_packet_in_frame);
  CHECK_FALSE(p->is_last_packet_in_frame);
  CHECK(p->payload.size() == 2);
  // A fourth P_DIFF (N set on the third) is refused.
  std::array<uint8_t, 8> four = pkt;
  four[5] |= 1;
  CHECK(vp9_error_of(four) == "vp9: more than 3 p_diff");
}

TEST_CASE("payload: vp9 keyframe with scalability structure") {
  // I=1 P=0 L=0 F=0 B=1 E=1 V=1 | M=1 PID=1 | SS: N_S=1 (2 layers) Y G | 320x180 640x360 |
  // N_G=2 | TID 0 U0 R1 P_DIFF 4 | TID 1 U1 R1 P_DIFF 1 | payload
  const std::vector<uint8_t> pkt{0x8E, 0x80, 0x01, (1 << 5) | 0x18, 0x01, 0x40, 0x00, 0xB4, 0x02, 0x80, 0x01, 0x68,
                                 0x02, (0 << 5) | (1 << 2), 4, (1 << 5) | 0x10 | (1 << 2), 1, 0x9A};
  auto p = Vp9Depacketizer::parse(pkt);
  REQUIRE(p.ok());
  CHECK(p->is_keyframe);
  CHECK(p->is_first_packet_in_frame);
  REQUIRE(p->descriptor.ss.has_value());
  const Vp9ScalabilityStructure& ss = *p->descriptor.ss;
  CHECK(ss.num_spatial_layers == 2);
  CHECK(ss.has_resolutions);
  CHECK(ss.width[0] == 320);
  CHECK(ss.height[0] == 180);
  CHECK(ss.width[1] == 640);
  CHECK(ss.height[1] == 360);
  REQUIRE(ss.picture_group.size() == 2);
  CHECK(ss.picture_group[0].temporal_id == 0);
  CHECK(ss.picture_group[0].num_refs == 1);
  CHECK(ss.picture_group[0].p_diff[0] == 4);
  CHECK(ss.picture_group[1].temporal_id == 1);
  CHECK(ss.picture_group[1].switching_up);
  CHECK(ss.picture_group[1].p_diff[0] == 1);
  CHECK(p->payload.size() == 1);
  CHECK(p->payload[0] == 0x9A);
  std::vector<uint8_t> out(pkt.size() - 1);
  REQUIRE(p->descriptor.write(out) == out.size());
  CHECK(std::equal(out.begin(), out.end(), pkt.begin()));
}

TEST_CASE("payload: vp9 depacketizer rejects truncated descriptors") {
  CHECK(vp9_error_of({}) == "vp9: empty payload");
  CHECK(vp9_error_of(std::array<uint8_t, 1>{0x80}) == "vp9: truncated picture id");
  CHECK(vp9_error_of(std::array<uint8_t, 2>{0x80, 0x80}) == "vp9: truncated picture id");
  CHECK(vp9_error_of(std::array<uint8_t, 1>{0x20}) == "vp9: truncated layer indices");
  CHECK(vp9_error_of(std::array<uint8_t, 2>{0x20, 0x00}) == "vp9: truncated tl0picidx");
  CHECK(vp9_error_of(std::array<uint8_t, 1>{0x50}) == "vp9: truncated p_diff");
  CHECK(vp9_error_of(std::array<uint8_t, 2>{0x50, 0x03}) == "vp9: truncated p_diff");
  CHECK(vp9_error_of(std::array<uint8_t, 1>{0x02}) == "vp9: truncated scalability structure");
  // SS claiming resolutions for 8 layers with only a few bytes behind it.
  CHECK(vp9_error_of(std::array<uint8_t, 6>{0x02, 0xF0, 1, 2, 3, 4}) == "vp9: truncated scalability structure");
  // SS with N_G=200 but only two bytes left.
  CHECK(vp9_error_of(std::array<uint8_t, 5>{0x02, 0x08, 200, 0, 0}) == "vp9: truncated scalability structure");
  // SS whose last GOF entry's P_DIFF is cut.
  CHECK(vp9_error_of(std::array<uint8_t, 4>{0x02, 0x08, 1, 0x08}) == "vp9: truncated scalability structure");
  CHECK(vp9_error_of(std::array<uint8_t, 1>{0x08}) == "vp9: no data after descriptor");
}

TEST_CASE("payload: vp9 descriptor validation") {
  Vp9Descriptor d;
  d.flexible_mode = true;
  d.inter_picture_predicted = true;
  CHECK_FALSE(d.validate().ok());  // flexible + P needs a P_DIFF
  d.num_p_diffs = 1;
  d.p_diff[0] = 0;
  CHECK_FALSE(d.validate().ok());
  d.p_diff[0] = 128;
  CHECK_FALSE(d.validate().ok());
  d.p_diff[0] = 1;
  CHECK(d.validate().ok());
  d.flexible_mode = false;
  CHECK_FALSE(d.validate().ok());  // P_DIFF outside flexible mode
  // Fresh descriptors rather than `d = {}`: GCC 12 at -O3 warns (falsely) about the optional SS.
  Vp9Descriptor bad_layer;
  bad_layer.layer = Vp9LayerIndices{8, false, 0, false};
  CHECK_FALSE(bad_layer.validate().ok());
  Vp9Descriptor bad_ss;
  bad_ss.ss.emplace();
  bad_ss.ss->num_spatial_layers = 9;
  CHECK_FALSE(bad_ss.validate().ok());
  bad_ss.ss->num_spatial_layers = 1;
  bad_ss.ss->picture_group.resize(1);
  CHECK_FALSE(bad_ss.validate().ok());  // entries without G
  Vp9Packetizer p;
  const std::vector<uint8_t> frame(10, 1);
  CHECK_FALSE(p.plan(frame, Vp9FrameInfo{bad_ss, true}, PayloadLimits{}).ok());
  CHECK_FALSE(p.plan({}, Vp9FrameInfo{}, PayloadLimits{}).ok());
  CHECK_FALSE(p.plan(frame, Vp9FrameInfo{}, PayloadLimits{.max_payload_size = 1}).ok());
  CHECK(p.num_packets() == 0);
}

TEST_CASE("payload: vp9 round trip puts SS in the first packet only") {
  Random rng(0x9a);
  Vp9Packetizer packetizer;
  std::vector<uint8_t> frame(5000);
  for (auto& b : frame) b = static_cast<uint8_t>(rng.next_u32());
  Vp9FrameInfo info;
  info.descriptor.picture_id = 1234;
  info.descriptor.layer = Vp9LayerIndices{0, false, 0, false};
  info.descriptor.tl0_pic_idx = 9;
  info.descriptor.ss = Vp9ScalabilityStructure{};
  info.descriptor.ss->num_spatial_layers = 3;
  info.descriptor.ss->has_resolutions = true;
  info.descriptor.ss->width = {320, 640, 1280};
  info.descriptor.ss->height = {180, 360, 720};
  info.end_of_picture = false;
  REQUIRE(packetizer.plan(frame, info, PayloadLimits{.max_payload_size = 1200}).ok());
  const size_t n = packetizer.num_packets();
  REQUIRE(n == 5);
  std::vector<std::vector<uint8_t>> packets(n);
  for (size_t i = 0; i < n; ++i) {
    packets[i].resize(packetizer.packet_size(i));
    REQUIRE(packetizer.write(i, packets[i]).ok());
    CHECK(packets[i].size() <= 1200);
    CHECK_FALSE(packetizer.marker(i));  // not the end of the picture
    auto parsed = Vp9Depacketizer::parse(packets[i]);
    REQUIRE(parsed.ok());
    CHECK(parsed->descriptor.ss.has_value() == (i == 0));
    if (i == 0) CHECK(*parsed->descriptor.ss == *info.descriptor.ss);
    CHECK(parsed->descriptor.start_of_frame == (i == 0));
    CHECK(parsed->descriptor.end_of_frame == (i + 1 == n));
    CHECK(parsed->is_keyframe);
    CHECK(parsed->descriptor.picture_id == uint16_t{1234});
    CHECK(parsed->descriptor.tl0_pic_idx == 9);
  }
  // Occupancy (SS counts against the first packet) is balanced within one byte.
  CHECK(packets[0].size() >= packets[1].size() - 1);
  CHECK(packets[0].size() <= packets[1].size() + 1);
  std::vector<std::span<const uint8_t>> parts(packets.begin(), packets.end());
  auto joined = assemble_frame<Vp9Depacketizer>(parts);
  REQUIRE(joined.ok());
  CHECK(*joined == frame);
  info.end_of_picture = true;
  REQUIRE(packetizer.plan(frame, info, PayloadLimits{.max_payload_size = 1200}).ok());
  CHECK(packetizer.marker(n - 1));
  CHECK_FALSE(packetizer.marker(0));
}

TEST_CASE("payload: vp9 property: random descriptors, frames and limits") {
  Random rng(0x9a1);
  for (int iter = 0; iter < 4000; ++iter) {
    const Vp9Descriptor d = random_descriptor(rng);
    REQUIRE(d.validate().ok());
    std::vector<uint8_t> buf(d.size() + 1);
    REQUIRE(d.write(buf) == d.size());
    buf.back() = 0x42;
    auto parsed = Vp9Depacketizer::parse(buf);
    REQUIRE(parsed.ok());
    CHECK(parsed->descriptor == d);
    for (size_t cut = 0; cut < buf.size(); ++cut)
      CHECK_FALSE(Vp9Depacketizer::parse(std::span<const uint8_t>(buf.data(), cut)).ok());
  }
  Vp9Packetizer packetizer;
  for (int iter = 0; iter < 300; ++iter) {
    INFO("seed 0x9a1 iter " << iter);
    Vp9FrameInfo info{random_descriptor(rng), rng.bernoulli(0.5)};
    std::vector<uint8_t> frame(static_cast<size_t>(rng.uniform_int(1, 12000)));
    for (auto& b : frame) b = static_cast<uint8_t>(rng.next_u32());
    const size_t ss_size = info.descriptor.ss ? info.descriptor.ss->size() : 0;
    PayloadLimits l{.max_payload_size = static_cast<size_t>(rng.uniform_int(20, 1400)) + ss_size};
    REQUIRE(packetizer.plan(frame, info, l).ok());
    const size_t n = packetizer.num_packets();
    std::vector<std::vector<uint8_t>> packets(n);
    size_t smallest = SIZE_MAX, largest = 0;
    for (size_t i = 0; i < n; ++i) {
      packets[i].resize(packetizer.packet_size(i));
      REQUIRE(packetizer.write(i, packets[i]).ok());
      CHECK(packets[i].size() <= l.max_payload_size);
      CHECK(packetizer.marker(i) == (info.end_of_picture && i + 1 == n));
      smallest = std::min(smallest, packets[i].size());
      largest = std::max(largest, packets[i].size());
      auto parsed = Vp9Depacketizer::parse(packets[i]);
      REQUIRE(parsed.ok());
      CHECK(parsed->descriptor.start_of_frame == (i == 0));
      CHECK(parsed->descriptor.end_of_frame == (i + 1 == n));
      CHECK(parsed->descriptor.picture_id == info.descriptor.picture_id);
      CHECK(parsed->descriptor.layer == info.descriptor.layer);
    }
    CHECK(largest - smallest <= 1);
    std::vector<uint8_t> joined;
    for (const auto& pkt : packets) {
      auto parsed = Vp9Depacketizer::parse(pkt);
      joined.insert(joined.end(), parsed->payload.begin(), parsed->payload.end());
    }
    CHECK(joined == frame);
  }
  for (int iter = 0; iter < 5000; ++iter) {
    std::vector<uint8_t> junk(static_cast<size_t>(rng.uniform_int(0, 40)));
    for (auto& b : junk) b = static_cast<uint8_t>(rng.next_u32());
    auto parsed = Vp9Depacketizer::parse(junk);
    if (parsed.ok()) CHECK(parsed->payload.data() + parsed->payload.size() == junk.data() + junk.size());
  }
}
