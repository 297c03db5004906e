// PeerConnection ICE restarts on netsim's addressed Internet in simulated time (signalling through a
// 30 ms hop, candidates trickled with their ufrag): an offerer-initiated restart mid-call keeps
// video decoding, the data channel delivering and the one DTLS association, with the new
// generation's credentials selecting the pair; a client whose network changes (it moves behind
// another NAT) loses its media without a restart and gets it back within 2 s with one; a restart
// the answerer initiates is answered with new credentials and the DTLS role kept; renegotiation
// that would change media is refused with the state intact, a no-op one is accepted; a connection
// whose ICE failed recovers through a restart (failed -> connecting -> connected).
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tern/dtls/openssl_virtual_clock.h"
#include "tern/icesim/hosts.h"
#include "tern/netsim/event_loop.h"
#include "tern/netsim/internet.h"
#include "tern/netsim/nat.h"
#include "tern/webrtc/peer_connection.h"

using namespace tern;
using webrtc::PeerConnection;
using webrtc::PeerConnectionEvent;
using Type = webrtc::PeerConnectionEvent::Type;

namespace {

const std::shared_ptr<const dtls::DtlsCertificate>& restart_certificate(int i) {
  static const std::shared_ptr<const dtls::DtlsCertificate> certs[2] = {dtls::DtlsCertificate::Generate("a").value(),
                                                                        dtls::DtlsCertificate::Generate("b").value()};
  return certs[i];
}

netsim::LinkConfig delay_link(TimeDelta delay) {
  netsim::LinkConfig l;
  l.delay = delay;
  return l;
}

// One PeerConnection whose socket 0 is one of its network attachments (a netsim host and bound
// port each): `active` is where it sends from and what it hears; the others are dead to it (a
// phone that left its Wi-Fi for LTE).
class Side final : public netsim::DatagramReceiver, public Pollable {
 public:
  struct Attachment {
    netsim::HostId host;
    TransportAddress bound;
  };
  explicit Side(netsim::Internet& net) : net_(net) {}
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
        if (blackholed) continue;
        const Attachment& a = attachments[active];
        (void)net_.send(a.host, netsim::Datagram{a.bound, icesim::from_ice(o.destination), std::move(o.data)}, now);
      }
      while (auto e = pc->poll_event()) {
        any = true;
        if (e->type == Type::kConnectionStateChanged) states.push_back(e->connection_state);
        if (e->type == Type::kIceStateChanged) ice_states.push_back(e->ice_state);
        if (e->type == Type::kDtlsStateChanged) ++dtls_events;
        if (on_event) on_event(*e, now);
      }
      if (!any) return;
    }
  }
  uint64_t frames_decoded(Timestamp now) const {
    const auto s = pc->get_stats(now);
    const auto* in = s.media.inbound("video");
    return in != nullptr && in->frames_decoded ? *in->frames_decoded : 0;
  }

  std::unique_ptr<PeerConnection> pc;
  std::vector<Attachment> attachments;
  size_t active = 0;
  bool blackholed = false;  // everything it sends is lost
  std::function<void(PeerConnectionEvent&, Timestamp)> on_event;
  std::vector<webrtc::ConnectionState> states;
  std::vector<ice::IceState> ice_states;
  int dtls_events = 0;

 private:
  netsim::Internet& net_;
};

