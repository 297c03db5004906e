// SfuServer's ICE-TCP (RFC 6544 passive, RFC 4571 framing), sans-I/O and in memory: the answer's
// passive TCP candidate; a publisher and a subscriber (tern PeerConnections, whose agents only do
// UDP) whose every packet the test carries over an in-memory "TCP connection" in RFC 4571 frames
// cut at awkward points, so the subscriber decodes the publisher's video through the server's TCP
// path only; and the connection rules: garbage first, a wrong password, the connection limit, the
// unbound timeout, a session's end closing its connection.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "tern/dtls/openssl_virtual_clock.h"
#include "tern/ice/stun_message.h"
#include "tern/sfu/sfu_server.h"
#include "tern/webrtc/peer_connection.h"

using namespace tern;

namespace {

const ice::TransportAddress kIceTcpUdp = ice::TransportAddress::V4(192, 0, 2, 1, 3478);
const ice::TransportAddress kIceTcpTcp = ice::TransportAddress::V4(192, 0, 2, 1, 3479);

std::unique_ptr<webrtc::PeerConnection> ice_tcp_pc(int n, bool publisher) {
  static const auto cert = dtls::DtlsCertificate::Generate("sfu-ice-tcp-test").value();
  webrtc::PeerConnectionConfig c;
  c.certificate = cert;
  c.sockets = {ice::LocalSocket{0, ice::TransportAddress::V4(198, 51, 100, static_cast<uint8_t>(n + 1), 40000), {}}};
  c.data_channels = false;
  c.send_audio = publisher;
  c.send_video = publisher;
  c.seed = 300 + static_cast<uint64_t>(n);
  c.audio_ssrc = 0x1000'0001u + static_cast<uint32_t>(n) * 16u;
  c.video_ssrc = 0x1000'0002u + static_cast<uint32_t>(n) * 16u;
  c.video_rtx_ssrc = 0x1000'0003u + static_cast<uint32_t>(n) * 16u;
  c.media.send.width = 160;
  c.media.send.height = 96;
  c.media.send.fps = 15;
  c.media.send.source_seed = 3;
  c.media.measure_quality = false;
  c.media.seed = 9 + static_cast<uint64_t>(n);
  auto pc = webrtc::PeerConnection::Create(c);
  REQUIRE_MESSAGE(pc.ok(), pc.error());
  return std::move(pc).value();
}

// The answer as a UDP-only agent can use it: the TCP candidate as if it were UDP (the test carries
// its packets over the in-memory stream itself).
std::string ice_tcp_as_udp(std::string sdp) {
  const std::string from = " tcp ";
  const auto at = sdp.find(from);
  REQUIRE(at != std::string::npos);
  sdp.replace(at, from.size(), " udp ");
  const std::string tcptype = " tcptype passive";
  const auto t = sdp.find(tcptype);
  REQUIRE(t != std::string::npos);
  sdp.erase(t, tcptype.size());
  return sdp;
}

std::vector<uint8_t> ice_tcp_frame(std::span<const uint8_t> packet) {
  std::vector<uint8_t> f{static_cast<uint8_t>(packet.size() >> 8), static_cast<uint8_t>(packet.size())};
  f.insert(f.end(), packet.begin(), packet.end());
  return f;
}

std::string ice_tcp_attribute(const std::string& sdp, const std::string& name) {
  const auto at = sdp.find("a=" + name + ":");
  REQUIRE(at != std::string::npos);
  const auto start = at + name.size() + 3;
  return sdp.substr(start, sdp.find('\r', start) - start);
}

std::vector<uint8_t> ice_tcp_binding(const std::string& username, const std::string& pwd) {
  ice::TransactionId id;
  id.bytes.fill(7);
  ice::StunMessageBuilder b(ice::StunClass::kRequest, ice::StunMethod::kBinding, id);
  b.add_username(username).add_priority(12345).add_ice_controlling(1);
  b.add_message_integrity(ice::short_term_key(pwd)).add_fingerprint();
  auto m = std::move(b).finish();
  REQUIRE(m.ok());
  return *m;
}

// One client's "TCP connection" to the server: its agent's datagrams to the TCP candidate go in as
// frames, the server's frames on it come back as datagrams from that candidate.
struct IceTcpClient {
  std::unique_ptr<webrtc::PeerConnection> pc;
  sfu::ConnectionId connection = 0;
  std::vector<uint8_t> pending;  // bytes not yet handed to the server (cut at odd points)
  std::vector<uint8_t> inbound;  // the server's stream to this client, not yet deframed
  bool first_video = false;
  bool closed = false;
};

}  // namespace

