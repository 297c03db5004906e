// ICE restarts through the SFU core (WHIP/WHEP PATCH with If-Match: "*", RFC 9725 4.4) on netsim's
// addressed Internet in simulated time, through SfuSignalling's handlers as tern-sfu calls them: a
// PeerConnection subscriber, then the publisher, restart mid-stream and video keeps decoding
// without a freeze, the one DTLS association kept; the subscriber moves to another address, whose
// datagrams the server ignores until the restart's authenticated checks come from it, then gets
// its media there; restarts of an unknown resource, with the current or illegal credentials, and
// beyond the per-minute rate are refused and change nothing; the USERNAME routing table holds a
// session's old ufrag only until the new generation's checks arrive.
#include <doctest/doctest.h>

#include <algorithm>
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
#include "tern/sdp/sdp_description.h"
#include "tern/sfu/sfu_server.h"
#include "tern/sfu/sfu_signalling.h"
#include "tern/whip/whip_endpoint.h"
#include "tern/webrtc/peer_connection.h"

#include "sfu/sfu_test_pc.h"

using namespace tern;

namespace sfu_restart_test {

using webrtc::PeerConnection;

netsim::LinkConfig rs_link(TimeDelta delay) {
  netsim::LinkConfig l;
  l.delay = delay;
  return l;
}

// The SFU core on one netsim host.
class RsServer final : public netsim::DatagramReceiver, public Pollable {
 public:
  RsServer(netsim::Internet& net, netsim::HostId host, TransportAddress bound) : net_(net), host_(host), bound_(bound) {
    net_.set_receiver(host, this);
  }
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
    for (sfu::SfuOutgoing& o : server->take_outgoing())
      (void)net_.send(host_, netsim::Datagram{bound_, icesim::from_ice(o.destination), std::move(o.data)}, now);
  }
  std::unique_ptr<sfu::SfuServer> server;

 private:
  netsim::Internet& net_;
  netsim::HostId host_;
  TransportAddress bound_;
};

// A PeerConnection client with one or more network attachments: `active` is where it sends from
// and what it hears (a phone that left its Wi-Fi for LTE uses the next one).
class RsClient final : public netsim::DatagramReceiver, public Pollable {
 public:
  struct Attachment {
    netsim::HostId host;
    TransportAddress bound;
  };
  explicit RsClient(netsim::Internet& net) : net_(net) {}
  void attach(netsim::HostId host, TransportAddress bound) {
    net_.set_receiver(host, this);
    attachments.push_back({host, bound});
  }
  void on_datagram(netsim::HostId host, netsim::Datagram d, Timestamp now) override {
    if (host != attachments[active].host) return;  // that network is gone
    pc->on_datagram(0, icesim::to_ice(d.source), d.data, now);
    flush(now);
  }
  std::optional<Timestamp> next_wakeup() const override { return pc->next_wakeup(); }
  void process(Timestamp now) override {
    pc->process(now);
    flush(now);
  }
  void flush(Timestamp now) {
    for (int round = 0; round < 64; ++round) {
      bool any = false;
      for (ice::IceOutgoing& o : pc->take_outgoing()) {
        any = true;
        send_raw(o.destination, std::move(o.data), now);
      }
      while (pc->poll_event()) any = true;
      if (!any) break;
    }
  }
  void send_raw(const ice::TransportAddress& to, std::vector<uint8_t> data, Timestamp now) {
    const Attachment& a = attachments[active];
    (void)net_.send(a.host, netsim::Datagram{a.bound, icesim::from_ice(to), std::move(data)}, now);
  }
  uint64_t frames_decoded(Timestamp now) const {
    const auto s = pc->get_stats(now);
    const auto* in = s.media.inbound("video");
    return in && in->frames_decoded ? *in->frames_decoded : 0;
  }
  std::unique_ptr<PeerConnection> pc;
  std::vector<Attachment> attachments;
  size_t active = 0;

 private:
  netsim::Internet& net_;
};