// Two PeerConnections: side 0 ("client") offers first and opens a data channel on which it sends
// a message every 100 ms; side 1 ("server") echoes. Every 50 ms both sides' decoded video frame
// counts are sampled.
struct Call {
  // natted: the client sits behind a port-restricted NAT, with a second host behind another one
  // (its other network) to move to; the server is a public host.
  explicit Call(bool natted)
      : clock([this] { return loop.now(); }), net(7) {
    for (int i = 0; i < 2; ++i) side[i] = std::make_unique<Side>(net);
    const netsim::AccessLinks wan{delay_link(TimeDelta::Millis(5)), delay_link(TimeDelta::Millis(5))};
    const netsim::AccessLinks access{delay_link(TimeDelta::Millis(20)), delay_link(TimeDelta::Millis(20))};
    auto add = [&](int i, netsim::RealmId realm, IpAddress address) {
      auto host = net.add_host(realm, {address}, access);
      REQUIRE(host.ok());
      auto bound = net.bind(*host, TransportAddress{address, 40000});
      REQUIRE(bound.ok());
      side[i]->attach(*host, *bound);
    };
    if (natted) {
      for (uint8_t n = 1; n <= 2; ++n) {
        auto realm = net.add_nat(netsim::NatConfig::Of(netsim::NatKind::kPortRestricted, IpAddress::V4(203, 0, 113, n)),
                                 netsim::kPublicRealm, wan);
        REQUIRE(realm.ok());
        add(0, *realm, IpAddress::V4(192, 168, n, 10));
      }
    } else {
      add(0, netsim::kPublicRealm, IpAddress::V4(198, 51, 100, 1));
    }
    add(1, netsim::kPublicRealm, IpAddress::V4(198, 51, 100, 2));

    for (int i = 0; i < 2; ++i) {
      const auto n = static_cast<uint32_t>(i + 1);
      webrtc::PeerConnectionConfig c;
      c.certificate = restart_certificate(i);
      c.sockets = {ice::LocalSocket{0, icesim::to_ice(side[i]->attachments[0].bound), {}}};
      c.seed = 100 + n;
      c.audio_ssrc = 0x1000'0001u + n * 16u;
      c.video_ssrc = 0x1000'0002u + n * 16u;
      c.video_rtx_ssrc = 0x1000'0003u + n * 16u;
      c.media.send.width = 160;
      c.media.send.height = 96;
      c.media.send.fps = 15;
      c.media.send.source_seed = n;
      c.media.measure_quality = false;
      c.media.seed = n;
      auto pc = PeerConnection::Create(c);
      REQUIRE_MESSAGE(pc.ok(), pc.error());
      side[i]->pc = std::move(pc).value();
    }
    for (int i = 0; i < 2; ++i) {
      Side* peer = side[1 - i].get();
      side[i]->on_event = [this, peer, i](PeerConnectionEvent& e, Timestamp now) {
        if (e.type == Type::kLocalCandidate) {
          loop.post_in(hop, [this, peer, c = e.candidate] {
            CHECK(peer->pc->add_ice_candidate(c, loop.now()).ok());
            peer->flush(loop.now());
          });
        } else if (i == 0 && e.type == Type::kDataChannelOpen) {
          channel = e.channel;
        } else if (i == 0 && e.type == Type::kDataChannelMessage) {
          echoes.push_back(now);
        } else if (i == 1 && e.type == Type::kDataChannelMessage) {
          CHECK(side[1]->pc->send(e.channel, e.data, e.binary, now).ok());
        }
      };
      loop.add_pollable(side[i].get());
    }
    loop.add_pollable(&net);
    REQUIRE(side[0]->pc->create_data_channel("dc", {}, loop.now()).ok());
    sample();
  }

  void sample() {
    const Timestamp now = loop.now();
    for (int i = 0; i < 2; ++i) frames[i].emplace_back(now, side[i]->frames_decoded(now));
    if (channel) {
      const std::string text = "tick " + std::to_string(frames[0].size());
      (void)side[0]->pc->send_text(*channel, text, now);  // refused only while the buffer is full
      side[0]->flush(now);
    }
    loop.post_in(TimeDelta::Millis(50), [this] { sample(); });
  }

