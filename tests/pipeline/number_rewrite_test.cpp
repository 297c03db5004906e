// Payload type and header extension id rewriting per leg (issue 17): a subscriber whose numbers
// differ from the publisher's (VP8 120, RTX 121, Opus 109, transport-cc 5, abs-send-time 6, mid 1
// against 96/97/111 and 3/2/4) gets packets in its own numbers, so it decodes; with the rewriting
// off it gets the publisher's and decodes nothing. And the rewrite itself, packet by packet:
// extensions the subscriber did not negotiate are dropped, RTX answers carry its RTX type.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "call_fixture.h"
#include "doctest/doctest.h"
#include "tern/pipeline/media_router.h"
#include "tern/pipeline/media_server.h"
#include "tern/rtp/rtcp/rtcp_packet.h"
#include "tern/rtp/rtp_packet_builder.h"
#include "tern/rtp/rtp_rtcp_split.h"

namespace tern::pipeline {
namespace {

constexpr uint8_t kRwVp8 = 120, kRwRtx = 121, kRwOpus = 109;
constexpr uint8_t kRwTcc = 5, kRwAbs = 6, kRwMid = 1;

MediaRouter::ExtensionUris RewriteUris(const ExtensionIds& ids) {
  return {{ids.abs_send_time, std::string(rtp::AbsSendTime::kUri)},
          {ids.transport_sequence_number, std::string(rtp::TransportSequenceNumber::kUri)},
          {ids.mid, std::string(rtp::Mid::kUri)}};
}

struct RewriteCallResult {
  size_t frames = 0;
  int64_t audio_normal = 0;
  std::optional<DataRate> estimate;
  uint64_t feedback_from_subscriber = 0;  // transport-cc: sent only for packets at its id
  std::set<uint8_t> payload_types;        // of the RTP the subscriber got
};

// Between the router and the subscriber's link: notes what the subscriber is sent.
struct RewriteTap final : DatagramSink {
  DatagramSink* next = nullptr;
  std::set<uint8_t> payload_types;
  void on_datagram(std::vector<uint8_t> d, Timestamp now) override {
    if (!rtp::is_rtcp(d)) {
      if (auto p = rtp::RtpPacket::parse(std::span<const uint8_t>(d))) payload_types.insert(p->payload_type());
    }
    next->on_datagram(std::move(d), now);
  }
};

RewriteCallResult RunRewriteCall(bool rewrite) {
  netsim::EventLoop loop;
  std::array<testing::ServerHop, 2> hops;  // 0 the publisher, 1 the subscriber
  testing::RenderLog render;
  testing::PlayoutLog playout;

  EndpointConfig pub = testing::small_call_config();
  pub.receive.video.reset();
  pub.receive.audio.reset();
  pub.measure_quality = false;
  EndpointConfig sub = pub.mirrored();
  sub.measure_quality = false;
  sub.payload_types.vp8 = kRwVp8;
  sub.payload_types.video_rtx = kRwRtx;
  sub.payload_types.opus = kRwOpus;
  sub.payload_types.flexfec = 35;
  sub.extension_ids.transport_sequence_number = kRwTcc;
  sub.extension_ids.abs_send_time = kRwAbs;
  sub.extension_ids.mid = kRwMid;

  for (size_t i = 0; i < 2; ++i) {
    netsim::NetworkConfig nc = netsim::NetworkConfig::Direct(testing::link(DataRate::MegabitsPerSec(10), TimeDelta::Millis(20)),
                                                             testing::link(DataRate::MegabitsPerSec(10), TimeDelta::Millis(20)));
    nc.seed = 90 + i;
    EndpointConfig c = i == 0 ? pub : sub;
    c.seed = 300 + i;
    hops[i].make(loop, nc, c);
  }
  hops[1].endpoint->set_video_render_listener(&render);
  hops[1].endpoint->set_audio_playout_listener(&playout);

  MediaServer::Config sc = MediaServer::Config::ForCall(pub);
  for (MediaRouter::ForwardedStream& f : sc.from_a) {
    if (!f.codec) f.media_payload_type = pub.payload_types.opus;  // ForCall leaves audio's unset
  }
  MediaRouter::Config rc;
  rc.extension_ids = sc.extension_ids;
  rc.ntp_clock = sc.ntp_clock;
  rc.rewrite_numbers = rewrite;
  auto r = MediaRouter::Create(rc);
  REQUIRE(r.ok());
  std::unique_ptr<MediaRouter> router = std::move(r).value();
  auto pub_leg = router->add_leg(0x7000'0001, &hops[0].to_server, sc.from_a, RewriteUris(pub.extension_ids));
  RewriteTap tap;
  tap.next = &hops[1].to_server;
  auto sub_leg = router->add_leg(0x7000'0002, &tap, {}, RewriteUris(sub.extension_ids));
  REQUIRE(pub_leg.ok());
  REQUIRE(sub_leg.ok());
  for (MediaRouter::ForwardedStream f : sc.from_a) {
    // The subscriber's numbers for the same streams (what its SDP answer would carry).
    if (f.codec) {
      f.media_payload_type = kRwVp8;
      f.rtx_payload_type = kRwRtx;
    } else {
      f.media_payload_type = kRwOpus;
    }
    REQUIRE(router->add_outbound(*sub_leg, f).ok());
  }
  testing::RouterLegPort pub_port{*router, *pub_leg}, sub_port{*router, *sub_leg};
  netsim::PollableAdapter<testing::RouterLegPort> pub_driver(pub_port), sub_driver(sub_port);
  hops[0].network->set_sink_b(&pub_driver);
  hops[1].network->set_sink_b(&sub_driver);
  loop.add_pollable(&pub_driver);

  Status st = loop.run_for(TimeDelta::Seconds(4));
  REQUIRE_MESSAGE(st.ok(), std::string(st.error()));
  RewriteCallResult out;
  out.frames = render.frames.size();
  out.audio_normal = playout.normal;
  out.estimate = router->counters(*sub_leg).estimate;
  out.feedback_from_subscriber = router->counters(*sub_leg).transport_feedback_received;
  out.payload_types = tap.payload_types;
  return out;
}

TEST_CASE("media router: a subscriber with its own payload types and extension ids decodes") {
  const RewriteCallResult on = RunRewriteCall(true);
  CHECK(on.frames > 80);  // ~30 fps over 4 s, less the start
  CHECK(on.audio_normal > 100);
  // Only its own payload types (RTX, if any, on its RTX type) ...
  CHECK(on.payload_types.count(kRwOpus) == 1);
  CHECK(on.payload_types.count(kRwVp8) == 1);
  for (uint8_t pt : on.payload_types) CHECK((pt == kRwOpus || pt == kRwVp8 || pt == kRwRtx));
  // ... and its transport-cc (stamped at its id 5) comes back: the leg's estimate is its own.
  CHECK(on.feedback_from_subscriber > 20);
  REQUIRE(on.estimate.has_value());

  // The publisher's numbers: payload types the subscriber never negotiated (a browser drops
  // them; tern's Endpoint decodes by SSRC, so frames are no measure here) and the transport-wide
  // sequence number at an id it does not read: no feedback, no estimate toward it.
  const RewriteCallResult off = RunRewriteCall(false);
  CHECK(off.payload_types.count(kRwVp8) == 0);
  CHECK(off.payload_types.count(kRwOpus) == 0);
  CHECK(off.payload_types.count(96) == 1);
  CHECK(off.feedback_from_subscriber == 0);
}

struct RewriteCapture final : DatagramSink {
  std::vector<std::vector<uint8_t>> datagrams;
  void on_datagram(std::vector<uint8_t> d, Timestamp) override { datagrams.push_back(std::move(d)); }
};

TEST_CASE("media router: rewriting drops extensions the subscriber did not negotiate, RTX takes its type") {
  constexpr uint32_t kRwSsrc = 0x3333, kRwRtxSsrc = 0x4444;
  MediaRouter::Config rc;
  rc.subscriber_estimates = false;
  auto router = MediaRouter::Create(rc);
  REQUIRE(router.ok());
  MediaRouter& r = **router;
  RewriteCapture to_pub, to_sub;
  MediaRouter::ForwardedStream f;
  f.ssrc = kRwSsrc;
  f.rtx_ssrc = kRwRtxSsrc;
  f.media_payload_type = 96;
  f.rtx_payload_type = 97;
  const MediaRouter::ExtensionUris pub_uris = {{1, std::string(rtp::AudioLevel::kUri)},
                                               {2, std::string(rtp::AbsSendTime::kUri)},
                                               {3, std::string(rtp::TransportSequenceNumber::kUri)}};
  const MediaRouter::ExtensionUris sub_uris = {{kRwTcc, std::string(rtp::TransportSequenceNumber::kUri)},
                                               {kRwAbs, std::string(rtp::AbsSendTime::kUri)}};
  auto pub = r.add_leg(0x61, &to_pub, {f}, pub_uris);
  auto sub = r.add_leg(0x62, &to_sub, {}, sub_uris);
  REQUIRE(pub.ok());
  REQUIRE(sub.ok());
  MediaRouter::ForwardedStream g = f;
  g.media_payload_type = kRwVp8;
  g.rtx_payload_type = kRwRtx;
  REQUIRE(r.add_outbound(*sub, g).ok());
  CHECK_FALSE(r.add_leg(0x63, &to_sub, {}, MediaRouter::ExtensionUris{{0, "urn:x"}}).ok());

  rtp::ExtensionMap pub_map;
  REQUIRE(pub_map.register_uri(1, rtp::AudioLevel::kUri));
  REQUIRE(pub_map.register_uri(2, rtp::AbsSendTime::kUri));
  REQUIRE(pub_map.register_uri(3, rtp::TransportSequenceNumber::kUri));
  Timestamp now = Timestamp::Seconds(1);
  const std::vector<uint8_t> payload(300, 0xAB);
  for (uint16_t i = 0; i < 10; ++i, now += TimeDelta::Millis(10)) {
    rtp::RtpPacketBuilder b;
    b.set_sequence_number(static_cast<uint16_t>(100 + i)).set_timestamp(3000u * i).set_ssrc(kRwSsrc).set_payload_type(96);
    b.set<rtp::AudioLevel>(pub_map, rtp::AudioLevel::value_type{true, 30});
    b.set<rtp::AbsSendTime>(pub_map, 0);
    b.set<rtp::TransportSequenceNumber>(pub_map, i);
    b.set_payload(payload);
    const rtp::RtpPacket p = b.build().value();
    r.on_packet(*pub, p.data(), now);
    r.process(now);
  }
  rtp::ExtensionMap sub_map;
  REQUIRE(sub_map.register_uri(kRwTcc, rtp::TransportSequenceNumber::kUri));
  REQUIRE(sub_map.register_uri(kRwAbs, rtp::AbsSendTime::kUri));
  std::vector<uint16_t> seqs;
  std::optional<uint16_t> last_tcc;
  for (const auto& d : to_sub.datagrams) {
    if (rtp::is_rtcp(d)) continue;
    auto p = rtp::RtpPacket::parse(std::span<const uint8_t>(d));
    REQUIRE(p.ok());
    CHECK(p->ssrc() == kRwSsrc);
    CHECK(p->payload_type() == kRwVp8);
    CHECK_FALSE(p->extension(1).has_value());  // audio level: not negotiated by the subscriber
    CHECK_FALSE(p->extension(2).has_value());
    CHECK_FALSE(p->extension(3).has_value());
    const auto tcc = p->get<rtp::TransportSequenceNumber>(sub_map);
    REQUIRE(tcc.has_value());  // stamped by the server at the subscriber's id
    if (last_tcc) CHECK(*tcc == static_cast<uint16_t>(*last_tcc + 1));
    last_tcc = tcc;
    CHECK(p->get<rtp::AbsSendTime>(sub_map).has_value());
    CHECK(std::vector<uint8_t>(p->payload().begin(), p->payload().end()) == payload);
    seqs.push_back(p->sequence_number());
  }
  REQUIRE(seqs.size() == 10);

  // A NACK from the subscriber: answered on the RTX SSRC with its RTX payload type.
  to_sub.datagrams.clear();
  rtcp::Nack nack;
  nack.sender_ssrc = 0x99;
  nack.media_ssrc = kRwSsrc;
  nack.lost = {seqs[3]};
  r.on_packet(*sub, rtcp::build_compound(std::vector<rtcp::RtcpPacket>{rtcp::ReceiverReport{0x99, {}, {}}, nack}), now);
  r.process(now);
  size_t rtx = 0;
  for (const auto& d : to_sub.datagrams) {
    if (rtp::is_rtcp(d)) continue;
    auto p = rtp::RtpPacket::parse(std::span<const uint8_t>(d));
    REQUIRE(p.ok());
    if (p->ssrc() != kRwRtxSsrc || p->payload_size() == 0) continue;
    ++rtx;
    CHECK(p->payload_type() == kRwRtx);
    CHECK_FALSE(p->extension(1).has_value());
    REQUIRE(p->payload().size() >= 2);
    CHECK(((p->payload()[0] << 8) | p->payload()[1]) == seqs[3]);  // RFC 4588 OSN
  }
  CHECK(rtx == 1);
}

}  // namespace
}  // namespace tern::pipeline