std::unique_ptr<PeerConnection> rs_make_pc(const TransportAddress& bound, int n, bool publisher) {
  return tern::sfu_test::make_sfu_test_pc(bound, n, publisher, {300, 0x1000'0000u, 9, false});
}

// The client's side of a WHIP/WHEP restart, as tern-peer does it: restart_ice(), a new local
// offer, its credentials in a fragment to the handler; the server's fragment's credentials go into
// the last answer (its candidates out) and its candidates are added as trickled ones.
std::variant<whip::IceFragment, whip::Refusal> rs_restart(RsClient& c, whip::SessionHandler& handler,
                                                          const std::string& resource, Timestamp now) {
  PeerConnection& pc = *c.pc;
  pc.restart_ice();
  auto offer = pc.create_offer(now);
  REQUIRE(offer.ok());
  REQUIRE(pc.set_local_description(*offer, now).ok());
  c.flush(now);
  whip::IceFragment mine;
  mine.ufrag = pc.local_ice_credentials().ufrag;
  mine.pwd = pc.local_ice_credentials().pwd;
  auto outcome = handler.restart(resource, mine, now);
  if (const auto* answer = std::get_if<whip::IceFragment>(&outcome)) {
    REQUIRE(answer->ufrag.has_value());
    REQUIRE(answer->pwd.has_value());
    auto sd = sdp::SessionDescription::parse(pc.remote_description()->sdp);
    REQUIRE(sd.ok());
    auto edit = [&](sdp::AttributeList& list) {
      std::erase_if(list.attributes, [](const sdp::Attribute& a) { return a.name == "candidate" || a.name == "end-of-candidates"; });
      for (sdp::Attribute& a : list.attributes) {
        if (a.name == "ice-ufrag") a.value = *answer->ufrag;
        if (a.name == "ice-pwd") a.value = *answer->pwd;
      }
    };
    edit(*sd);
    for (sdp::MediaSection& m : sd->media) edit(m);
    Status st = pc.set_remote_description({webrtc::SdpType::kAnswer, sd->to_string()}, now);
    REQUIRE_MESSAGE(st.ok(), resource << ": " << std::string(st.error()));
    for (const whip::FragmentMedia& m : answer->media) {
      for (const sdp::SdpCandidate& cand : m.candidates) {
        Status added = pc.add_ice_candidate({"candidate:" + cand.to_value(), m.mid, *answer->ufrag}, now);
        CHECK_MESSAGE(added.ok(), added.error());
      }
      if (m.end_of_candidates) (void)pc.add_ice_candidate({"", m.mid, *answer->ufrag}, now);
    }
    c.flush(now);
  }
  return outcome;
}

}  // namespace sfu_restart_test

using namespace sfu_restart_test;

TEST_CASE("sfu: ICE restarts of a subscriber and a publisher keep media, a moved client resumes, bad restarts change nothing") {
  netsim::EventLoop loop;
  dtls::ScopedOpenSslVirtualClock clock([&] { return loop.now(); });
  netsim::Internet net(17);
  auto add = [&](uint8_t last, uint16_t port) {
    const IpAddress ip = IpAddress::V4(198, 51, 100, last);
    auto host = net.add_host(netsim::kPublicRealm, {ip}, {rs_link(TimeDelta::Millis(15)), rs_link(TimeDelta::Millis(15))});
    REQUIRE(host.ok());
    auto bound = net.bind(*host, TransportAddress{ip, port});
    REQUIRE(bound.ok());
    return std::make_pair(*host, *bound);
  };
  auto [server_host, server_bound] = add(100, 3478);
  RsServer rs(net, server_host, server_bound);
  sfu::SfuConfig config;
  config.address = icesim::to_ice(server_bound);
  config.max_restarts_per_minute = 3;
  auto created = sfu::SfuServer::Create(config);
  REQUIRE_MESSAGE(created.ok(), created.error());
  rs.server = std::move(created).value();
  sfu::SfuServer& sfu = *rs.server;
  sfu::SfuSignalling signalling(sfu);

  RsClient pub(net), sub(net);
  {
    auto [h, b] = add(1, 40000);
    pub.attach(h, b);
    pub.pc = rs_make_pc(b, 0, true);
    auto [h2, b2] = add(2, 40000);
    sub.attach(h2, b2);
    sub.pc = rs_make_pc(b2, 1, false);
    auto [h3, b3] = add(12, 41000);  // the subscriber's second network
    sub.attach(h3, b3);
  }
  loop.add_pollable(&rs);
  loop.add_pollable(&pub);
  loop.add_pollable(&sub);
  loop.add_pollable(&net);

  auto join = [&](RsClient& c, whip::SessionHandler& handler, const std::string& resource) {
    auto offer = c.pc->create_offer(loop.now());
    REQUIRE(offer.ok());
    REQUIRE(c.pc->set_local_description(*offer, loop.now()).ok());
    auto answer = handler.create_session(resource, "room1", offer->sdp, loop.now());
    REQUIRE(std::holds_alternative<std::string>(answer));
    rs.flush(loop.now());
    Status st = c.pc->set_remote_description({webrtc::SdpType::kAnswer, std::get<std::string>(answer)}, loop.now());
    REQUIRE_MESSAGE(st.ok(), resource << ": " << std::string(st.error()));
    c.flush(loop.now());
  };
  loop.post_at(Timestamp::Zero(), [&] { join(pub, signalling.whip_handler(), "pubres"); });
  loop.post_at(Timestamp::Zero() + TimeDelta::Millis(40), [&] { join(sub, signalling.whep_handler(), "subres"); });

  // The longest time the subscriber decoded nothing, sampled every 50 ms once video flows.
  TimeDelta longest_stall = TimeDelta::Zero();
  std::optional<Timestamp> last_progress;
  uint64_t last_frames = 0;
  std::function<void()> sample = [&] {
    const Timestamp now = loop.now();
    const uint64_t f = sub.frames_decoded(now);
    if (f > last_frames) {
      last_frames = f;
      last_progress = now;
    } else if (last_progress) {
      longest_stall = std::max(longest_stall, now - *last_progress);
    }
    if (now < Timestamp::Zero() + TimeDelta::Seconds(8)) loop.post_in(TimeDelta::Millis(50), sample);
  };
  loop.post_at(Timestamp::Zero() + TimeDelta::Millis(500), sample);

  REQUIRE(loop.run_until(Timestamp::Zero() + TimeDelta::Seconds(2)).ok());
  REQUIRE(sub.pc->connection_state() == webrtc::ConnectionState::kConnected);
  const sfu::SessionId sub_id = 2, pub_id = 1;
  REQUIRE(sfu.has_session(sub_id));
  REQUIRE(sfu.has_session(pub_id));
  const uint64_t frames_before = sub.frames_decoded(loop.now());
  CHECK(frames_before > 10);
  CHECK(sfu.ufrag_routes() == 2);
  const std::string sub_old_ufrag = sfu.session(sub_id)->agent().local_credentials().ufrag;

  // 1. The subscriber restarts on the same address: 200 with new credentials, the one candidate.
  auto r1 = rs_restart(sub, signalling.whep_handler(), "subres", loop.now());
  REQUIRE(std::holds_alternative<whip::IceFragment>(r1));
  const whip::IceFragment& f1 = std::get<whip::IceFragment>(r1);
  CHECK(*f1.ufrag != sub_old_ufrag);
  CHECK(*f1.ufrag == sfu.session(sub_id)->agent().local_credentials().ufrag);
  REQUIRE(f1.media.size() == 1);
  CHECK(!f1.media[0].mid.empty());
  REQUIRE(f1.media[0].candidates.size() == 1);
  CHECK(f1.media[0].candidates[0].candidate.address == config.address);
  CHECK(f1.media[0].end_of_candidates);
  CHECK(whip::IceFragment::parse(f1.to_string()).ok());
  CHECK(sfu.ufrag_routes() == 3);  // the old ufrag routes until the new generation's checks arrive
  REQUIRE(loop.run_until(Timestamp::Zero() + TimeDelta::Millis(3500)).ok());
  CHECK(sfu.ufrag_routes() == 2);
  CHECK(sub.pc->selected_ice_ufrag() == sub.pc->local_ice_credentials().ufrag);
  const uint64_t frames_after_sub = sub.frames_decoded(loop.now());
  MESSAGE("subscriber restart: frames " << frames_before << " -> " << frames_after_sub);
  CHECK(frames_after_sub >= frames_before + 18);  // 1.5 s at 15 fps, most of it

  // 2. The publisher restarts.
  auto r2 = rs_restart(pub, signalling.whip_handler(), "pubres", loop.now());
  REQUIRE(std::holds_alternative<whip::IceFragment>(r2));
  REQUIRE(loop.run_until(Timestamp::Zero() + TimeDelta::Seconds(5)).ok());
  CHECK(pub.pc->selected_ice_ufrag() == pub.pc->local_ice_credentials().ufrag);
  const uint64_t frames_after_pub = sub.frames_decoded(loop.now());
  MESSAGE("publisher restart: frames " << frames_after_sub << " -> " << frames_after_pub);
  CHECK(frames_after_pub >= frames_after_sub + 18);
  CHECK(sfu.ufrag_routes() == 2);

  // 3. The subscriber moves to its second network. What it sends from there before ICE validated
  // the address (media-looking bytes) steers nothing; after its restart the media follows it.
  const ice::TransportAddress old_address = *sfu.session(sub_id)->remote_address();
  sub.active = 1;
  const ice::TransportAddress new_address = icesim::to_ice(sub.attachments[1].bound);
  const uint64_t dropped_before = sfu.counters().unauthenticated_dropped;
  std::vector<uint8_t> fake_rtp(100, 0);
  fake_rtp[0] = 0x80;
  fake_rtp[1] = 96;
  sub.send_raw(config.address, fake_rtp, loop.now());
  REQUIRE(loop.run_until(loop.now() + TimeDelta::Millis(100)).ok());
  CHECK(sfu.counters().unauthenticated_dropped >= dropped_before + 1);  // with its RTCP from there
  CHECK(*sfu.session(sub_id)->remote_address() == old_address);
  const uint64_t frames_moved = sub.frames_decoded(loop.now());
  auto r3 = rs_restart(sub, signalling.whep_handler(), "subres", loop.now());
  REQUIRE(std::holds_alternative<whip::IceFragment>(r3));
  REQUIRE(loop.run_until(Timestamp::Zero() + TimeDelta::Millis(6500)).ok());
  CHECK(*sfu.session(sub_id)->remote_address() == new_address);
  const uint64_t frames_resumed = sub.frames_decoded(loop.now());
  MESSAGE("moved subscriber: frames " << frames_moved << " -> " << frames_resumed);
  CHECK(frames_resumed >= frames_moved + 15);
  CHECK(sfu.ufrag_routes() == 2);
  MESSAGE("longest subscriber stall: " << longest_stall.ms() << " ms");
  // The move (no media until the restart) is the longest gap; the in-place restarts had none.

  // One DTLS association each across every restart; no SRTP failures.
  for (RsClient* c : {&pub, &sub}) {
    const auto s = c->pc->get_stats(loop.now());
    CHECK(s.counters.dtls_handshakes == 1);
    CHECK(s.counters.srtp_unprotect_failures == 0);
  }
  CHECK(sfu.session(sub_id)->connected());
  CHECK(sfu.ice_restarts(sub_id) == 2);
  CHECK(sfu.ice_restarts(pub_id) == 1);
  CHECK(sfu.counters().ice_restarts == 3);

  // 4. Refused restarts change nothing: unknown resource 404, the current ufrag (not a restart) and
  // an illegal password 400, a fourth restart within a minute 429.
  const std::string ufrag_now = sfu.session(sub_id)->agent().local_credentials().ufrag;
  whip::IceFragment same;
  same.ufrag = sub.pc->local_ice_credentials().ufrag;
  same.pwd = sub.pc->local_ice_credentials().pwd;
  whip::IceFragment short_pwd;
  short_pwd.ufrag = std::string("abcdefgh");
  short_pwd.pwd = std::string("tooshort");
  whip::IceFragment fresh;
  fresh.ufrag = std::string("NewUfrag");
  fresh.pwd = std::string("aFreshPasswordOf24Chars0");
  auto status_of = [](const std::variant<whip::IceFragment, whip::Refusal>& r) {
    return std::holds_alternative<whip::Refusal>(r) ? std::get<whip::Refusal>(r).status : 200;
  };
  const Timestamp now = loop.now();
  CHECK(status_of(signalling.whep_handler().restart("nosuchresource", fresh, now)) == 404);
  CHECK(status_of(signalling.whep_handler().restart("subres", same, now)) == 400);
  CHECK(status_of(signalling.whep_handler().restart("subres", short_pwd, now)) == 400);
  CHECK(sfu.session(sub_id)->agent().local_credentials().ufrag == ufrag_now);
  CHECK(sfu.ice_restarts(sub_id) == 2);
  CHECK(sfu.ufrag_routes() == 2);
  CHECK(sfu.counters().ice_restarts_refused == 2);  // the unknown resource stops at the signalling
  // The third restart in a minute is taken (the client never follows it up: the old generation
  // stays routed, the one before it is gone), the fourth is 429.
  CHECK(status_of(signalling.whep_handler().restart("subres", fresh, now)) == 200);
  CHECK(sfu.ufrag_routes() == 3);
  fresh.ufrag = std::string("NewUfrag2");
  CHECK(status_of(signalling.whep_handler().restart("subres", fresh, now)) == 429);
  CHECK(sfu.ufrag_routes() == 3);
  CHECK(sfu.ice_restarts(sub_id) == 3);
  // Media still flows on the pair the last completed generation selected.
  const uint64_t frames_end = sub.frames_decoded(loop.now());
  REQUIRE(loop.run_until(Timestamp::Zero() + TimeDelta::Seconds(8)).ok());
  CHECK(sub.frames_decoded(loop.now()) >= frames_end + 15);

  // Stats and /metrics carry the restarts.
  const std::string json = sfu.stats_json(loop.now());
  CHECK(json.find("\"iceRestarts\": 3") != std::string::npos);
  const std::string metrics = sfu.prometheus_metrics();
  CHECK(metrics.find("tern_sfu_session_ice_restarts_total{session=\"2\",room=\"room1\",role=\"subscriber\"} 3\n") !=
        std::string::npos);
  CHECK(metrics.find("tern_sfu_ice_restarts_refused_total 3\n") != std::string::npos);
  // A restart of a session the server ended is 404.
  CHECK(sfu.end_session(sub_id, loop.now()));
  CHECK(std::get<sfu::SfuRefusal>(sfu.restart(sub_id, {"abcd", "0123456789012345678901"}, loop.now())).status == 404);
  CHECK(sfu.ufrag_routes() == 1);
  CHECK(longest_stall < TimeDelta::Seconds(1));
}

TEST_CASE("sfu: an ICE restart PATCH through the WHIP endpoint: 200 with the server's fragment, 404, 400, 429") {
  netsim::EventLoop loop;
  dtls::ScopedOpenSslVirtualClock clock([&] { return loop.now(); });
  sfu::SfuConfig config;
  config.address = ice::TransportAddress::Parse("198.51.100.100", 3478).value();
  auto created = sfu::SfuServer::Create(config);
  REQUIRE_MESSAGE(created.ok(), created.error());
  sfu::SfuServer& sfu = **created;
  sfu::SfuSignalling signalling(sfu);
  whip::WhipEndpointConfig ec;
  ec.id_generator = [] { return std::string("res1"); };
  whip::WhipEndpoint endpoint(ec, signalling.whip_handler());

  auto pc = tern::sfu_test::make_sfu_test_pc(TransportAddress{IpAddress::V4(198, 51, 100, 1), 40000}, 0, true,
                                             {400, 0x1000'0000u, 5, false});
  const Timestamp now = Timestamp::Zero();
  auto offer = pc->create_offer(now);
  REQUIRE(offer.ok());
  const whip::HttpResponse posted = endpoint.handle({"POST", "/whip/room1", {{"Content-Type", "application/sdp"}}, offer->sdp}, now);
  REQUIRE(posted.status == 201);
  auto patch = [&](const std::string& path, const std::string& ufrag, const std::string& pwd) {
    whip::IceFragment f;
    f.ufrag = ufrag;
    f.pwd = pwd;
    return endpoint.handle({"PATCH", path, {{"Content-Type", "application/trickle-ice-sdpfrag"}, {"If-Match", "*"}},
                            f.to_string()}, now);
  };
  const std::string pwd = "0123456789abcdefABCDEF";
  const whip::HttpResponse ok = patch("/whip/resource/res1", "cli2", pwd);
  INFO(ok.body);
  REQUIRE(ok.status == 200);
  auto fragment = whip::IceFragment::parse(ok.body);
  REQUIRE(fragment.ok());
  CHECK(fragment->ufrag == sfu.session(1)->agent().local_credentials().ufrag);
  CHECK(fragment->pwd == sfu.session(1)->agent().local_credentials().pwd);
  REQUIRE(fragment->media.size() == 1);
  REQUIRE(fragment->media[0].candidates.size() == 1);
  CHECK(fragment->media[0].candidates[0].candidate.address == config.address);
  CHECK(fragment->media[0].end_of_candidates);
  CHECK(patch("/whip/resource/nosuch", "cli3", pwd).status == 404);
  CHECK(patch("/whip/resource/res1", "cli2", pwd).status == 400);  // the current ufrag: no restart
  // Five more in the same minute make six; the seventh is refused until the minute is over.
  for (int i = 0; i < 5; ++i) CHECK(patch("/whip/resource/res1", "cliX" + std::to_string(i), pwd).status == 200);
  CHECK(patch("/whip/resource/res1", "cliY", pwd).status == 429);
  CHECK(sfu.ice_restarts(1) == 6);
  CHECK(sfu.ufrag_routes() == 2);  // the newest and the one before: older generations are gone
  CHECK(endpoint.handle({"PATCH", "/whip/resource/res1", {{"Content-Type", "application/trickle-ice-sdpfrag"}, {"If-Match", "*"}},
                         whip::IceFragment{}.to_string()}, now + TimeDelta::Seconds(61)).status == 400);
  whip::IceFragment later;
  later.ufrag = std::string("cliZ");
  later.pwd = pwd;
  CHECK(endpoint.handle({"PATCH", "/whip/resource/res1", {{"Content-Type", "application/trickle-ice-sdpfrag"}, {"If-Match", "*"}},
                         later.to_string()}, now + TimeDelta::Seconds(61)).status == 200);
}