  // `from` offers (restarting ICE first when asked), the other answers; each step crosses the hop.
  // `answer_edit` may change the answer's SDP on its way.
  void negotiate(int from, bool restart, std::function<void(std::string&)> answer_edit = {}) {
    PeerConnection& o = *side[from]->pc;
    if (restart) o.restart_ice();
    auto offer = o.create_offer(loop.now());
    REQUIRE_MESSAGE(offer.ok(), offer.error());
    offers.push_back(offer->sdp);
    REQUIRE(o.set_local_description(*offer, loop.now()).ok());
    side[from]->flush(loop.now());
    loop.post_in(hop, [this, from, sdp = *offer, answer_edit] {
      PeerConnection& a = *side[1 - from]->pc;
      Status st = a.set_remote_description(sdp, loop.now());
      REQUIRE_MESSAGE(st.ok(), st.error());
      auto answer = a.create_answer(loop.now());
      REQUIRE(answer.ok());
      answers.push_back(answer->sdp);
      REQUIRE(a.set_local_description(*answer, loop.now()).ok());
      side[1 - from]->flush(loop.now());
      webrtc::SessionDescriptionInit sent = *answer;
      if (answer_edit) answer_edit(sent.sdp);
      loop.post_in(hop, [this, from, sent] {
        answer_status = side[from]->pc->set_remote_description(sent, loop.now());
        side[from]->flush(loop.now());
      });
    });
  }

  // The first exchange (the client offers), 2 s of call, both connected.
  void connect() {
    negotiate(0, false);
    run_until(2.0);
    for (int i = 0; i < 2; ++i) {
      INFO("side " << i);
      REQUIRE(side[i]->pc->connection_state() == webrtc::ConnectionState::kConnected);
    }
  }

  void run_until(double seconds) { REQUIRE(loop.run_until(Timestamp::Zero() + TimeDelta::SecondsF(seconds)).ok()); }

  // Side i's decoded frames at (the last sample before) `seconds`.
  uint64_t frames_at(int i, double seconds) const {
    uint64_t n = 0;
    for (const auto& [t, f] : frames[i])
      if (t <= Timestamp::Zero() + TimeDelta::SecondsF(seconds)) n = f;
    return n;
  }
  // The longest time side i's decoded frame count stood still within [from, to] seconds.
  double longest_freeze_ms(int i, double from, double to) const {
    double longest = 0;
    std::optional<std::pair<Timestamp, uint64_t>> last;
    for (const auto& [t, f] : frames[i]) {
      if (t < Timestamp::Zero() + TimeDelta::SecondsF(from) || t > Timestamp::Zero() + TimeDelta::SecondsF(to)) continue;
      if (!last || f != last->second) {
        last = {t, f};
      } else {
        longest = std::max(longest, (t - last->first).ms_f());
      }
    }
    return longest;
  }
  size_t echoes_between(double from, double to) const {
    return static_cast<size_t>(std::count_if(echoes.begin(), echoes.end(), [&](Timestamp t) {
      return t >= Timestamp::Zero() + TimeDelta::SecondsF(from) && t < Timestamp::Zero() + TimeDelta::SecondsF(to);
    }));
  }

  netsim::EventLoop loop;
  dtls::ScopedOpenSslVirtualClock clock;
  netsim::Internet net;
  std::unique_ptr<Side> side[2];
  const TimeDelta hop = TimeDelta::Millis(30);
  std::optional<webrtc::DataChannelHandle> channel;
  std::vector<Timestamp> echoes;
  std::vector<std::pair<Timestamp, uint64_t>> frames[2];
  std::vector<std::string> offers, answers;
  Status answer_status = Status::Ok();
};

std::string attribute(const std::string& sdp, const std::string& name) {
  const size_t at = sdp.find("a=" + name + ":");
  if (at == std::string::npos) return "";
  const size_t begin = at + name.size() + 3;
  return sdp.substr(begin, sdp.find('\r', begin) - begin);
}

std::string origin_version(const std::string& sdp) {
  const size_t at = sdp.find("o=");
  const std::string line = sdp.substr(at, sdp.find('\r', at) - at);  // o=- <id> <version> IN IP4 ...
  const size_t id = line.find(' ') + 1;
  const size_t version = line.find(' ', id) + 1;
  return line.substr(version, line.find(' ', version) - version);
}

}  // namespace

