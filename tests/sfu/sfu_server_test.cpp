// SfuServer: a PeerConnection publisher (audio + video) through the SFU core to two PeerConnection
// subscribers on netsim's addressed Internet in simulated time (offers and answers over a 30 ms
// signalling hop, as WHIP/WHEP would carry them). One subscriber's downlink loses 5%: its NACKs are
// answered by the server from its packet history, the publisher is never asked, and the other
// subscriber sees no loss at all. A third client sends garbage datagrams to the server's port and
// garbage or conflicting offers: refused with their reasons, dropped and counted, nothing changes
// for the others.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "tern/core/random.h"
#include "tern/dtls/openssl_virtual_clock.h"
#include "tern/icesim/hosts.h"
#include "tern/netsim/event_loop.h"
#include "tern/netsim/internet.h"
#include "tern/rtp/rtp_rtcp_split.h"
#include "tern/sfu/sfu_server.h"
#include "tern/webrtc/peer_connection.h"

#include "sfu/sfu_test_pc.h"

using namespace tern;
using webrtc::PeerConnection;
using Type = webrtc::PeerConnectionEvent::Type;

namespace {

netsim::LinkConfig link(TimeDelta delay, double loss) {
  netsim::LinkConfig l;
  l.delay = delay;  // no capacity limit: DTLS record sizes vary by a byte or two from run to run
  if (loss > 0) l.loss = netsim::LossConfig::Random(loss);
  return l;
}

// Something on a netsim host with one bound socket: sends what `drain` returns after every input.
class Host : public netsim::DatagramReceiver, public Pollable {
 public:
  Host(netsim::Internet& net, netsim::HostId host, TransportAddress bound) : net_(net), host_(host), bound_(bound) {
    net_.set_receiver(host, this);
  }
  void send(const ice::TransportAddress& to, std::vector<uint8_t> data, Timestamp now) {
    (void)net_.send(host_, netsim::Datagram{bound_, icesim::from_ice(to), std::move(data)}, now);  // netsim counts its drops
  }
  const TransportAddress& bound() const { return bound_; }

 private:
  netsim::Internet& net_;
  netsim::HostId host_;
  TransportAddress bound_;
};

class SfuHost final : public Host {
 public:
  using Host::Host;
  void on_datagram(netsim::HostId, netsim::Datagram d, Timestamp now) override {
    server->on_datagram(icesim::to_ice(d.source), d.data, now);
    flush(now);
  }
  std::optional<Timestamp> next_wakeup() const override { return server->next_wakeup(); }
  void process(Timestamp now) override {
    server->process(now);
    flush(now);
  }
  void flush(Timestamp now) {
    for (sfu::SfuOutgoing& o : server->take_outgoing()) send(o.destination, std::move(o.data), now);
  }
  std::unique_ptr<sfu::SfuServer> server;
};

class PcHost final : public Host {
 public:
  using Host::Host;
  void on_datagram(netsim::HostId, netsim::Datagram d, Timestamp now) override {
    pc->on_datagram(0, icesim::to_ice(d.source), d.data, now);
    flush(now);
  }
  std::optional<Timestamp> next_wakeup() const override { return pc->next_wakeup(); }
  void process(Timestamp now) override {
    pc->process(now);
    flush(now);
  }
  void flush(Timestamp now) {
    for (ice::IceOutgoing& o : pc->take_outgoing()) send(o.destination, std::move(o.data), now);
    while (auto e = pc->poll_event()) {
      if (e->type == Type::kFirstFrame && e->kind == "video" && !first_video) first_video = now;
    }
  }
  std::unique_ptr<PeerConnection> pc;
  std::optional<Timestamp> first_video;
};

// Random datagrams (and STUN-looking ones with made-up usernames) to the server's port.
class Mallory final : public Host {
 public:
  Mallory(netsim::Internet& net, netsim::HostId host, TransportAddress bound, ice::TransportAddress target)
      : Host(net, host, bound), target_(target) {}
  void on_datagram(netsim::HostId, netsim::Datagram, Timestamp) override {}
  std::optional<Timestamp> next_wakeup() const override { return next_; }
  void process(Timestamp now) override {
    if (now < next_) return;
    next_ = now + TimeDelta::Millis(20);
    std::vector<uint8_t> d(12 + random_.next_u32() % 300);
    for (uint8_t& b : d) b = static_cast<uint8_t>(random_.next_u32());
    // First bytes of every RFC 7983 class in turn: STUN, DTLS, RTP/RTCP, and others.
    static constexpr uint8_t kFirst[] = {0x00, 0x01, 0x16, 0x17, 0x80, 0x90, 0x40};
    d[0] = kFirst[sent % std::size(kFirst)];
    if (d[0] == 0x01) d[1] = 0x01;  // a "Binding request" with a random body
    if (d[0] == 0x80 || d[0] == 0x90) d[1] = sent % 2 == 0 ? 96 : 200;  // RTP or RTCP
    send(target_, std::move(d), now);
    ++sent;
  }
  uint64_t sent = 0;