TEST_CASE("sfu ice-tcp: answer candidates and connection rules") {
  sfu::SfuConfig config;
  config.address = kIceTcpUdp;
  config.tcp_address = kIceTcpTcp;
  config.max_tcp_connections = 3;
  config.tcp_unbound_timeout = TimeDelta::Seconds(5);
  auto server = sfu::SfuServer::Create(config);
  REQUIRE(server.ok());
  sfu::SfuServer& sfu = **server;
  Timestamp now = Timestamp::Zero();

  auto pc = ice_tcp_pc(0, true);
  auto offer = pc->create_offer(now);
  REQUIRE(offer.ok());
  auto r = sfu.publish("room", offer->sdp, now);
  REQUIRE(std::holds_alternative<sfu::SfuAnswer>(r));
  const sfu::SfuAnswer answer = std::get<sfu::SfuAnswer>(r);
  CHECK(answer.sdp.find("a=candidate:1 1 udp 2130706431 192.0.2.1 3478 typ host\r\n") != std::string::npos);
  // RFC 6544 4.2: below the UDP candidate; type preference 90, passive.
  CHECK(answer.sdp.find("a=candidate:2 1 tcp 1520435199 192.0.2.1 3479 typ host tcptype passive\r\n") != std::string::npos);
  const std::string ufrag = ice_tcp_attribute(answer.sdp, "ice-ufrag");
  const std::string pwd = ice_tcp_attribute(answer.sdp, "ice-pwd");
  const std::string remote_ufrag = ice_tcp_attribute(offer->sdp, "ice-ufrag");

  const auto peer = ice::TransportAddress::V4(198, 51, 100, 9, 50000);
  // Garbage first: closed and counted, never reaching a session.
  CHECK(sfu.on_stream_opened(1, peer, now) == sfu::StreamVerdict::kKeep);
  const std::vector<uint8_t> junk = {0x00, 0x04, 0x16, 0xfe, 0xfd, 0x00};
  CHECK(sfu.on_stream_bytes(1, junk, now) == sfu::StreamVerdict::kClose);
  CHECK(sfu.counters().tcp_garbage_closed == 1);
  CHECK(sfu.stream_count() == 0);
  // A Binding request naming the session but with the wrong password: closed, not bound.
  CHECK(sfu.on_stream_opened(2, peer, now) == sfu::StreamVerdict::kKeep);
  CHECK(sfu.on_stream_bytes(2, ice_tcp_frame(ice_tcp_binding(ufrag + ":" + remote_ufrag, "wrong-password-wrong-pwd")), now) ==
        sfu::StreamVerdict::kClose);
  CHECK(sfu.counters().tcp_garbage_closed == 2);
  CHECK(sfu.counters().tcp_connections_bound == 0);
  // The right one, one byte at a time: bound, and the response goes out framed on that connection.
  CHECK(sfu.on_stream_opened(3, peer, now) == sfu::StreamVerdict::kKeep);
  const auto good = ice_tcp_frame(ice_tcp_binding(ufrag + ":" + remote_ufrag, pwd));
  for (size_t i = 0; i < good.size(); ++i) {
    REQUIRE(sfu.on_stream_bytes(3, std::span<const uint8_t>(good).subspan(i, 1), now) == sfu::StreamVerdict::kKeep);
  }
  CHECK(sfu.counters().tcp_connections_bound == 1);
  bool response = false;
  for (const sfu::SfuOutgoing& o : sfu.take_outgoing()) {
    if (o.connection != 3) continue;
    REQUIRE(o.data.size() >= 22);
    CHECK(((size_t{o.data[0]} << 8) | o.data[1]) == o.data.size() - 2);
    CHECK(o.data[2] == 0x01);  // Binding success response 0x0101
    CHECK(o.data[3] == 0x01);
    response = true;
  }
  CHECK(response);
  // The limit: three open, the fourth refused.
  CHECK(sfu.on_stream_opened(4, peer, now) == sfu::StreamVerdict::kKeep);
  CHECK(sfu.on_stream_opened(5, peer, now) == sfu::StreamVerdict::kKeep);
  CHECK(sfu.on_stream_opened(6, peer, now) == sfu::StreamVerdict::kClose);
  CHECK(sfu.counters().tcp_connections_refused == 1);
  // A partial frame is held; unbound connections (4, 5) time out, the bound one (3) stays.
  const std::vector<uint8_t> half = {0x01, 0x00, 0x00};
  CHECK(sfu.on_stream_bytes(4, half, now) == sfu::StreamVerdict::kKeep);
  now = now + TimeDelta::Seconds(5);
  REQUIRE(sfu.next_wakeup().has_value());
  CHECK(*sfu.next_wakeup() <= now);
  sfu.process(now);
  auto closed = sfu.take_closed_streams();
  std::sort(closed.begin(), closed.end());
  CHECK(closed == std::vector<sfu::ConnectionId>{4, 5});
  CHECK(sfu.counters().tcp_unbound_timed_out == 2);
  CHECK(sfu.stream_count() == 1);
  // The session's end closes its connection.
  CHECK(sfu.end_session(answer.id, now));
  CHECK(sfu.take_closed_streams() == std::vector<sfu::ConnectionId>{3});
  CHECK(sfu.stream_count() == 0);
  CHECK(sfu.on_stream_bytes(3, good, now) == sfu::StreamVerdict::kClose);

  // Without a TCP address there are no streams; without UDP candidates the answer has TCP only.
  sfu::SfuConfig udp_only;
  udp_only.address = kIceTcpUdp;
  auto plain = sfu::SfuServer::Create(udp_only);
  REQUIRE(plain.ok());
  CHECK((*plain)->on_stream_opened(1, peer, now) == sfu::StreamVerdict::kClose);
  sfu::SfuConfig tcp_only = config;
  tcp_only.udp_candidate = false;
  auto tcp_server = sfu::SfuServer::Create(tcp_only);
  REQUIRE(tcp_server.ok());
  auto pc2 = ice_tcp_pc(1, true);
  auto offer2 = pc2->create_offer(now);
  REQUIRE(offer2.ok());
  auto r2 = (*tcp_server)->publish("room", offer2->sdp, now);
  REQUIRE(std::holds_alternative<sfu::SfuAnswer>(r2));
  CHECK(std::get<sfu::SfuAnswer>(r2).sdp.find(" udp ") == std::string::npos);
  CHECK(std::get<sfu::SfuAnswer>(r2).sdp.find(" tcp ") != std::string::npos);
}