TEST_CASE("ICE restart: offerer-initiated mid-call keeps media, data and the DTLS association") {
  Call call(false);
  call.connect();
  PeerConnection& a = *call.side[0]->pc;
  PeerConnection& b = *call.side[1]->pc;
  const std::string a_ufrag = a.local_ice_credentials().ufrag;
  const std::string b_ufrag = b.local_ice_credentials().ufrag;
  const auto dtls_at = a.dtls_connected_at();
  REQUIRE(a.selected_ice_ufrag() == a_ufrag);
  const size_t states_before[2] = {call.side[0]->states.size(), call.side[1]->states.size()};
  const uint64_t pairs_before[2] = {a.counters().selected_pair_changes, b.counters().selected_pair_changes};

  call.negotiate(0, true);
  call.run_until(4.0);
  REQUIRE(call.answer_status.ok());

  // The restart offer: new credentials, the same fingerprint and mids, o= version incremented.
  REQUIRE(call.offers.size() == 2);
  const std::string& first = call.offers[0];
  const std::string& second = call.offers[1];
  CHECK(attribute(second, "ice-ufrag") != attribute(first, "ice-ufrag"));
  CHECK(attribute(second, "ice-pwd") != attribute(first, "ice-pwd"));
  CHECK(attribute(second, "fingerprint") == attribute(first, "fingerprint"));
  CHECK(attribute(second, "group") == attribute(first, "group"));
  CHECK(attribute(second, "setup") == "actpass");
  CHECK(origin_version(first) == "2");
  CHECK(origin_version(second) == "3");
  CHECK(attribute(call.answers[1], "ice-ufrag") != attribute(call.answers[0], "ice-ufrag"));
  CHECK(attribute(call.answers[1], "setup") == "active");

  // Both agents run the new generation, and it selected the pair.
  CHECK(a.local_ice_credentials().ufrag != a_ufrag);
  CHECK(a.local_ice_credentials().ufrag == attribute(second, "ice-ufrag"));
  CHECK(b.local_ice_credentials().ufrag != b_ufrag);
  CHECK(a.selected_ice_ufrag() == a.local_ice_credentials().ufrag);
  CHECK(b.selected_ice_ufrag() == b.local_ice_credentials().ufrag);
  CHECK(b.remote_ice_ufrag() == a.local_ice_credentials().ufrag);
  CHECK(a.remote_ice_ufrag() == b.local_ice_credentials().ufrag);
  CHECK(a.counters().ice_restarts == 1);
  CHECK(a.counters().ice_restarts_remote == 0);
  CHECK(b.counters().ice_restarts == 1);
  CHECK(b.counters().ice_restarts_remote == 1);
  CHECK(a.counters().renegotiations == 1);
  CHECK(b.counters().renegotiations == 1);
  CHECK(a.counters().selected_pair_changes > pairs_before[0]);
  CHECK(b.counters().selected_pair_changes > pairs_before[1]);
  const std::string json = a.get_stats(call.loop.now()).to_json();
  CHECK(json.find("\"ternIceRestarts\": 1") != std::string::npos);

  // One DTLS association throughout; the connection never left "connected".
  for (int i = 0; i < 2; ++i) {
    INFO("side " << i);
    PeerConnection& pc = *call.side[i]->pc;
    CHECK(pc.counters().dtls_handshakes == 1);
    CHECK(call.side[i]->dtls_events == 2);  // connecting, connected
    CHECK(call.side[i]->states.size() == states_before[i]);
    CHECK(pc.connection_state() == webrtc::ConnectionState::kConnected);
    CHECK(pc.ice_state() == ice::IceState::kConnected);
    CHECK(pc.counters().srtp_unprotect_failures == 0);
    CHECK(pc.counters().renegotiations_refused == 0);
  }
  CHECK(a.dtls_connected_at() == dtls_at);

  // Video kept decoding both ways across it (15 fps: a frame every 67 ms), the channel delivering.
  for (int i = 0; i < 2; ++i) {
    INFO("side " << i);
    CHECK(call.frames_at(i, 2.0) >= 15);
    CHECK(call.frames_at(i, 4.0) >= call.frames_at(i, 2.0) + 25);
    CHECK(call.longest_freeze_ms(i, 1.5, 4.0) <= 300);
  }
  CHECK(call.echoes_between(2.0, 4.0) >= 18);
  MESSAGE("decoded frames 2.0 -> 4.0 s: " << call.frames_at(0, 2.0) << " -> " << call.frames_at(0, 4.0)
                                          << ", longest freeze " << call.longest_freeze_ms(0, 1.5, 4.0) << " ms");
}

