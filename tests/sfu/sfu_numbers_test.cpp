// SfuServer with a subscriber whose offer numbers everything differently from the publisher's
// (VP8 120 with RTX 121, Opus 109, transport-cc at id 5, abs-send-time 6, mid 1; the publisher
// uses 96/97/111 and 3/2/4; Firefox's offers differ from Chromium's like this): it is accepted
// (before issue 17 it got 422), answered in its own numbers, and receives only those: its video
// decodes, its transport-cc comes back (so the server's estimate toward it is its own), and its
// NACKs are answered with RTX on its RTX payload type over a lossy downlink.
#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "tern/dtls/openssl_virtual_clock.h"
#include "tern/icesim/hosts.h"
#include "tern/netsim/event_loop.h"
#include "tern/netsim/internet.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/sfu/sfu_server.h"
#include "tern/webrtc/peer_connection.h"

#include "sfu/sfu_test_pc.h"

using namespace tern;
using webrtc::PeerConnection;

namespace {

using NumbersNode = sfu_test::SfuTestNode;

}  // namespace

TEST_CASE("sfu: a subscriber with its own payload types and extension ids is answered and sent in them") {
  netsim::EventLoop loop;
  dtls::ScopedOpenSslVirtualClock clock([&] { return loop.now(); });
  netsim::Internet net(31);
  auto add = [&](uint8_t last, double down_loss) {
    const IpAddress ip = IpAddress::V4(198, 51, 100, last);
    auto host = net.add_host(netsim::kPublicRealm, {ip},
                             {sfu_test::sim_link(TimeDelta::Millis(10), 0), sfu_test::sim_link(TimeDelta::Millis(10), down_loss)});
    REQUIRE(host.ok());
    auto bound = net.bind(*host, TransportAddress{ip, last == 100 ? uint16_t{3478} : uint16_t{40000}});
    REQUIRE(bound.ok());
    return std::make_pair(std::make_unique<NumbersNode>(net, *host, *bound), *bound);
  };
  // Named pieces, not structured bindings: lambdas below capture them (clang 14 refuses bindings).
  auto server_pair = add(100, 0);
  std::unique_ptr<NumbersNode>& server = server_pair.first;
  const TransportAddress server_bound = server_pair.second;
  sfu::SfuConfig config;
  config.address = icesim::to_ice(server_bound);
  auto created = sfu::SfuServer::Create(config);
  REQUIRE_MESSAGE(created.ok(), created.error());
  server->sfu = std::move(created).value();
  sfu::SfuServer& sfu = *server->sfu;

  auto pub_pair = add(1, 0);
  std::unique_ptr<NumbersNode>& pub = pub_pair.first;
  const TransportAddress pub_bound = pub_pair.second;
  pub->pc = sfu_test::make_sfu_test_pc(pub_bound, 0, true, {400, 0x4000'0000u, 11, false});
  auto sub_pair = add(2, 0.03);  // some loss toward the subscriber: its NACKs get RTX
  std::unique_ptr<NumbersNode>& sub = sub_pair.first;
  const TransportAddress sub_bound = sub_pair.second;
  // The subscriber's own numbers, and a tap on what it receives (plain RTP, after SRTP).
  static const auto cert = dtls::DtlsCertificate::Generate("sfu-numbers").value();
  webrtc::PeerConnectionConfig c;
  c.certificate = cert;
  c.sockets = {ice::LocalSocket{0, icesim::to_ice(sub_bound), {}}};
  c.data_channels = false;
  c.send_audio = false;
  c.send_video = false;
  c.vp9 = false;
  c.seed = 401;
  c.audio_ssrc = 0x4000'0011u;
  c.video_ssrc = 0x4000'0012u;
  c.video_rtx_ssrc = 0x4000'0013u;
  c.media.measure_quality = false;
  c.media.seed = 12;
  c.payload_types.vp8 = 120;
  c.payload_types.vp8_rtx = 121;
  c.payload_types.opus = 109;
  c.extension_ids.transport_cc = 5;
  c.extension_ids.abs_send_time = 6;
  c.extension_ids.mid = 1;
  std::set<uint8_t> received_pts;
  uint64_t rtx_with_payload = 0;
  c.on_received_rtp = [&](std::span<const uint8_t> rtp, Timestamp) {
    auto p = rtp::RtpPacket::parse(rtp);
    if (!p) return;
    received_pts.insert(p->payload_type());
    if (p->payload_type() == 121 && p->payload_size() > 2) ++rtx_with_payload;
  };
  auto created_pc = PeerConnection::Create(c);
  REQUIRE_MESSAGE(created_pc.ok(), created_pc.error());
  sub->pc = std::move(created_pc).value();

  loop.add_pollable(server.get());
  loop.add_pollable(pub.get());
  loop.add_pollable(sub.get());
  loop.add_pollable(&net);

  std::optional<sfu::SessionId> sub_id;
  std::string answer_sdp;
  auto join = [&](NumbersNode& n, bool publish, Timestamp at) {
    loop.post_at(at, [&, publish] {
      auto offer = n.pc->create_offer(loop.now());
      REQUIRE(offer.ok());
      REQUIRE(n.pc->set_local_description(*offer, loop.now()).ok());
      n.flush(loop.now());
      auto r = publish ? sfu.publish("numbers", offer->sdp, loop.now()) : sfu.subscribe("numbers", offer->sdp, loop.now());
      server->flush(loop.now());
      if (auto* refusal = std::get_if<sfu::SfuRefusal>(&r)) FAIL("refused: " << refusal->reason);
      const sfu::SfuAnswer answer = std::get<sfu::SfuAnswer>(r);
      if (!publish) {
        sub_id = answer.id;
        answer_sdp = answer.sdp;
      }
      Status st = n.pc->set_remote_description({webrtc::SdpType::kAnswer, answer.sdp}, loop.now());
      CHECK_MESSAGE(st.ok(), st.error());
      n.flush(loop.now());
    });
  };
  join(*pub, true, Timestamp::Zero());
  join(*sub, false, Timestamp::Zero() + TimeDelta::Millis(50));
  REQUIRE(loop.run_until(Timestamp::Zero() + TimeDelta::Seconds(4)).ok());
  const Timestamp end = loop.now();

  // Answered in its numbers.
  CHECK(answer_sdp.find("a=rtpmap:120 VP8/90000") != std::string::npos);
  CHECK(answer_sdp.find("a=rtpmap:109 opus/48000/2") != std::string::npos);
  CHECK(answer_sdp.find("a=extmap:5 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01") !=
        std::string::npos);
  // Sent in its numbers only, and decoded.
  MESSAGE("payload types received:" << [&] {
    std::string s;
    for (uint8_t pt : received_pts) s += " " + std::to_string(pt);
    return s;
  }());
  CHECK(received_pts.count(120) == 1);
  CHECK(received_pts.count(109) == 1);
  for (uint8_t pt : received_pts) CHECK((pt == 120 || pt == 121 || pt == 109));
  const auto stats = sub->pc->get_stats(end);
  const auto* in = stats.media.inbound("video");
  REQUIRE(in != nullptr);
  REQUIRE(in->frames_decoded.has_value());
  CHECK(*in->frames_decoded >= 35);  // 15 fps for ~3.5 s, less loss and start
  const auto* audio = stats.media.inbound("audio");
  REQUIRE(audio != nullptr);
  CHECK(audio->packets_received >= 100);
  // Its transport-cc (read at its id 5) came back; its NACKs were answered on RTX type 121.
  REQUIRE(sub_id.has_value());
  const auto leg = sfu.leg_counters(*sub_id);
  CHECK(leg.transport_feedback_received > 20);
  CHECK(leg.retransmissions_sent > 0);
  CHECK(rtx_with_payload > 0);
  // Probe figures per session in /stats and /metrics (this subscriber's estimate starts above its
  // layers: none needed).
  const std::string json = sfu.stats_json(end);
  CHECK(json.find("\"probeClusters\"") != std::string::npos);
  CHECK(json.find("\"probeBytes\"") != std::string::npos);
  CHECK(sfu.prometheus_metrics().find("# TYPE tern_sfu_session_probe_bytes_total counter\n") != std::string::npos);
}
