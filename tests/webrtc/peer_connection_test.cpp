// PeerConnection: two of them hold whole calls on netsim's addressed Internet in simulated time
// (offer/answer text and trickled candidates through a signalling hop with its own delay): ICE,
// DTLS (cipher, SRTP profile), audio and video decoded on both sides, a data channel echoing
// messages in order up to 256 KiB, stats; directly between public hosts and through two symmetric
// NATs with a TURN relay; a wrong fingerprint fails the connection with its reason; the same seed
// twice gives identical media stats; garbage SDP and candidates are refused with reasons.
#include <doctest/doctest.h>

#include <array>
#include <chrono>
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
#include "tern/sdp/webrtc_attributes.h"
#include "tern/transport/epoll_driver.h"
#include "tern/transport/udp_socket.h"
#include "tern/webrtc/peer_connection.h"
#include "support/pc_udp_peer.h"

using namespace tern;
using webrtc::PeerConnection;
using webrtc::PeerConnectionEvent;
using Type = webrtc::PeerConnectionEvent::Type;

namespace {

const std::shared_ptr<const dtls::DtlsCertificate>& certificate(int i) {
  static const std::shared_ptr<const dtls::DtlsCertificate> certs[3] = {
      dtls::DtlsCertificate::Generate("a").value(), dtls::DtlsCertificate::Generate("b").value(),
      dtls::DtlsCertificate::Generate("mallory").value()};
  return certs[i];
}

const TransportAddress kTurnServer{IpAddress::V4(198, 51, 100, 50), 3478};

netsim::LinkConfig link(TimeDelta delay, double loss) {
  netsim::LinkConfig l;
  // No capacity limit: DTLS records carry ECDSA signatures whose length varies from run to run,
  // and a serialization delay would carry that into the timing of everything after.
  l.delay = delay;
  if (loss > 0) l.loss = netsim::LossConfig::Random(loss);
  return l;
}

// One PeerConnection on a netsim host with one socket (id 0).
class PcHost final : public netsim::DatagramReceiver, public Pollable {
 public:
  PcHost(netsim::Internet& net, netsim::HostId host, TransportAddress bound) : net_(net), host_(host), bound_(bound) {
    net_.set_receiver(host, this);
  }
  void on_datagram(netsim::HostId, netsim::Datagram d, Timestamp now) override {
    // Wall time of the datagrams handled while DTLS handshakes (its CPU cost), and of the one that
    // connects it (which also keys SRTP and sets up the SCTP association).
    const dtls::DtlsState before = pc->dtls_state();
    const auto start = std::chrono::steady_clock::now();
    pc->on_datagram(0, icesim::to_ice(d.source), d.data, now);
    const double spent = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    const dtls::DtlsState after = pc->dtls_state();
    if (before == dtls::DtlsState::kNew || before == dtls::DtlsState::kConnecting) {
      if (after == dtls::DtlsState::kConnected) {
        connect_wall_ms += spent;
      } else if (after != dtls::DtlsState::kNew) {
        dtls_wall_ms += spent;
      }
    }
    flush(now);
  }
  std::optional<Timestamp> next_wakeup() const override { return pc->next_wakeup(); }
  void process(Timestamp now) override {
    pc->process(now);
    flush(now);
  }
  // Sends what the PeerConnection queued and hands its events to on_event, until both are empty.
  void flush(Timestamp now) {
    for (int round = 0; round < 64; ++round) {
      bool any = false;
      for (ice::IceOutgoing& o : pc->take_outgoing()) {
        any = true;
        (void)net_.send(host_, netsim::Datagram{bound_, icesim::from_ice(o.destination), std::move(o.data)}, now);
      }
      while (auto e = pc->poll_event()) {
        any = true;
        if (e->type == Type::kFirstFrame && e->kind == "video" && !first_video) first_video = now;
        if (e->type == Type::kConnectionStateChanged) states.push_back(e->connection_state);
        if (on_event) on_event(*e, now);
      }
      if (!any) return;
    }
  }