namespace {

struct MoveResult {
  uint64_t frames_at_move = 0;  // the client's decoded frames when it moved
  uint64_t frames_after_2s = 0; // ... 2 s later
  uint64_t frames_end = 0;
  double resumed_after_ms = -1;  // first decoded frame after the move, from the move
  size_t echoes_late = 0;        // data channel echoes in the last second
  std::string server_remote_before, server_remote_after;
  uint64_t client_restarts = 0;
};

// The client moves to its other network (behind another NAT) at 2 s; with `restart` it restarts
// ICE at once, as an application that saw its network change would.
MoveResult run_move(bool restart) {
  Call call(true);
  call.connect();
  MoveResult r;
  auto server_remote = [&] {
    const auto s = call.side[1]->pc->get_stats(call.loop.now());
    return s.transport.remote_candidate ? s.transport.remote_candidate->address : std::string();
  };
  r.server_remote_before = server_remote();
  r.frames_at_move = call.side[0]->frames_decoded(call.loop.now());
  call.side[0]->active = 1;
  if (restart) call.negotiate(0, true);
  call.run_until(4.0);
  if (restart) REQUIRE(call.answer_status.ok());
  r.frames_after_2s = call.frames_at(0, 4.0);
  call.run_until(5.0);
  r.frames_end = call.frames_at(0, 5.0);
  for (const auto& [t, f] : call.frames[0]) {
    if (t > Timestamp::Zero() + TimeDelta::Seconds(2) && f > r.frames_at_move) {
      r.resumed_after_ms = (t - (Timestamp::Zero() + TimeDelta::Seconds(2))).ms_f();
      break;
    }
  }
  r.echoes_late = call.echoes_between(4.0, 5.0);
  r.server_remote_after = server_remote();
  r.client_restarts = call.side[0]->pc->counters().ice_restarts;
  CHECK(call.side[0]->pc->counters().dtls_handshakes == 1);
  CHECK(call.side[1]->pc->counters().dtls_handshakes == 1);
  return r;
}

}  // namespace

TEST_CASE("ICE restart: the client's network changes, without a restart media stops, with one it resumes") {
  SUBCASE("without a restart") {
    const MoveResult r = run_move(false);
    CHECK(r.client_restarts == 0);
    CHECK(r.frames_at_move >= 10);
    // A frame or two in flight at the move, then nothing reaches the old network.
    CHECK(r.frames_end <= r.frames_at_move + 3);
    CHECK(r.echoes_late == 0);
    CHECK(r.server_remote_after == r.server_remote_before);
  }
  SUBCASE("with a restart") {
    const MoveResult r = run_move(true);
    CHECK(r.client_restarts == 1);
    CHECK(r.frames_at_move >= 10);
    CHECK(r.resumed_after_ms >= 0);
    CHECK(r.resumed_after_ms <= 2000);
    CHECK(r.frames_end >= r.frames_after_2s + 10);  // flowing again, 15 fps
    CHECK(r.echoes_late >= 8);
    // The server now sends to the client's new NAT.
    CHECK(r.server_remote_before == "203.0.113.1");
    CHECK(r.server_remote_after == "203.0.113.2");
    MESSAGE("video resumed " << r.resumed_after_ms << " ms after the move");
  }
}