TEST_CASE("sfu ice-tcp: a publisher's video reaches a subscriber over RFC 4571 streams only") {
  Timestamp now = Timestamp::Zero();
  dtls::ScopedOpenSslVirtualClock clock([&] { return now; });
  sfu::SfuConfig config;
  config.address = kIceTcpUdp;
  config.tcp_address = kIceTcpTcp;
  config.udp_candidate = false;
  auto server = sfu::SfuServer::Create(config);
  REQUIRE(server.ok());
  sfu::SfuServer& sfu = **server;

  IceTcpClient clients[2];
  for (int i = 0; i < 2; ++i) {
    IceTcpClient& c = clients[i];
    c.pc = ice_tcp_pc(i, i == 0);
    auto offer = c.pc->create_offer(now);
    REQUIRE(offer.ok());
    REQUIRE(c.pc->set_local_description(*offer, now).ok());
    auto r = i == 0 ? sfu.publish("room", offer->sdp, now) : sfu.subscribe("room", offer->sdp, now);
    REQUIRE(std::holds_alternative<sfu::SfuAnswer>(r));
    const std::string sdp = ice_tcp_as_udp(std::get<sfu::SfuAnswer>(r).sdp);
    Status st = c.pc->set_remote_description({webrtc::SdpType::kAnswer, sdp}, now);
    INFO("client " << i);
    REQUIRE_MESSAGE(st.ok(), std::string(st.error()));
    c.connection = 10 + static_cast<sfu::ConnectionId>(i);
    REQUIRE(sfu.on_stream_opened(c.connection, ice::TransportAddress::V4(198, 51, 100, 1 + i, 40000), now) ==
            sfu::StreamVerdict::kKeep);
  }

  uint64_t udp_out = 0;
  // 1 ms steps of simulated time, 8 s at most.
  for (int step = 0; step < 8000 && !clients[1].first_video; ++step) {
    now = Timestamp::Zero() + TimeDelta::Millis(step);
    for (IceTcpClient& c : clients) {
      if (c.closed) continue;
      if (auto at = c.pc->next_wakeup(); at && *at <= now) c.pc->process(now);
      for (ice::IceOutgoing& o : c.pc->take_outgoing()) {
        REQUIRE(o.destination == kIceTcpTcp);
        const auto f = ice_tcp_frame(o.data);
        c.pending.insert(c.pending.end(), f.begin(), f.end());
      }
      // Hand over all but the last 3 pending bytes (frames straddle calls), flushing every 5 ms.
      const size_t give = step % 5 == 0 ? c.pending.size() : (c.pending.size() > 3 ? c.pending.size() - 3 : 0);
      if (give > 0) {
        const auto verdict = sfu.on_stream_bytes(c.connection, std::span<const uint8_t>(c.pending).first(give), now);
        REQUIRE(verdict == sfu::StreamVerdict::kKeep);
        c.pending.erase(c.pending.begin(), c.pending.begin() + static_cast<std::ptrdiff_t>(give));
      }
      while (auto e = c.pc->poll_event()) {
        if (e->type == webrtc::PeerConnectionEvent::Type::kFirstFrame && e->kind == "video") c.first_video = true;
      }
    }
    if (auto at = sfu.next_wakeup(); at && *at <= now) sfu.process(now);
    for (sfu::SfuOutgoing& o : sfu.take_outgoing()) {
      if (o.connection == 0) {
        ++udp_out;
        continue;
      }
      for (IceTcpClient& c : clients) {
        if (c.connection != o.connection) continue;
        c.inbound.insert(c.inbound.end(), o.data.begin(), o.data.end());
        while (c.inbound.size() >= 2) {
          const size_t len = (size_t{c.inbound[0]} << 8) | c.inbound[1];
          if (c.inbound.size() < 2 + len) break;
          const std::vector<uint8_t> packet(c.inbound.begin() + 2, c.inbound.begin() + 2 + static_cast<std::ptrdiff_t>(len));
          c.inbound.erase(c.inbound.begin(), c.inbound.begin() + 2 + static_cast<std::ptrdiff_t>(len));
          c.pc->on_datagram(0, kIceTcpTcp, packet, now);
        }
      }
    }
    for (sfu::ConnectionId id : sfu.take_closed_streams()) {
      for (IceTcpClient& c : clients)
        if (c.connection == id) c.closed = true;
    }
  }
  CHECK(clients[1].first_video);
  CHECK(udp_out == 0);
  CHECK(sfu.counters().tcp_connections_bound == 2);
  CHECK(sfu.counters().tcp_garbage_closed == 0);
  CHECK(sfu.counters().tcp_outgoing_unroutable == 0);
  CHECK(sfu.counters().routed_by_username == 0);  // nothing came by UDP
  MESSAGE("first video at " << now.ms() << " ms simulated, " << sfu.counters().tcp_frames_received << " frames in");
}