  std::unique_ptr<PeerConnection> pc;
  std::function<void(PeerConnectionEvent&, Timestamp)> on_event;
  std::optional<Timestamp> first_video;
  std::vector<webrtc::ConnectionState> states;
  double dtls_wall_ms = 0;
  double connect_wall_ms = 0;

 private:
  netsim::Internet& net_;
  netsim::HostId host_;
  TransportAddress bound_;
};

struct CallOptions {
  uint64_t seed = 1;
  bool nat_turn = false;
  bool wrong_fingerprint = false;
  double loss = 0.01;  // each way on both access links
  TimeDelta duration = TimeDelta::Seconds(4);
};

struct CallResult {
  webrtc::PeerConnectionStats stats[2];
  std::optional<Timestamp> first_video[2];
  std::optional<Timestamp> dtls_connected[2];
  webrtc::ConnectionState state[2] = {};
  std::string failure[2];
  std::vector<std::vector<uint8_t>> sent, echoed;
  size_t remote_channels_opened = 0;
  size_t tracks[2] = {0, 0};
  double wall_ms = 0;
  double dtls_wall_ms = 0;     // wall time both sides spent in datagrams received while DTLS handshaked
  double connect_wall_ms = 0;  // ... in the datagrams that connected DTLS (SRTP keyed, SCTP set up)
};

std::vector<uint8_t> message(size_t i) {
  const size_t size = i == 10 ? 262144 : 16 + i * 97;
  std::vector<uint8_t> m(size);
  for (size_t k = 0; k < size; ++k) m[k] = static_cast<uint8_t>(i * 31 + k * 7);
  return m;
}

CallResult run_call(const CallOptions& o) {
  const auto wall_start = std::chrono::steady_clock::now();
  netsim::EventLoop loop;
  dtls::ScopedOpenSslVirtualClock clock([&] { return loop.now(); });
  netsim::Internet net(o.seed);
  std::unique_ptr<icesim::TurnServerHost> turn;
  std::unique_ptr<PcHost> side[2];

  const netsim::AccessLinks clean{link(TimeDelta::Zero(), 0), link(TimeDelta::Zero(), 0)};
  std::vector<webrtc::IceServer> servers;
  if (o.nat_turn) {
    auto server_host = net.add_host(netsim::kPublicRealm, {kTurnServer.ip}, clean);
    REQUIRE(server_host.ok());
    ice::TurnServerConfig sc;
    sc.realm = "tern-test";
    sc.users = {{"a", "pa"}, {"b", "pb"}};
    sc.nonce_secret = o.seed * 7 + 1;
    auto t = icesim::TurnServerHost::Create(net, *server_host, kTurnServer, sc);
    REQUIRE(t.ok());
    turn = std::move(t).value();
  }
  for (int i = 0; i < 2; ++i) {
    const uint8_t n = static_cast<uint8_t>(i + 1);
    netsim::RealmId realm = netsim::kPublicRealm;
    IpAddress address = IpAddress::V4(198, 51, 100, n);
    if (o.nat_turn) {
      auto r = net.add_nat(netsim::NatConfig::Of(netsim::NatKind::kSymmetric, IpAddress::V4(203, 0, 113, n)),
                           netsim::kPublicRealm, clean);
      REQUIRE(r.ok());
      realm = *r;
      address = IpAddress::V4(192, 168, n, 10);
    }
    // 20 ms and o.loss each way on both access links.
    auto host = net.add_host(realm, {address}, {link(TimeDelta::Millis(20), o.loss), link(TimeDelta::Millis(20), o.loss)});
    REQUIRE(host.ok());
    auto bound = net.bind(*host, TransportAddress{address, 40000});
    REQUIRE(bound.ok());
    side[i] = std::make_unique<PcHost>(net, *host, *bound);
    webrtc::PeerConnectionConfig c;
    c.certificate = certificate(i);
    c.sockets = {ice::LocalSocket{0, icesim::to_ice(*bound), {}}};
    if (o.nat_turn) {
      c.ice_servers.push_back({webrtc::IceServer::Kind::kTurn, icesim::to_ice(kTurnServer), i == 0 ? "a" : "b",
                               i == 0 ? "pa" : "pb"});
    }
    c.seed = o.seed * 1000 + n;
    c.audio_ssrc = 0x1000'0001u + n * 16u;
    c.video_ssrc = 0x1000'0002u + n * 16u;
    c.video_rtx_ssrc = 0x1000'0003u + n * 16u;
    c.media.send.width = 320;
    c.media.send.height = 180;
    c.media.send.fps = 15;
    c.media.send.source_seed = o.seed + n;
    c.media.measure_quality = false;
    c.media.seed = o.seed + n;
    auto pc = PeerConnection::Create(c);
    REQUIRE_MESSAGE(pc.ok(), pc.error());
    side[i]->pc = std::move(pc).value();
  }
  PeerConnection& a = *side[0]->pc;
  PeerConnection& b = *side[1]->pc;

  // Signalling: everything crosses a 30 ms hop (posted on the loop, never inside the sender's flush).
  const TimeDelta hop = TimeDelta::Millis(30);
  CallResult r;
  for (int i = 0; i < 2; ++i) {
    PcHost* peer = side[1 - i].get();
    PcHost* self = side[i].get();
    self->on_event = [&, peer, self, i](PeerConnectionEvent& e, Timestamp) {
      if (e.type == Type::kLocalCandidate) {
        loop.post_in(hop, [&, peer, c = e.candidate] {
          CHECK(peer->pc->add_ice_candidate(c, loop.now()).ok());
          peer->flush(loop.now());
        });
      } else if (e.type == Type::kTrack) {
        ++r.tracks[i];
      } else if (i == 0 && e.type == Type::kDataChannelOpen) {
        // The offerer's channel is open: send the messages, one of 256 KiB among them.
        for (size_t k = 0; k < 20; ++k) {
          r.sent.push_back(message(k));
          CHECK(self->pc->send(e.channel, r.sent.back(), true, loop.now()).ok());
        }
      } else if (i == 0 && e.type == Type::kDataChannelMessage) {
        r.echoed.push_back(std::move(e.data));
      } else if (i == 1 && e.type == Type::kDataChannelOpen) {
        CHECK(e.remote);
        CHECK(e.label == "echo");
        ++r.remote_channels_opened;
      } else if (i == 1 && e.type == Type::kDataChannelMessage) {
        CHECK(self->pc->send(e.channel, e.data, e.binary, loop.now()).ok());
      }
    };
  }
  for (auto& s : side) loop.add_pollable(s.get());
  loop.add_pollable(&net);
  if (turn) loop.add_pollable(turn.get());

  // A opens a data channel, offers; B answers.
  auto channel = a.create_data_channel("echo", {}, loop.now());
  REQUIRE(channel.ok());
  auto offer = a.create_offer(loop.now());
  REQUIRE(offer.ok());
  REQUIRE(a.set_local_description(*offer, loop.now()).ok());
  side[0]->flush(loop.now());
  loop.post_in(hop, [&, sdp = *offer] {
    REQUIRE(b.set_remote_description(sdp, loop.now()).ok());
    auto answer = b.create_answer(loop.now());
    REQUIRE(answer.ok());
    REQUIRE(b.set_local_description(*answer, loop.now()).ok());
    side[1]->flush(loop.now());
    webrtc::SessionDescriptionInit sent = *answer;
    if (o.wrong_fingerprint) {
      const std::string good = certificate(1)->fingerprint().to_string();
      const std::string bad = certificate(2)->fingerprint().to_string();
      for (size_t at = sent.sdp.find(good); at != std::string::npos; at = sent.sdp.find(good, at))
        sent.sdp.replace(at, good.size(), bad);
    }
    loop.post_in(hop, [&, sent] {
      REQUIRE(a.set_remote_description(sent, loop.now()).ok());
      side[0]->flush(loop.now());
    });
  });

  REQUIRE(loop.run_until(Timestamp::Zero() + o.duration).ok());
  r.dtls_wall_ms = side[0]->dtls_wall_ms + side[1]->dtls_wall_ms;
  r.connect_wall_ms = side[0]->connect_wall_ms + side[1]->connect_wall_ms;
  for (int i = 0; i < 2; ++i) {
    PeerConnection& pc = *side[i]->pc;
    r.stats[i] = pc.get_stats(loop.now());
    r.first_video[i] = side[i]->first_video;
    r.dtls_connected[i] = pc.dtls_connected_at();
    r.state[i] = pc.connection_state();
    r.failure[i] = pc.failure_reason();
  }
  a.close(loop.now());
  side[0]->flush(loop.now());
  CHECK(a.connection_state() == webrtc::ConnectionState::kClosed);
  // The peer gets the close_notify: its DTLS transport is closed, its connection state stays
  // "connected" (W3C: only close() closes a connection; it read "connecting" before).
  REQUIRE(loop.run_until(loop.now() + TimeDelta::Millis(500)).ok());
  if (r.state[1] == webrtc::ConnectionState::kConnected) {  // a call that connected
    CHECK(b.get_stats(loop.now()).transport.dtls_state == "closed");
    CHECK(b.connection_state() == webrtc::ConnectionState::kConnected);
  }
  r.wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_start).count();
  return r;
}