TEST_CASE("ICE restart: initiated by the answerer, the original offerer answers with new credentials") {
  Call call(false);
  call.connect();
  PeerConnection& a = *call.side[0]->pc;
  PeerConnection& b = *call.side[1]->pc;
  const std::string a_ufrag = a.local_ice_credentials().ufrag;
  const std::string b_ufrag = b.local_ice_credentials().ufrag;
  const uint64_t frames_before = call.frames_at(0, 2.0);

  call.negotiate(1, true);  // B, the first answerer, offers a restart
  call.run_until(4.0);
  REQUIRE(call.answer_status.ok());
  REQUIRE(call.answers.size() == 2);
  // A's answer: new credentials, and passive (A stays the DTLS server: the association is kept).
  CHECK(attribute(call.answers[1], "ice-ufrag") == a.local_ice_credentials().ufrag);
  CHECK(a.local_ice_credentials().ufrag != a_ufrag);
  CHECK(b.local_ice_credentials().ufrag != b_ufrag);
  CHECK(attribute(call.answers[1], "setup") == "passive");
  CHECK(origin_version(call.offers[1]) == "3");  // B's second description
  CHECK(a.counters().ice_restarts_remote == 1);
  CHECK(b.counters().ice_restarts_remote == 0);
  CHECK(a.selected_ice_ufrag() == a.local_ice_credentials().ufrag);
  CHECK(b.selected_ice_ufrag() == b.local_ice_credentials().ufrag);
  for (int i = 0; i < 2; ++i) {
    INFO("side " << i);
    PeerConnection& pc = *call.side[i]->pc;
    const auto s = pc.get_stats(call.loop.now());
    CHECK(s.transport.dtls_role == (i == 0 ? "server" : "client"));
    CHECK(s.transport.ice_role == (i == 0 ? "controlling" : "controlled"));  // roles kept
    CHECK(pc.counters().dtls_handshakes == 1);
    CHECK(pc.connection_state() == webrtc::ConnectionState::kConnected);
    CHECK(call.longest_freeze_ms(i, 1.5, 4.0) <= 300);
  }
  CHECK(call.frames_at(0, 4.0) >= frames_before + 25);
  CHECK(call.echoes_between(2.0, 4.0) >= 18);
}