 private:
  ice::TransportAddress target_;
  Random random_{7};
  Timestamp next_ = Timestamp::Zero() + TimeDelta::Millis(5);
};

std::unique_ptr<PeerConnection> make_pc(const TransportAddress& bound, int n, bool publisher) {
  return sfu_test::make_sfu_test_pc(bound, n, publisher, {100, 0x1000'0000u, 5, false});
}

}  // namespace

// The server's MediaTap (what tern-sfu --record-dir records from): what it was told.
struct CountingTap final : sfu::MediaTap {
  void on_publisher_started(sfu::SessionId id, std::string_view room, const sfu::PublishedMedia& media, Timestamp) override {
    started.push_back(id);
    rooms.emplace_back(room);
    video_ssrc = media.video ? media.video->ssrc : 0;
  }
  void on_publisher_rtp(sfu::SessionId id, std::span<const uint8_t> packet, Timestamp) override {
    if (packet.size() < 12 || rtp::is_rtcp(packet)) ++not_rtp;
    packets[id]++;
  }
  void on_publisher_rtcp(sfu::SessionId id, std::span<const uint8_t> packet, Timestamp) override {
    if (!rtp::is_rtcp(packet)) ++not_rtcp;
    rtcp[id]++;
  }
  // Once `want_keyframe` is set: the publisher's video SSRC, and two requests the server ignores
  // (another session's, an SSRC the publisher does not send).
  std::vector<KeyframeRequest> take_keyframe_requests() override {
    if (!want_keyframe || started.empty()) return {};
    want_keyframe = false;
    ++keyframes_asked;
    return {{started[0], video_ssrc}, {started[0] + 100, video_ssrc}, {started[0], 0x0BAD'0001u}};
  }
  void on_publisher_ended(sfu::SessionId id, Timestamp) override { ended.push_back(id); }
  std::vector<sfu::SessionId> started, ended;
  std::vector<std::string> rooms;
  std::map<sfu::SessionId, uint64_t> packets, rtcp;
  uint32_t video_ssrc = 0;
  uint64_t not_rtp = 0, not_rtcp = 0;
  bool want_keyframe = false;
  uint64_t keyframes_asked = 0;
};

TEST_CASE("sfu: a publisher to two subscribers, loss on one hop repaired by the server, garbage changes nothing") {
  const auto wall_start = std::chrono::steady_clock::now();
  netsim::EventLoop loop;
  dtls::ScopedOpenSslVirtualClock clock([&] { return loop.now(); });
  netsim::Internet net(11);

  auto add = [&](uint8_t last, TimeDelta delay, double down_loss) {
    const IpAddress ip = IpAddress::V4(198, 51, 100, last);
    auto host = net.add_host(netsim::kPublicRealm, {ip}, {link(delay, 0), link(delay, down_loss)});
    REQUIRE(host.ok());
    auto bound = net.bind(*host, TransportAddress{ip, last == 100 ? uint16_t{3478} : uint16_t{40000}});
    REQUIRE(bound.ok());
    return std::make_pair(*host, *bound);
  };
  auto [server_host, server_bound] = add(100, TimeDelta::Millis(5), 0);
  SfuHost sfu_host(net, server_host, server_bound);
  sfu::SfuConfig config;
  config.address = icesim::to_ice(server_bound);
  config.max_subscribers_per_room = 2;
  CountingTap tap;
  config.media_tap = &tap;
  auto server = sfu::SfuServer::Create(config);
  REQUIRE_MESSAGE(server.ok(), server.error());
  sfu_host.server = std::move(server).value();
  sfu::SfuServer& sfu = *sfu_host.server;

  // 0 publisher, 1 clean subscriber, 2 subscriber with 5% loss on its downlink, 3 another client.
  std::unique_ptr<PcHost> peer[4];
  const double down_loss[4] = {0, 0, 0.05, 0};
  for (int i = 0; i < 4; ++i) {
    auto [h, b] = add(static_cast<uint8_t>(i + 1), TimeDelta::Millis(20), down_loss[i]);
    peer[i] = std::make_unique<PcHost>(net, h, b);
    peer[i]->pc = make_pc(b, i, i == 0 || i == 3);
  }
  auto [mallory_host, mallory_bound] = add(66, TimeDelta::Millis(20), 0);
  Mallory mallory(net, mallory_host, mallory_bound, config.address);
  loop.add_pollable(&sfu_host);
  for (auto& p : peer) loop.add_pollable(p.get());
  loop.add_pollable(&mallory);
  loop.add_pollable(&net);

  // WHIP/WHEP as function calls over a 30 ms hop each way: offer -> publish/subscribe -> answer.
  const TimeDelta hop = TimeDelta::Millis(30);
  std::optional<sfu::SessionId> ids[3];
  auto join = [&](int i, bool publish, Timestamp at) {
    loop.post_at(at, [&, i, publish] {
      PcHost& p = *peer[i];
      auto offer = p.pc->create_offer(loop.now());
      REQUIRE(offer.ok());
      REQUIRE(p.pc->set_local_description(*offer, loop.now()).ok());
      p.flush(loop.now());
      loop.post_in(hop, [&, i, publish, sdp = offer->sdp] {
        auto r = publish ? sfu.publish("room1", sdp, loop.now()) : sfu.subscribe("room1", sdp, loop.now());
        sfu_host.flush(loop.now());
        if (auto* refusal = std::get_if<sfu::SfuRefusal>(&r)) FAIL("client " << i << " refused: " << refusal->reason);
        const sfu::SfuAnswer answer = std::get<sfu::SfuAnswer>(r);
        CHECK(answer.sdp.find("a=ice-lite") != std::string::npos);
        CHECK(answer.sdp.find("a=setup:active") != std::string::npos);
        ids[i] = answer.id;
        loop.post_in(hop, [&, i, sdp = answer.sdp] {
          Status st = peer[i]->pc->set_remote_description({webrtc::SdpType::kAnswer, sdp}, loop.now());
          CHECK_MESSAGE(st.ok(), st.error());
          peer[i]->flush(loop.now());
        });
      });
    });
  };
  join(0, true, Timestamp::Zero());
  join(1, false, Timestamp::Zero() + TimeDelta::Millis(40));
  join(2, false, Timestamp::Zero() + TimeDelta::Millis(40));

  // The third client's offers: garbage, a second publisher for the room, a subscriber of a room
  // nobody publishes, a bad room name, one subscriber too many.
  std::vector<std::pair<int, std::string>> refusals;
  loop.post_at(Timestamp::Zero() + TimeDelta::Millis(500), [&] {
    auto offer = peer[3]->pc->create_offer(loop.now());
    REQUIRE(offer.ok());
    const std::string garbage = "v=0\r\nthis is not sdp\r\n\x01\x02";
    for (auto r : {sfu.publish("room2", garbage, loop.now()), sfu.publish("room1", offer->sdp, loop.now()),
                   sfu.subscribe("nobody", offer->sdp, loop.now()), sfu.subscribe("../etc", offer->sdp, loop.now()),
                   sfu.subscribe("room1", offer->sdp, loop.now()), sfu.publish("room3", "", loop.now())}) {
      REQUIRE(std::holds_alternative<sfu::SfuRefusal>(r));
      refusals.emplace_back(std::get<sfu::SfuRefusal>(r).status, std::get<sfu::SfuRefusal>(r).reason);
    }
  });

  // At 3 s the tap asks for a keyframe: the publisher gets one PLI more than the subscribers'.
  REQUIRE(loop.run_until(Timestamp::Zero() + TimeDelta::Seconds(3)).ok());
  auto pli_count = [&] {
    const auto stats = peer[0]->pc->get_stats(loop.now());
    const auto* o = stats.media.outbound("video");
    return o != nullptr ? o->pli_count.value_or(0) : 0u;
  };
  auto relayed = [&] { return sfu.leg_counters(*ids[1]).keyframe_requests_forwarded + sfu.leg_counters(*ids[2]).keyframe_requests_forwarded; };
  const uint32_t plis_at_3s = pli_count();
  const uint64_t relayed_at_3s = relayed();
  tap.want_keyframe = true;

  // Publisher frames encoded when each subscriber decoded its first frame: the ones it can get.
  REQUIRE(loop.run_until(Timestamp::Zero() + TimeDelta::Seconds(4)).ok());
  CHECK(tap.keyframes_asked == 1);
  CHECK(pli_count() - plis_at_3s == 1 + (relayed() - relayed_at_3s));
  const Timestamp end = loop.now();
  const auto pub = peer[0]->pc->get_stats(end);
  const auto* out = pub.media.outbound("video");
  REQUIRE(out != nullptr);
  REQUIRE(out->frames_encoded.has_value());
  MESSAGE("publisher frames encoded: " << *out->frames_encoded);
  CHECK(*out->frames_encoded >= 50);

  for (int i = 1; i <= 2; ++i) {
    INFO("subscriber " << i);
    PcHost& p = *peer[i];
    CHECK(p.pc->connection_state() == webrtc::ConnectionState::kConnected);
    REQUIRE(p.first_video.has_value());
    const auto s = p.pc->get_stats(end);
    const auto* in = s.media.inbound("video");
    REQUIRE(in != nullptr);
    REQUIRE(in->frames_decoded.has_value());
    // Frames the publisher encoded since this subscriber connected (15 fps), minus one in flight.
    const double available = (end - *p.first_video).seconds_f() * 15.0;
    MESSAGE("subscriber " << i << ": " << *in->frames_decoded << " frames decoded of ~" << available
                          << " sent since its first frame at " << (*p.first_video - Timestamp::Zero()).ms() << " ms");
    CHECK(*in->frames_decoded >= 0.9 * available);
    const auto* audio = s.media.inbound("audio");
    REQUIRE(audio != nullptr);
    CHECK(audio->packets_received >= 100);
    CHECK(s.counters.srtp_unprotect_failures == 0);
    REQUIRE(ids[i].has_value());
    const sfu::SfuSession* session = sfu.session(*ids[i]);
    REQUIRE(session != nullptr);
    CHECK(session->connected());
    CHECK(session->counters().srtp_unprotect_failures == 0);
  }
  // The lossy hop's NACKs were answered by the server; the clean subscriber needed nothing and the
  // publisher (clean uplink) was never asked.
  const auto clean = sfu.leg_counters(*ids[1]);
  const auto lossy = sfu.leg_counters(*ids[2]);
  const auto up = sfu.leg_counters(*ids[0]);
  MESSAGE("lossy subscriber: " << lossy.nacked_packets_received << " packets NACKed, " << lossy.retransmissions_sent
                               << " retransmitted by the server; publisher leg: " << up.nacks_sent << " NACKs, "
                               << clean.keyframe_requests_forwarded + lossy.keyframe_requests_forwarded << " keyframe requests relayed upstream, "
                               << clean.keyframe_requests_suppressed + lossy.keyframe_requests_suppressed << " suppressed");
  CHECK(lossy.nacked_packets_received > 0);
  CHECK(lossy.retransmissions_sent > 0);
  CHECK(clean.nacked_packets_received == 0);
  CHECK(clean.retransmissions_sent == 0);
  CHECK(up.nacks_sent == 0);
  CHECK(up.rtp_packets_received > 0);
  CHECK(clean.packets_forwarded > 0);
  CHECK(lossy.packets_forwarded >= clean.packets_forwarded * 9 / 10);
  CHECK(peer[0]->pc->get_stats(end).counters.srtp_unprotect_failures == 0);

  // The third client: every offer refused with its status, its datagrams dropped and counted.
  REQUIRE(refusals.size() == 6);
  CHECK(refusals[0].first == 400);
  CHECK(refusals[1].first == 409);
  CHECK(refusals[2].first == 404);
  CHECK(refusals[3].first == 400);
  CHECK(refusals[4].first == 503);
  CHECK(refusals[5].first == 400);
  for (const auto& [status, reason] : refusals) MESSAGE(status << " " << reason);
  CHECK(sfu.session_count() == 3);
  CHECK(mallory.sent > 150);
  CHECK(sfu.counters().unauthenticated_dropped >= mallory.sent - 1);
  const std::string json = sfu.stats_json(end);
  CHECK(json.find("\"unauthenticatedDropped\"") != std::string::npos);
  CHECK(json.find("\"role\": \"subscriber\"") != std::string::npos);
  // Per-subscriber adaptation: each session's GCC estimate and layer switch counters.
  CHECK(json.find("\"estimate\"") != std::string::npos);
  CHECK(json.find("\"layerSwitchesUp\"") != std::string::npos);
  REQUIRE(clean.estimate.has_value());
  CHECK(*clean.estimate > DataRate::KilobitsPerSec(100));
  // /metrics: Prometheus text format, line by line; the figures are the stats' figures.
  const std::string metrics = sfu.prometheus_metrics();
  const std::regex comment(R"(# (HELP tern_sfu_[a-z_]+ .+|TYPE tern_sfu_[a-z_]+ (counter|gauge)))");
  const std::regex sample_line(
      R"re(tern_sfu_[a-z_]+(\{session="[0-9]+",room="[A-Za-z0-9._-]+",role="(publisher|subscriber)"\})? [0-9.e+-]+)re");
  std::istringstream lines(metrics);
  size_t samples = 0;
  for (std::string line; std::getline(lines, line);) {
    INFO(line);
    const bool is_comment = line.rfind('#', 0) == 0;
    CHECK(std::regex_match(line, is_comment ? comment : sample_line));
    if (!is_comment) ++samples;
  }
  CHECK(samples > 3 * 9);  // 11 server figures and 9-10 per session for 3 sessions
  const std::string lossy_rtx = "tern_sfu_session_retransmissions_sent_total{session=\"" + std::to_string(*ids[2]) +
                                "\",room=\"room1\",role=\"subscriber\"} " + std::to_string(lossy.retransmissions_sent) + "\n";
  CHECK(metrics.find(lossy_rtx) != std::string::npos);
  CHECK(metrics.find("tern_sfu_session_estimate_bits_per_second{session=\"" + std::to_string(*ids[2])) != std::string::npos);
  CHECK(metrics.find("# TYPE tern_sfu_session_layer_switches_total counter\n") != std::string::npos);
  CHECK(metrics.find("tern_sfu_unauthenticated_dropped_total " + std::to_string(sfu.counters().unauthenticated_dropped) +
                     "\n") != std::string::npos);

  // The tap: the publisher's decrypted RTP (RTX included), nothing of the subscribers'.
  REQUIRE(tap.started.size() == 1);
  CHECK(tap.started[0] == *ids[0]);
  CHECK(tap.rooms[0] == "room1");
  CHECK(tap.video_ssrc != 0);
  CHECK(tap.packets.size() == 1);
  const auto pub_leg = sfu.leg_counters(*ids[0]);
  CHECK(tap.packets[*ids[0]] == pub_leg.rtp_packets_received);
  CHECK(tap.not_rtp == 0);
  CHECK(tap.rtcp.size() == 1);
  CHECK(tap.rtcp[*ids[0]] > 0);  // its SRs, SDES, feedback
  CHECK(tap.not_rtcp == 0);
  CHECK(tap.ended.empty());

  // DELETE of a subscriber: gone, the other keeps its session; then a drain ends the rest.
  CHECK(sfu.end_session(*ids[2], end));
  CHECK_FALSE(sfu.end_session(*ids[2], end));
  CHECK(sfu.session_count() == 2);
  sfu.drain(end);
  CHECK(sfu.session_count() == 0);
  CHECK(sfu.take_ended().size() == 2);
  CHECK(tap.ended == std::vector<sfu::SessionId>{*ids[0]});  // the publisher's recording ends with it
  CHECK(std::get<sfu::SfuRefusal>(sfu.publish("room2", "v=0", end)).status == 503);
  MESSAGE("wall time: " << std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count() << " s");
}

TEST_CASE("sfu: a video-only publisher whose SSRCs are the answer's defaults still gets subscribers") {
  // sdp::LocalCapabilities' default SSRCs are 0x1000'0001 (audio), 0x1000'0002 (video), 0x1000'0003
  // (RTX). A subscriber's answer sends the publisher's SSRCs and kept the defaults for what the
  // publisher does not send: here the default audio SSRC, which is this publisher's video SSRC.
  sfu::SfuConfig config;
  config.address = ice::TransportAddress::V4(198, 51, 100, 100, 3478);
  auto server = sfu::SfuServer::Create(config);
  REQUIRE_MESSAGE(server.ok(), server.error());
  const Timestamp now = Timestamp::Zero() + TimeDelta::Seconds(1);

  const TransportAddress pub_bound{IpAddress::V4(198, 51, 100, 1), 40000};
  static const auto cert = dtls::DtlsCertificate::Generate("sfu-test-ssrc").value();
  webrtc::PeerConnectionConfig c;
  c.certificate = cert;
  c.sockets = {ice::LocalSocket{0, icesim::to_ice(pub_bound), {}}};
  c.data_channels = false;
  c.send_audio = false;
  c.send_video = true;
  c.video_ssrc = 0x1000'0001u;
  c.video_rtx_ssrc = 0x1000'0002u;
  c.audio_ssrc = 0x1000'0007u;  // not sent; the PeerConnection wants its three distinct
  auto publisher = PeerConnection::Create(c);
  REQUIRE_MESSAGE(publisher.ok(), publisher.error());
  auto offer = (*publisher)->create_offer(now);
  REQUIRE(offer.ok());
  auto published = (*server)->publish("room1", offer->sdp, now);
  REQUIRE_MESSAGE(std::holds_alternative<sfu::SfuAnswer>(published),
                  (std::holds_alternative<sfu::SfuRefusal>(published) ? std::get<sfu::SfuRefusal>(published).reason : ""));

  auto subscriber = make_pc(TransportAddress{IpAddress::V4(198, 51, 100, 2), 40000}, 1, false);
  auto sub_offer = subscriber->create_offer(now);
  REQUIRE(sub_offer.ok());
  auto watched = (*server)->subscribe("room1", sub_offer->sdp, now);
  REQUIRE_MESSAGE(std::holds_alternative<sfu::SfuAnswer>(watched),
                  (std::holds_alternative<sfu::SfuRefusal>(watched) ? std::get<sfu::SfuRefusal>(watched).reason : ""));
  const std::string& answer = std::get<sfu::SfuAnswer>(watched).sdp;
  CHECK(answer.find("a=ssrc:268435457 ") != std::string::npos);  // 0x1000'0001: the publisher's video
  CHECK(answer.find("a=ssrc-group:FID 268435457 268435458") != std::string::npos);
}
