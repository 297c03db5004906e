// Helpers for the video jitter buffer tests: synthetic VP8/VP9 frames packetized with the real
// rtp/payload packetizers into owned RTP packets, and a decodability checker for released frames.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <set>
#include <vector>

#include "tern/jitterbuffer/video/encoded_video_frame.h"
#include "tern/rtp/payload/vp8_payload.h"
#include "tern/rtp/payload/vp9_payload.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/rtp/rtp_packet_builder.h"

namespace tern::jitterbuffer::test {

struct Vp8FrameSpec {
  uint16_t first_seq = 0;
  uint32_t timestamp = 0;
  std::optional<uint16_t> picture_id = std::nullopt;
  std::optional<uint8_t> tl0_pic_idx = std::nullopt;
  std::optional<uint8_t> temporal_id = std::nullopt;
  bool layer_sync = false;
  bool keyframe = false;
  size_t size = 3000;
  size_t mtu = 1200;
  uint8_t fill = 0;  // payload byte pattern seed
  bool picture_id_15bit = true;  // false: a 7-bit PictureID while it is below 128 (as pion sends)
};

// The codec bytes of a synthetic frame: RFC 6386 frame tag P bit (byte 0 bit 0) 0 for keyframes.
inline std::vector<uint8_t> synthetic_vp8_frame(size_t size, bool keyframe, uint8_t fill) {
  std::vector<uint8_t> f(std::max<size_t>(size, 1));
  for (size_t i = 0; i < f.size(); ++i) f[i] = static_cast<uint8_t>(fill + i * 7);
  f[0] = keyframe ? 0x10 : 0x11;
  return f;
}

inline rtp::RtpPacket build_packet(uint16_t seq, uint32_t ts, bool marker, std::span<const uint8_t> payload) {
  rtp::RtpPacketBuilder b;
  b.set_sequence_number(seq).set_timestamp(ts).set_marker(marker).set_payload_type(96).set_ssrc(0x1234);
  b.set_payload(payload);
  auto p = b.build();
  REQUIRE(p.ok());
  return std::move(*p);
}

inline std::vector<rtp::RtpPacket> vp8_frame_packets(const Vp8FrameSpec& spec, std::vector<uint8_t>* frame_out = nullptr) {
  const std::vector<uint8_t> frame = synthetic_vp8_frame(spec.size, spec.keyframe, spec.fill);
  rtp::Vp8Descriptor info;
  info.picture_id = spec.picture_id;
  info.picture_id_15bit = spec.picture_id_15bit || spec.picture_id.value_or(0) > 0x7F;
  info.tl0_pic_idx = spec.tl0_pic_idx;
  info.temporal_id = spec.temporal_id;
  info.layer_sync = spec.layer_sync;
  rtp::Vp8Packetizer packetizer(rtp::Vp8PacketizerConfig{
      .picture_id_mode = spec.picture_id ? rtp::Vp8PictureIdMode::k15Bit : rtp::Vp8PictureIdMode::kNone});
  REQUIRE(packetizer.plan(frame, info, rtp::PayloadLimits{.max_payload_size = spec.mtu}).ok());
  std::vector<rtp::RtpPacket> out;
  std::vector<uint8_t> buf(spec.mtu + 16);
  for (size_t i = 0; i < packetizer.num_packets(); ++i) {
    auto n = packetizer.write(i, buf);
    REQUIRE(n.ok());
    out.push_back(build_packet(static_cast<uint16_t>(spec.first_seq + i), spec.timestamp, packetizer.marker(i),
                               std::span<const uint8_t>(buf.data(), *n)));
  }
  if (frame_out != nullptr) *frame_out = frame;
  return out;
}

struct Vp9FrameSpec {
  uint16_t first_seq = 0;
  uint32_t timestamp = 0;
  uint16_t picture_id = 0;
  bool keyframe = false;
  std::vector<uint8_t> p_diffs = {};  // flexible mode references
  size_t size = 2000;
  size_t mtu = 1200;
};

// One single-spatial-layer VP9 picture in flexible mode.
inline std::vector<rtp::RtpPacket> vp9_frame_packets(const Vp9FrameSpec& spec) {
  std::vector<uint8_t> frame = synthetic_vp8_frame(spec.size, spec.keyframe, 3);
  rtp::Vp9FrameInfo info;
  info.descriptor.flexible_mode = true;
  info.descriptor.picture_id = spec.picture_id;
  info.descriptor.inter_picture_predicted = !spec.keyframe;
  info.descriptor.layer = rtp::Vp9LayerIndices{};
  info.descriptor.num_p_diffs = static_cast<uint8_t>(spec.p_diffs.size());
  for (size_t i = 0; i < spec.p_diffs.size() && i < 3; ++i) info.descriptor.p_diff[i] = spec.p_diffs[i];
  rtp::Vp9Packetizer packetizer;
  REQUIRE(packetizer.plan(frame, info, rtp::PayloadLimits{.max_payload_size = spec.mtu}).ok());
  std::vector<rtp::RtpPacket> out;
  std::vector<uint8_t> buf(spec.mtu + 64);
  for (size_t i = 0; i < packetizer.num_packets(); ++i) {
    auto n = packetizer.write(i, buf);
    REQUIRE(n.ok());
    out.push_back(build_packet(static_cast<uint16_t>(spec.first_seq + i), spec.timestamp, packetizer.marker(i),
                               std::span<const uint8_t>(buf.data(), *n)));
  }
  return out;
}

// Checks the jitter buffer's promise on every released frame: a keyframe first, every reference
// released before (since the last keyframe), ids strictly increasing.
class DecodabilityChecker {
 public:
  void on_frame(const EncodedVideoFrame& f) {
    if (last_id_) CHECK(f.id > *last_id_);
    if (f.keyframe) {
      released_.clear();
    } else {
      CHECK(last_id_.has_value());
      CHECK_FALSE(f.references.empty());
      for (int64_t r : f.references) CHECK(released_.count(r) == 1);
    }
    released_.insert(f.id);
    last_id_ = f.id;
    ++count_;
  }
  size_t count() const { return count_; }

 private:
  std::set<int64_t> released_;
  std::optional<int64_t> last_id_;
  size_t count_ = 0;
};

}  // namespace tern::jitterbuffer::test