TEST_CASE("ICE restart: renegotiation that changes media is refused with the state intact, a no-op one is accepted") {
  Call call(false);
  call.connect();
  PeerConnection& a = *call.side[0]->pc;
  PeerConnection& b = *call.side[1]->pc;
  const std::string a_ufrag = a.local_ice_credentials().ufrag;

  SUBCASE("an answer with other SSRCs is refused; the real answer is then taken") {
    std::string good_answer;
    call.negotiate(0, false, [&](std::string& sdp) {
      good_answer = sdp;
      const std::string from = std::to_string(0x1000'0002u + 2 * 16u);  // B's video SSRC
      for (size_t at = sdp.find(from); at != std::string::npos; at = sdp.find(from, at)) sdp.replace(at, from.size(), "12345");
    });
    call.run_until(2.2);
    REQUIRE_FALSE(call.answer_status.ok());
    CHECK(std::string(call.answer_status.error()).find("SSRC") != std::string::npos);
    CHECK(a.signaling_state() == webrtc::SignalingState::kHaveLocalOffer);
    CHECK(a.counters().renegotiations_refused == 1);
    CHECK(a.counters().renegotiations == 0);
    Status st = a.set_remote_description({webrtc::SdpType::kAnswer, good_answer}, call.loop.now());
    CHECK_MESSAGE(st.ok(), st.error());
    CHECK(a.signaling_state() == webrtc::SignalingState::kStable);
    CHECK(a.counters().renegotiations == 1);
  }
  SUBCASE("an offer without the video section, or with another codec, is refused in stable state") {
    auto offer = a.create_offer(call.loop.now());
    REQUIRE(offer.ok());
    // Video's codecs cut to one payload type: the negotiated codecs change.
    std::string one_codec = offer->sdp;
    const size_t m = one_codec.find("m=video ");
    REQUIRE(m != std::string::npos);
    const size_t proto = one_codec.find("SAVPF ", m) + 6;
    const size_t eol = one_codec.find('\r', m);
    const std::string first_pt = one_codec.substr(proto, one_codec.find(' ', proto) - proto);
    one_codec.replace(proto, eol - proto, first_pt);
    Status st = b.set_remote_description({webrtc::SdpType::kOffer, one_codec}, call.loop.now());
    REQUIRE_FALSE(st.ok());
    CHECK(std::string(st.error()).find("renegotiation would change") != std::string::npos);
    // The video section gone.
    std::string no_video = offer->sdp;
    const size_t next = no_video.find("m=", m + 2);
    no_video.erase(m, next - m);
    st = b.set_remote_description({webrtc::SdpType::kOffer, no_video}, call.loop.now());
    CHECK_FALSE(st.ok());
    CHECK(b.signaling_state() == webrtc::SignalingState::kStable);
    CHECK(b.counters().renegotiations_refused >= 1);
    const uint64_t frames = call.frames_at(1, 2.0);
    call.run_until(3.0);
    CHECK(b.connection_state() == webrtc::ConnectionState::kConnected);
    CHECK(call.frames_at(1, 3.0) >= frames + 10);  // the call carries on
  }
  SUBCASE("a no-op renegotiation keeps the credentials and restarts nothing") {
    call.negotiate(0, false);
    call.run_until(3.0);
    REQUIRE(call.answer_status.ok());
    CHECK(a.local_ice_credentials().ufrag == a_ufrag);
    CHECK(attribute(call.offers[1], "ice-ufrag") == a_ufrag);
    CHECK(a.counters().ice_restarts == 0);
    CHECK(b.counters().ice_restarts == 0);
    CHECK(a.counters().renegotiations == 1);
    CHECK(b.counters().renegotiations == 1);
    CHECK(a.signaling_state() == webrtc::SignalingState::kStable);
    CHECK(b.signaling_state() == webrtc::SignalingState::kStable);
    CHECK(call.longest_freeze_ms(0, 1.5, 3.0) <= 300);
  }
}

TEST_CASE("ICE restart: recovers a connection whose ICE failed (failed -> connecting -> connected)") {
  Call call(false);
  call.side[0]->blackholed = true;  // nothing the client sends arrives: every check fails
  call.negotiate(0, false);
  call.run_until(12.0);
  PeerConnection& a = *call.side[0]->pc;
  PeerConnection& b = *call.side[1]->pc;
  REQUIRE(a.connection_state() == webrtc::ConnectionState::kFailed);
  REQUIRE(a.ice_state() == ice::IceState::kFailed);
  CHECK(std::string(a.failure_reason()).find("ICE failed") != std::string::npos);
  CHECK(a.counters().dtls_handshakes == 0);

  call.side[0]->blackholed = false;
  call.negotiate(0, true);
  call.run_until(14.0);
  REQUIRE(call.answer_status.ok());
  for (int i = 0; i < 2; ++i) {
    INFO("side " << i);
    PeerConnection& pc = *call.side[i]->pc;
    CHECK(pc.connection_state() == webrtc::ConnectionState::kConnected);
    CHECK(std::string(pc.failure_reason()).empty());
    CHECK(pc.counters().ice_restarts == 1);
    CHECK(pc.counters().dtls_handshakes == 1);
    CHECK(call.frames_at(i, 14.0) >= 10);  // media after the restart (none before: no DTLS)
  }
  // The client's connection went failed, then connecting and connected again (W3C: a restart from
  // "failed" checks anew); its ICE state checking -> connected.
  const auto& states = call.side[0]->states;
  REQUIRE(states.size() >= 3);
  CHECK(states[states.size() - 3] == webrtc::ConnectionState::kFailed);
  CHECK(states[states.size() - 2] == webrtc::ConnectionState::kConnecting);
  CHECK(states.back() == webrtc::ConnectionState::kConnected);
  const auto& ice_states = call.side[0]->ice_states;
  REQUIRE(ice_states.size() >= 3);
  CHECK(ice_states[ice_states.size() - 3] == ice::IceState::kFailed);
  CHECK(ice_states[ice_states.size() - 2] == ice::IceState::kChecking);
  CHECK(ice_states.back() == ice::IceState::kConnected);
  CHECK(b.selected_ice_ufrag() == b.local_ice_credentials().ufrag);
}
