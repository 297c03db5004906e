// Tests of the Opus payload format (RFC 7587) and its TOC parsing (RFC 6716 section 3.1).
#include "tern/rtp/payload/opus_payload.h"

#include <doctest/doctest.h>

#include <array>
#include <vector>

#include "tern/core/random.h"
#include "tern/rtp/payload/frame_assembler.h"

using namespace tern;
using namespace tern::rtp;

TEST_CASE("payload: opus packetizer sends one packet with the talkspurt marker") {
  const std::vector<uint8_t> frame{0x78, 1, 2, 3, 4};
  OpusPacketizer p;
  REQUIRE(p.plan(frame, OpusFrameInfo{.start_of_talkspurt = true}, PayloadLimits{}).ok());
  REQUIRE(p.num_packets() == 1);
  CHECK(p.marker(0));
  CHECK(p.packet_size(0) == frame.size());
  std::array<uint8_t, 16> out{};
  auto n = p.write(0, out);
  REQUIRE(n.ok());
  CHECK(std::vector<uint8_t>(out.begin(), out.begin() + static_cast<long>(*n)) == frame);
  CHECK_FALSE(p.write(1, out).ok());
  CHECK_FALSE(p.write(0, std::span<uint8_t>(out.data(), 2)).ok());
  REQUIRE(p.plan(frame, OpusFrameInfo{}, PayloadLimits{}).ok());
  CHECK_FALSE(p.marker(0));
}

TEST_CASE("payload: opus packetizer refuses empty and oversized frames") {
  OpusPacketizer p;
  CHECK_FALSE(p.plan({}, {}, PayloadLimits{}).ok());
  const std::vector<uint8_t> frame(101, 0x78);
  CHECK_FALSE(p.plan(frame, {}, PayloadLimits{.max_payload_size = 100}).ok());
  CHECK(p.num_packets() == 0);
  CHECK_FALSE(p.plan(frame, {}, PayloadLimits{.max_payload_size = 110, .single_packet_reduction = 10}).ok());
  CHECK(p.plan(frame, {}, PayloadLimits{.max_payload_size = 111, .single_packet_reduction = 10}).ok());
}

TEST_CASE("payload: opus depacketizer reads the TOC byte") {
  // config 15 (hybrid FB 20 ms), stereo, code 0.
  const std::array<uint8_t, 3> hybrid{(15 << 3) | 0x04 | 0, 0xAA, 0xBB};
  auto a = OpusDepacketizer::parse(hybrid);
  REQUIRE(a.ok());
  CHECK(a->config == 15);
  CHECK(a->stereo);
  CHECK(a->frame_count == 1);
  CHECK(a->duration == TimeDelta::Millis(20));
  CHECK(a->payload.data() == hybrid.data());
  CHECK(a->payload.size() == 3);
  // config 16 (CELT NB 2.5 ms), code 1: two frames, 5 ms.
  const std::array<uint8_t, 1> celt{(16 << 3) | 1};
  auto b = OpusDepacketizer::parse(celt);
  REQUIRE(b.ok());
  CHECK(b->frame_count == 2);
  CHECK(b->duration == TimeDelta::Micros(5000));
  // config 3 (SILK NB 60 ms), code 3 with two frames = 120 ms: allowed; three are not.
  const std::array<uint8_t, 2> two{(3 << 3) | 3, 2};
  CHECK(OpusDepacketizer::parse(two).ok());
  const std::array<uint8_t, 2> three{(3 << 3) | 3, 3};
  CHECK(std::string(OpusDepacketizer::parse(three).error()) == "opus: longer than 120 ms");
  // config 31 (CELT FB 20 ms), code 3 with 6 frames, VBR and padding flags set.
  const std::array<uint8_t, 2> six{(31 << 3) | 3, 0xC0 | 6};
  auto c = OpusDepacketizer::parse(six);
  REQUIRE(c.ok());
  CHECK(c->frame_count == 6);
  CHECK(c->duration == TimeDelta::Millis(120));
}

TEST_CASE("payload: opus depacketizer rejects malformed framing") {
  CHECK(std::string(OpusDepacketizer::parse({}).error()) == "opus: empty payload");
  const std::array<uint8_t, 1> code3{(1 << 3) | 3};
  CHECK(std::string(OpusDepacketizer::parse(code3).error()) == "opus: code 3 without frame count");
  const std::array<uint8_t, 2> zero{(1 << 3) | 3, 0x80};
  CHECK(std::string(OpusDepacketizer::parse(zero).error()) == "opus: zero frames");
}

TEST_CASE("payload: opus frame durations cover every config") {
  CHECK(OpusDepacketizer::frame_duration(0) == TimeDelta::Millis(10));
  CHECK(OpusDepacketizer::frame_duration(11) == TimeDelta::Millis(60));
  CHECK(OpusDepacketizer::frame_duration(12) == TimeDelta::Millis(10));
  CHECK(OpusDepacketizer::frame_duration(13) == TimeDelta::Millis(20));
  CHECK(OpusDepacketizer::frame_duration(28) == TimeDelta::Micros(2500));
  CHECK(OpusDepacketizer::frame_duration(31) == TimeDelta::Millis(20));
}

TEST_CASE("payload: opus property: round trip and garbage never crashes") {
  Random rng(0x0b05);
  OpusPacketizer p;
  std::vector<uint8_t> out(1500);
  for (int iter = 0; iter < 2000; ++iter) {
    std::vector<uint8_t> frame(static_cast<size_t>(rng.uniform_int(0, 1200)));
    for (auto& b : frame) b = static_cast<uint8_t>(rng.next_u32());
    const bool marker = rng.bernoulli(0.2);
    Status s = p.plan(frame, OpusFrameInfo{marker}, PayloadLimits{});
    if (frame.empty()) {
      CHECK_FALSE(s.ok());
      continue;
    }
    REQUIRE(s.ok());
    CHECK(p.marker(0) == marker);
    auto n = p.write(0, out);
    REQUIRE(n.ok());
    auto parsed = OpusDepacketizer::parse(std::span<const uint8_t>(out.data(), *n));
    if (parsed.ok()) {
      CHECK(parsed->payload.size() == frame.size());
      CHECK(parsed->duration > TimeDelta::Zero());
      CHECK(parsed->duration <= TimeDelta::Millis(120));
      const std::array<std::span<const uint8_t>, 1> parts{parsed->payload};
      auto joined = assemble_frame<OpusDepacketizer>(parts);
      REQUIRE(joined.ok());
      CHECK(*joined == frame);
    }
  }
}
