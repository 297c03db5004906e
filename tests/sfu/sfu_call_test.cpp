// SfuServer call rooms (RoomMode::kCall): a one-to-one call through the server on netsim in
// simulated time. Each side is a PeerConnection that publishes (WHIP, publish()) and one that
// subscribes to the other side (WHEP at /whep/<own WHIP resource id>, subscribe_peer()), with
// offers and answers over a 30 ms signalling hop. Run twice: every link clean, then side A's access
// links losing 5% both ways. The server repairs each hop on its own (it NACKs A's uplink, answers
// A's downlink NACKs from its history), so B's received video is no worse than in the clean run.
// A third client's offers show the call room's refusals.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "tern/dtls/openssl_virtual_clock.h"
#include "tern/icesim/hosts.h"
#include "tern/netsim/event_loop.h"
#include "tern/netsim/internet.h"
#include "tern/sfu/sfu_server.h"
#include "tern/sfu/sfu_signalling.h"
#include "tern/webrtc/peer_connection.h"

#include "sfu/sfu_test_pc.h"

using namespace tern;
using webrtc::PeerConnection;
using Type = webrtc::PeerConnectionEvent::Type;

namespace {

using sfu_test::sim_link;

// A netsim host whose one bound socket belongs to the SFU or to a PeerConnection.
using Node = sfu_test::SfuTestNode;

std::unique_ptr<PeerConnection> make_call_pc(const TransportAddress& bound, int n, bool publisher) {
  return sfu_test::make_sfu_test_pc(bound, n, publisher, {200, 0x3000'0000u, 9, true});
}

// What one side's subscriber received from the other side.
struct Received {
  uint32_t frames_decoded = 0;
  double frames_available = 0;  // the other side's frames since this subscriber's first one
  uint32_t freezes = 0;
  uint64_t nacks_sent = 0;      // by this subscriber (its inbound video stats)
  uint64_t audio_packets = 0;
  uint32_t publisher_frames_encoded = 0;
};

struct CallRun {
  Received side[2];                                   // what A (0) and B (1) received
  pipeline::MediaRouter::LegCounters up[2], down[2];  // the server's legs: each side's publisher, subscriber
  std::vector<int> refusals;
};

constexpr int kA = 0;
constexpr int kB = 1;

// Hosts: 0 A's publisher, 1 B's publisher, 2 A's subscriber, 3 B's subscriber, 4 a third client.
CallRun run_call(double a_loss) {
  netsim::EventLoop loop;
  dtls::ScopedOpenSslVirtualClock clock([&] { return loop.now(); });
  netsim::Internet net(21);
  auto add = [&](uint8_t last, TimeDelta delay, double loss) {
    const IpAddress ip = IpAddress::V4(198, 51, 100, last);
    auto host = net.add_host(netsim::kPublicRealm, {ip}, {sim_link(delay, loss), sim_link(delay, loss)});
    REQUIRE(host.ok());
    auto bound = net.bind(*host, TransportAddress{ip, last == 100 ? uint16_t{3478} : uint16_t{40000}});
    REQUIRE(bound.ok());
    return std::make_unique<Node>(net, *host, *bound);
  };
  auto server_node = add(100, TimeDelta::Millis(5), 0);
  sfu::SfuConfig config;
  config.address = icesim::to_ice(TransportAddress{IpAddress::V4(198, 51, 100, 100), 3478});
  config.room_mode = sfu::RoomMode::kCall;
  auto created = sfu::SfuServer::Create(config);
  REQUIRE_MESSAGE(created.ok(), created.error());
  server_node->sfu = std::move(created).value();
  sfu::SfuServer& sfu = *server_node->sfu;

  std::unique_ptr<Node> node[5];
  for (int i = 0; i < 5; ++i) {
    const bool side_a = i == 0 || i == 2;
    node[i] = add(static_cast<uint8_t>(i + 1), TimeDelta::Millis(20), side_a ? a_loss : 0);
    const auto bound = TransportAddress{IpAddress::V4(198, 51, 100, static_cast<uint8_t>(i + 1)), 40000};
    node[i]->pc = make_call_pc(bound, i, i == 0 || i == 1 || i == 4);
  }
  loop.add_pollable(server_node.get());
  for (auto& n : node) loop.add_pollable(n.get());
  loop.add_pollable(&net);

  const TimeDelta hop = TimeDelta::Millis(30);
  std::optional<sfu::SessionId> ids[4];
  CallRun result;
  // Node i's offer reaches the server one hop later; `admit` answers it; the answer one hop later.
  auto join = [&](int i, Timestamp at, std::function<std::variant<sfu::SfuAnswer, sfu::SfuRefusal>(const std::string&)> admit) {
    loop.post_at(at, [&, i, admit] {
      PeerConnection& pc = *node[i]->pc;
      auto offer = pc.create_offer(loop.now());
      REQUIRE(offer.ok());
      REQUIRE(pc.set_local_description(*offer, loop.now()).ok());
      node[i]->flush(loop.now());
      loop.post_in(hop, [&, i, admit, sdp = offer->sdp] {
        auto r = admit(sdp);
        server_node->flush(loop.now());
        if (auto* refusal = std::get_if<sfu::SfuRefusal>(&r)) FAIL("node " << i << " refused: " << refusal->reason);
        const sfu::SfuAnswer answer = std::get<sfu::SfuAnswer>(r);
        ids[i] = answer.id;
        loop.post_in(hop, [&, i, sdp = answer.sdp] {
          Status st = node[i]->pc->set_remote_description({webrtc::SdpType::kAnswer, sdp}, loop.now());
          CHECK_MESSAGE(st.ok(), std::string(st.error()) << "\n" << sdp);
          node[i]->flush(loop.now());
        });
      });
    });
  };
  // Both sides publish (B 60 ms later), then each subscribes to the other side of its call.
  join(0, Timestamp::Zero(), [&](const std::string& sdp) { return sfu.publish("call1", sdp, loop.now()); });
  join(2, Timestamp::Zero() + TimeDelta::Millis(100), [&](const std::string& sdp) { return sfu.subscribe_peer(*ids[0], sdp, loop.now()); });
  // B goes through SfuSignalling as tern-sfu's endpoints would: its WHIP resource "res-b" in room
  // "call1", then its WHEP POST names "res-b". (A session's id is the count of sessions created.)
  sfu::SfuSignalling signalling(sfu);
  auto via_signalling = [&](whip::SessionHandler& h, const char* resource, const char* name) {
    return [&, handler = &h, resource, name](const std::string& sdp) -> std::variant<sfu::SfuAnswer, sfu::SfuRefusal> {
      auto r = handler->create_session(resource, name, sdp, loop.now());
      if (auto* refusal = std::get_if<whip::Refusal>(&r)) return sfu::SfuRefusal{refusal->status, refusal->reason};
      return sfu::SfuAnswer{sfu.counters().sessions_created, std::get<std::string>(r)};
    };
  };
  join(1, Timestamp::Zero() + TimeDelta::Millis(60), via_signalling(signalling.whip_handler(), "res-b", "call1"));
  join(3, Timestamp::Zero() + TimeDelta::Millis(100), via_signalling(signalling.whep_handler(), "sub-b", "res-b"));

  // Before B publishes, A's side has nobody to watch: 404, and the client retries.
  loop.post_at(Timestamp::Zero() + TimeDelta::Millis(45), [&] {
    auto offer = node[4]->pc->create_offer(loop.now());
    REQUIRE(offer.ok());
    REQUIRE(ids[0].has_value());
    auto r = sfu.subscribe_peer(*ids[0], offer->sdp, loop.now());
    REQUIRE(std::holds_alternative<sfu::SfuRefusal>(r));
    result.refusals.push_back(std::get<sfu::SfuRefusal>(r).status);
  });
  // The third client: a third publisher, a subscriber of the room that names no side, a "peer"
  // subscription through a subscriber's session and through an unknown one.
  loop.post_at(Timestamp::Zero() + TimeDelta::Millis(500), [&] {
    auto offer = node[4]->pc->create_offer(loop.now());
    REQUIRE(offer.ok());
    for (auto r : {sfu.publish("call1", offer->sdp, loop.now()), sfu.subscribe("call1", offer->sdp, loop.now()),
                   sfu.subscribe_peer(*ids[2], offer->sdp, loop.now()), sfu.subscribe_peer(999, offer->sdp, loop.now())}) {
      REQUIRE(std::holds_alternative<sfu::SfuRefusal>(r));
      result.refusals.push_back(std::get<sfu::SfuRefusal>(r).status);
      MESSAGE(std::get<sfu::SfuRefusal>(r).status << " " << std::get<sfu::SfuRefusal>(r).reason);
    }
  });

  REQUIRE(loop.run_until(Timestamp::Zero() + TimeDelta::Seconds(3)).ok());
  const Timestamp end = loop.now();
  CHECK(sfu.session_count() == 4);
  CHECK(signalling.resource_count() == 2);
  for (int side : {kA, kB}) {
    const int publisher = 1 - side;   // the other side's publisher
    Node& subscriber = *node[2 + side];
    INFO("side " << side);
    REQUIRE(subscriber.first_video.has_value());
    CHECK(subscriber.pc->connection_state() == webrtc::ConnectionState::kConnected);
    const auto pub = node[publisher]->pc->get_stats(end);
    const auto* out = pub.media.outbound("video");
    REQUIRE(out != nullptr);
    const auto s = subscriber.pc->get_stats(end);
    const auto* in = s.media.inbound("video");
    REQUIRE(in != nullptr);
    const auto* audio = s.media.inbound("audio");
    REQUIRE(audio != nullptr);
    Received& r = result.side[side];
    r.frames_decoded = in->frames_decoded.value_or(0);
    r.frames_available = (end - *subscriber.first_video).seconds_f() * 15.0;
    r.freezes = in->freeze_count.value_or(0);
    r.nacks_sent = in->nack_count;
    r.audio_packets = audio->packets_received;
    r.publisher_frames_encoded = out->frames_encoded.value_or(0);
    CHECK(s.counters.srtp_unprotect_failures == 0);
    REQUIRE(ids[publisher].has_value());
    REQUIRE(ids[2 + side].has_value());
    result.up[publisher] = sfu.leg_counters(*ids[publisher]);
    result.down[side] = sfu.leg_counters(*ids[2 + side]);
  }
  const std::string json = sfu.stats_json(end);
  CHECK(json.find("\"mode\": \"call\"") != std::string::npos);
  CHECK(json.find("\"watching\": " + std::to_string(*ids[0])) != std::string::npos);
  return result;
}

void report(const char* name, const CallRun& r) {
  for (int side : {kA, kB}) {
    const Received& x = r.side[side];
    MESSAGE(std::string(name) << " side " << (side == kA ? "A" : "B") << " received: " << x.frames_decoded << " frames decoded of ~"
                 << x.frames_available << " available (" << x.publisher_frames_encoded << " encoded), " << x.freezes
                 << " freezes, " << x.nacks_sent << " NACKs sent, " << x.audio_packets << " audio packets; server: "
                 << r.up[1 - side].nacks_sent << " NACKs to the other side's publisher, " << r.up[1 - side].packets_repaired_by_rtx
                 << " repaired, " << r.down[side].nacked_packets_received << " NACKed by this subscriber, "
                 << r.down[side].retransmissions_sent << " retransmitted");
  }
}

}  // namespace

TEST_CASE("sfu call room: two sides each watch the other, one side's loss does not reach the other side") {
  const auto wall_start = std::chrono::steady_clock::now();
  const CallRun clean = run_call(0);
  const CallRun lossy = run_call(0.05);
  report("clean", clean);
  report("lossy A", lossy);

  // Each side sees the other's media, clean or not.
  for (const CallRun* run : {&clean, &lossy}) {
    for (int side : {kA, kB}) {
      const Received& x = run->side[side];
      CHECK(x.frames_decoded >= 0.9 * x.frames_available);
      CHECK(x.audio_packets >= 100);
    }
    // 404 before the other side published; 409 third publisher; 409 unnamed side; 404 twice.
    CHECK(run->refusals == std::vector<int>{404, 409, 409, 404, 404});
  }
  // Clean: nobody NACKs anything.
  for (int side : {kA, kB}) {
    CHECK(clean.up[side].nacks_sent == 0);
    CHECK(clean.down[side].nacked_packets_received == 0);
  }
  // Lossy A: the server NACKs A's publisher and repairs its stream before forwarding; it answers A's
  // subscriber's NACKs itself; B's publisher is never asked for anything.
  CHECK(lossy.up[kA].nacks_sent > 0);
  CHECK(lossy.up[kA].packets_repaired_by_rtx > 0);
  CHECK(lossy.down[kA].nacked_packets_received > 0);
  CHECK(lossy.down[kA].retransmissions_sent > 0);
  CHECK(lossy.up[kB].nacks_sent == 0);
  // B's received video is not degraded by A's lossy links: the same share of A's frames decoded
  // since B's first one (A's publisher connects later over its lossy link: fewer frames in all)
  // within 8% (a frame or two of ~35 in flight at the end), and no more freezes than in the clean run.
  auto share = [](const Received& x) { return x.frames_decoded / x.frames_available; };
  CHECK(share(lossy.side[kB]) >= 0.92 * share(clean.side[kB]));
  CHECK(lossy.side[kB].freezes <= clean.side[kB].freezes);
  MESSAGE("wall time: " << std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count() << " s");
}