double ms(const std::optional<Timestamp>& t) { return t ? (*t - Timestamp::Zero()).ms_f() : -1; }

// A whole call: connected, GCM, media decoded both ways, the echo complete and in order.
void check_call(const CallResult& r) {
  for (int i = 0; i < 2; ++i) {
    INFO("side " << i);
    const webrtc::PeerConnectionStats& s = r.stats[i];
    CHECK(r.state[i] == webrtc::ConnectionState::kConnected);
    CHECK(s.transport.tls_version == "DTLSv1.2");
    CHECK(s.transport.dtls_cipher == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
    CHECK(s.transport.srtp_cipher == "AEAD_AES_128_GCM");
    CHECK(s.transport.dtls_role == (i == 0 ? "server" : "client"));  // the answerer is active
    CHECK(s.transport.ice_role == (i == 0 ? "controlling" : "controlled"));
    CHECK(s.transport.dtls_state == "connected");
    REQUIRE(s.transport.local_candidate.has_value());
    REQUIRE(s.transport.remote_candidate.has_value());
    CHECK(r.tracks[i] == 2);
    CHECK(r.first_video[i].has_value());
    // Frames decoded >= 90% of the peer's frames sent (measured at the same instant: the last
    // frames in flight are the slack), audio played.
    const auto* out = r.stats[1 - i].media.outbound("video");
    const auto* in = s.media.inbound("video");
    REQUIRE(out != nullptr);
    REQUIRE(in != nullptr);
    REQUIRE(out->frames_encoded.has_value());
    REQUIRE(in->frames_decoded.has_value());
    CHECK(*out->frames_encoded >= 40);
    CHECK(*in->frames_decoded >= 0.9 * *out->frames_encoded);
    const auto* audio_in = s.media.inbound("audio");
    REQUIRE(audio_in != nullptr);
    CHECK(audio_in->packets_received >= 100);
    CHECK(s.counters.srtp_unprotect_failures == 0);
    CHECK(s.counters.outgoing_dropped == 0);
    CHECK(s.counters.events_dropped == 0);
    const std::string json = s.to_json();
    for (const char* field : {"\"tlsVersion\": \"DTLSv1.2\"", "\"srtpCipher\": \"AEAD_AES_128_GCM\"",
                              "\"type\": \"local-candidate\"", "\"localCandidateId\": \"CL01\"",
                              "\"type\": \"data-channel\"", "\"label\": \"echo\"", "\"type\": \"inbound-rtp\""}) {
      CHECK_MESSAGE(json.find(field) != std::string::npos, field);
    }
    REQUIRE(s.data_channels.size() == 1);
    CHECK(s.data_channels[0].label == "echo");
    CHECK(s.data_channels[0].data_channel_identifier % 2 == 1);  // opened by the offerer, the DTLS server: odd (RFC 8832 6)
  }
  CHECK(r.remote_channels_opened == 1);
  std::string sizes;
  for (const auto& m : r.echoed) sizes += std::to_string(m.size()) + " ";
  INFO("echoed sizes: " << sizes);
  REQUIRE(r.echoed.size() == r.sent.size());
  CHECK(r.sent.size() == 20);
  CHECK(r.echoed == r.sent);
  CHECK(r.stats[0].data_channels[0].messages_received == 20);
  CHECK(r.stats[0].data_channels[0].bytes_sent > 262144);
}

}  // namespace

