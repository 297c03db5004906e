// MediaRouter's per-stream receiver lists (forward() visits each receiving leg's cached Outbound,
// no lookup per packet): the cache follows a leg's outbound streams as they are added one by one
// (their vector moves them), as one is refused after it was placed, and as another leg leaves.
// Each forwarded packet must carry its own stream's payload type on the leg that receives it.
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "doctest/doctest.h"
#include "tern/pipeline/media_router.h"
#include "tern/rtp/rtp_packet_builder.h"
#include "tern/rtp/rtp_rtcp_split.h"

namespace tern::pipeline {
namespace {

struct PayloadTypes final : DatagramSink {
  std::map<uint32_t, std::vector<uint8_t>> by_ssrc;  // payload types received per SSRC, in order
  void on_datagram(std::vector<uint8_t> d, Timestamp) override {
    if (rtp::is_rtcp(d)) return;
    auto p = rtp::RtpPacket::parse(std::span<const uint8_t>(d));
    if (p.ok() && p->payload_size() > 0) by_ssrc[p->ssrc()].push_back(p->payload_type());
  }
};

TEST_CASE("media router: each leg's packets carry their own stream's numbers as its streams are added, refused and removed") {
  constexpr int kPublishers = 12;
  MediaRouter::Config rc;
  rc.subscriber_estimates = false;
  auto router = MediaRouter::Create(rc);
  REQUIRE(router.ok());
  MediaRouter& r = **router;
  std::vector<PayloadTypes> to_pub(kPublishers);
  PayloadTypes to_a, to_b;
  auto stream = [](int p) {
    MediaRouter::ForwardedStream f;
    f.ssrc = 0x1000u + static_cast<uint32_t>(p) * 2;
    f.rtx_ssrc = f.ssrc + 1;
    return f;
  };
  std::vector<MediaRouter::LegId> pubs;
  for (int p = 0; p < kPublishers; ++p) {
    auto leg = r.add_leg(0x100u + static_cast<uint32_t>(p), &to_pub[static_cast<size_t>(p)], {stream(p)});
    REQUIRE(leg.ok());
    pubs.push_back(*leg);
  }
  auto a = r.add_leg(0x200, &to_a, {});
  auto b = r.add_leg(0x201, &to_b, {});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  Timestamp now = Timestamp::Seconds(1);
  uint16_t seq = 1;
  std::vector<uint8_t> payload(200, 0x10);
  auto send_all = [&](int publishers) {
    for (int p = 0; p < publishers; ++p) {
      rtp::RtpPacketBuilder pb;
      pb.set_sequence_number(seq).set_timestamp(90u * seq).set_ssrc(stream(p).ssrc).set_payload_type(96);
      pb.set_payload(payload);
      r.on_packet(pubs[static_cast<size_t>(p)], pb.build().value().data(), now);
    }
    ++seq;
    now += TimeDelta::Millis(5);
    r.process(now);
  };
  bool b_left = false;
  for (int p = 0; p < kPublishers; ++p) {
    CAPTURE(p);
    MediaRouter::ForwardedStream fa = stream(p), fb = stream(p);
    fa.media_payload_type = static_cast<uint8_t>(100 + p);
    fb.media_payload_type = static_cast<uint8_t>(40 + p);
    REQUIRE(r.add_outbound(*a, fa).ok());
    if (p % 3 == 1) {  // placed, then refused by the leg's transport: taken back
      MediaRouter::ForwardedStream bad = stream(kPublishers + p);
      bad.clock_rate = 0;
      CHECK_FALSE(r.add_outbound(*a, bad).ok());
    }
    if (!b_left) REQUIRE(r.add_outbound(*b, fb).ok());
    if (p == 6) {
      r.remove_leg(*b);
      b_left = true;
    }
    send_all(p + 1);
  }
  // Leg a got every packet of every stream it receives, each with that stream's payload type.
  for (int p = 0; p < kPublishers; ++p) {
    CAPTURE(p);
    const std::vector<uint8_t>& got = to_a.by_ssrc[stream(p).ssrc];
    CHECK(got.size() == static_cast<size_t>(kPublishers - p));
    for (uint8_t pt : got) CHECK(pt == 100 + p);
  }
  // Leg b, until it left before the seventh round: its own payload types.
  for (int p = 0; p < kPublishers; ++p) {
    CAPTURE(p);
    const auto it = to_b.by_ssrc.find(stream(p).ssrc);
    if (p >= 6) {
      CHECK(it == to_b.by_ssrc.end());
      continue;
    }
    REQUIRE(it != to_b.by_ssrc.end());
    CHECK(it->second.size() == static_cast<size_t>(6 - p));
    for (uint8_t pt : it->second) CHECK(pt == 40 + p);
  }
}

}  // namespace
}  // namespace tern::pipeline