TEST_CASE("PeerConnection: a whole call on netsim, direct, and the same seed twice") {
  const CallResult r = run_call({});
  check_call(r);
  CHECK(r.stats[0].transport.local_candidate->candidate_type == "host");
  CHECK(r.stats[0].transport.remote_candidate->candidate_type == "host");
  MESSAGE("direct: first decoded video frame at " << ms(r.first_video[0]) << " ms (offerer) / " << ms(r.first_video[1])
                                                  << " ms (answerer) after create_offer; DTLS connected at "
                                                  << ms(r.dtls_connected[0]) << " / " << ms(r.dtls_connected[1])
                                                  << " ms; DTLS handshake wall " << r.dtls_wall_ms << " ms (both sides) + "
                                                  << r.connect_wall_ms << " ms for the connecting datagrams; call wall "
                                                  << r.wall_ms << " ms");
  const CallResult again = run_call({});
  for (int i = 0; i < 2; ++i) {
    CHECK(again.stats[i].media.to_json() == r.stats[i].media.to_json());
    CHECK(again.first_video[i] == r.first_video[i]);
  }
}

TEST_CASE("PeerConnection: a call through two symmetric NATs and a TURN relay") {
  CallOptions o;
  o.nat_turn = true;
  o.seed = 7;
  o.loss = 0;  // the direct call has the loss; SCTP needs ~6 s for 256 KiB at 1% over this longer path
  const CallResult r = run_call(o);
  check_call(r);
  const bool relayed = r.stats[0].transport.local_candidate->candidate_type == "relay" ||
                       r.stats[0].transport.remote_candidate->candidate_type == "relay";
  CHECK(relayed);
  MESSAGE("NAT+TURN: first decoded video frame at " << ms(r.first_video[0]) << " / " << ms(r.first_video[1])
                                                    << " ms; pair " << r.stats[0].transport.local_candidate->candidate_type
                                                    << " -> " << r.stats[0].transport.remote_candidate->candidate_type
                                                    << "; call wall " << r.wall_ms << " ms");
}

TEST_CASE("PeerConnection: a wrong fingerprint fails the connection with the reason, no media") {
  CallOptions o;
  o.wrong_fingerprint = true;
  o.duration = TimeDelta::Seconds(2);
  const CallResult r = run_call(o);
  CHECK(r.state[0] == webrtc::ConnectionState::kFailed);
  CHECK(r.failure[0] == std::string("the peer's certificate does not match the SDP fingerprint"));
  CHECK(r.stats[0].counters.fingerprint_mismatches == 1);
  CHECK(r.state[1] != webrtc::ConnectionState::kConnected);
  for (int i = 0; i < 2; ++i) {
    CHECK(r.stats[i].transport.srtp_cipher.empty());
    const auto* in = r.stats[i].media.inbound("video");
    CHECK((in == nullptr || in->packets_received == 0));
  }
  CHECK(r.echoed.empty());
}

TEST_CASE("PeerConnection: garbage SDP and candidates are refused with reasons, bounds hold") {
  webrtc::PeerConnectionConfig c;
  c.certificate = certificate(0);
  c.sockets = {ice::LocalSocket{0, ice::TransportAddress::V4(192, 0, 2, 1, 40000), {}}};
  c.max_pending_candidates = 4;
  auto created = PeerConnection::Create(c);
  REQUIRE(created.ok());
  PeerConnection& pc = **created;
  const Timestamp now = Timestamp::Zero();
  for (const char* garbage : {"", "garbage", "v=0\r\n", "\x01\x02\x03\xff", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio"}) {
    Status st = pc.set_remote_description({webrtc::SdpType::kOffer, garbage}, now);
    CHECK_FALSE(st.ok());
    CHECK(std::string(st.error()).size() > 0);
  }
  // A well-formed offer without fingerprint, and an answer while stable.
  auto other = PeerConnection::Create(c);
  REQUIRE(other.ok());
  auto offer = (*other)->create_offer(now);
  REQUIRE(offer.ok());
  std::string no_fp;
  for (size_t at = 0; at < offer->sdp.size();) {
    const size_t end = offer->sdp.find("\r\n", at);
    const std::string line = offer->sdp.substr(at, end - at + 2);
    if (line.rfind("a=fingerprint", 0) != 0) no_fp += line;
    at = end + 2;
  }
  CHECK_FALSE(pc.set_remote_description({webrtc::SdpType::kOffer, no_fp}, now).ok());
  CHECK_FALSE(pc.set_remote_description({webrtc::SdpType::kAnswer, offer->sdp}, now).ok());
  CHECK(pc.counters().remote_descriptions_refused == 7);
  CHECK(pc.signaling_state() == webrtc::SignalingState::kStable);
  // Munged local descriptions are refused; the real offer is taken.
  auto own = pc.create_offer(now);
  REQUIRE(own.ok());
  CHECK_FALSE(pc.set_local_description({webrtc::SdpType::kOffer, own->sdp + "a=x\r\n"}, now).ok());
  // Candidates: garbage refused; before the remote description at most 4 wait.
  CHECK_FALSE(pc.add_ice_candidate({"candidate:garbage", "0"}, now).ok());
  for (int i = 0; i < 4; ++i) {
    const std::string cand = "candidate:1 1 udp 2122260223 192.0.2.9 " + std::to_string(50000 + i) + " typ host";
    CHECK(pc.add_ice_candidate({cand, "0"}, now).ok());
  }
  CHECK_FALSE(pc.add_ice_candidate({"candidate:1 1 udp 2122260223 192.0.2.9 50009 typ host", "0"}, now).ok());
  CHECK(pc.counters().candidates_refused == 2);
  // Then the offer is set and a valid answer works; random datagrams never break anything.
  REQUIRE(pc.set_local_description(*own, now).ok());
  CHECK(pc.signaling_state() == webrtc::SignalingState::kHaveLocalOffer);
  Random random(3);
  for (int i = 0; i < 200; ++i) {
    std::vector<uint8_t> d(static_cast<size_t>(random.uniform_int(0, 300)));
    for (auto& byte : d) byte = static_cast<uint8_t>(random.next_u32());
    pc.on_datagram(0, ice::TransportAddress::V4(192, 0, 2, 9, 50000), d, now);
  }
  CHECK(pc.connection_state() != webrtc::ConnectionState::kFailed);
  webrtc::DataChannelOptions negotiated;
  negotiated.negotiated = true;
  CHECK_FALSE(pc.create_data_channel("x", negotiated, now).ok());  // a negotiated channel needs an id
}

using test::to_ice;
using test::UdpPeer;

TEST_CASE("PeerConnection: two connect over real 127.0.0.1 UDP sockets under the epoll driver") {
  auto driver = transport::EpollDriver::Create();
  REQUIRE(driver.ok());
  std::unique_ptr<UdpPeer> peers[2];
  for (int i = 0; i < 2; ++i) {
    auto socket = transport::UdpSocket::Open(transport::SocketAddress::LoopbackV4(0));
    REQUIRE(socket.ok());
    webrtc::PeerConnectionConfig c;
    c.certificate = certificate(i);
    c.sockets = {ice::LocalSocket{0, to_ice(socket->local_address()), {}}};
    c.media.send.width = 320;
    c.media.send.height = 180;
    c.media.measure_quality = false;
    c.seed = 50 + static_cast<uint64_t>(i);
    c.audio_ssrc = 0x3000'0001u + static_cast<uint32_t>(i) * 16u;
    c.video_ssrc = 0x3000'0002u + static_cast<uint32_t>(i) * 16u;
    c.video_rtx_ssrc = 0x3000'0003u + static_cast<uint32_t>(i) * 16u;
    auto pc = PeerConnection::Create(c);
    REQUIRE(pc.ok());
    peers[i] = std::make_unique<UdpPeer>(std::move(socket).value(), std::move(pc).value());
    UdpPeer* p = peers[i].get();
    REQUIRE(driver->add_fd(p->fd(), [p](Timestamp now) { p->on_readable(now); }).ok());
    REQUIRE(driver->add_pollable(p).ok());
  }
  PeerConnection& a = *peers[0]->pc;
  PeerConnection& b = *peers[1]->pc;
  Timestamp now = transport::EpollDriver::Now();
  auto channel = a.create_data_channel("udp", {}, now);
  REQUIRE(channel.ok());
  auto offer = a.create_offer(now);
  REQUIRE(offer.ok());
  REQUIRE(a.set_local_description(*offer, now).ok());
  REQUIRE(b.set_remote_description(*offer, now).ok());
  auto answer = b.create_answer(now);
  REQUIRE(answer.ok());
  REQUIRE(b.set_local_description(*answer, now).ok());
  REQUIRE(a.set_remote_description(*answer, now).ok());
  // Signalling in the loop: candidates cross every 5 ms; the echo answers on B.
  bool echoed = false;
  std::optional<Timestamp> first_video[2];
  size_t seen[2] = {0, 0};
  const Timestamp start = now;
  while (!(echoed && first_video[0] && first_video[1]) && transport::EpollDriver::Now() - start < TimeDelta::Seconds(3)) {
    REQUIRE(driver->run_for(TimeDelta::Millis(5)).ok());
    now = transport::EpollDriver::Now();
    for (int i = 0; i < 2; ++i) {
      UdpPeer& self = *peers[i];
      UdpPeer& peer = *peers[1 - i];
      for (; seen[i] < self.events.size(); ++seen[i]) {
        const PeerConnectionEvent& e = self.events[seen[i]];
        if (e.type == Type::kLocalCandidate) CHECK(peer.pc->add_ice_candidate(e.candidate, now).ok());
        if (e.type == Type::kFirstFrame && e.kind == "video" && !first_video[i]) first_video[i] = now;
        if (i == 0 && e.type == Type::kDataChannelOpen) CHECK(a.send_text(e.channel, "over udp", now).ok());
        if (i == 1 && e.type == Type::kDataChannelMessage) CHECK(b.send(e.channel, e.data, e.binary, now).ok());
        if (i == 0 && e.type == Type::kDataChannelMessage) echoed = std::string(e.data.begin(), e.data.end()) == "over udp";
      }
      self.flush(now);
    }
  }
  CHECK(echoed);
  REQUIRE(first_video[0].has_value());
  REQUIRE(first_video[1].has_value());
  CHECK(a.connection_state() == webrtc::ConnectionState::kConnected);
  CHECK(b.connection_state() == webrtc::ConnectionState::kConnected);
  const auto stats = b.get_stats(now);
  CHECK(stats.transport.srtp_cipher == "AEAD_AES_128_GCM");
  CHECK(stats.transport.local_candidate->address == "127.0.0.1");
  MESSAGE("real UDP: DTLS connected " << (*b.dtls_connected_at() - start).ms_f()
                                      << " ms after create_offer; first decoded video frame at "
                                      << (*first_video[0] - start).ms_f() << " / " << (*first_video[1] - start).ms_f()
                                      << " ms (offerer / answerer, wall, +5 ms loop granularity)");
  for (auto& p : peers) {
    p->pc->close(now);
    p->flush(now);
    driver->remove_pollable(p.get());
    (void)driver->remove_fd(p->fd());  // the driver is destroyed next; nothing to undo on failure
  }
}
