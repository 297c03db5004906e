// transport::RtpUdpTransport: what its setup failures say, datagrams of every UDP size (loopback
// sockets only, no processes).
#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "tern/transport/epoll_driver.h"
#include "tern/transport/rtp_udp_transport.h"
#include "tern/transport/udp_socket.h"

using tern::transport::SocketAddress;
using tern::transport::UdpSocket;

namespace {

// A plain transport on 127.0.0.1, any free port.
tern::Result<std::unique_ptr<tern::transport::RtpUdpTransport>> OpenOnLoopback() {
  tern::transport::RtpUdpTransportConfig config;
  config.local = SocketAddress::Parse("127.0.0.1", 0).value();
  return tern::transport::RtpUdpTransport::Open(config);
}

}  // namespace

TEST_CASE("without rtcp-mux a busy RTCP port is named as the RTCP port, not blamed on the RTP port") {
  // Find a free pair P, P+1 and hold P+1 only.
  for (int attempt = 0; attempt < 20; ++attempt) {
    uint16_t rtp_port = 0;
    {
      auto probe = UdpSocket::Open(SocketAddress::Parse("127.0.0.1", 0).value());
      REQUIRE(probe.ok());
      rtp_port = probe->local_address().port();
    }
    if (rtp_port == 65535) continue;
    auto holder = UdpSocket::Open(SocketAddress::Parse("127.0.0.1", static_cast<uint16_t>(rtp_port + 1)).value());
    if (!holder.ok()) continue;  // someone else has P+1: try another pair
    tern::transport::RtpUdpTransportConfig config;
    config.local = SocketAddress::Parse("127.0.0.1", rtp_port).value();
    config.rtcp_mux = false;
    auto t = tern::transport::RtpUdpTransport::Open(config);
    REQUIRE_FALSE(t.ok());
    const std::string expected = "RTCP port " + std::to_string(rtp_port + 1) +
                                 " (the RTP port + 1, no rtcp-mux): udp: bind(127.0.0.1:" +
                                 std::to_string(rtp_port + 1) + ") failed: " + std::strerror(EADDRINUSE);
    CHECK(std::string(t.error()) == expected);
    return;
  }
  FAIL("no free pair of loopback ports found");
}

TEST_CASE("datagrams of any UDP size reach the receive handler whole") {
  auto driver = tern::transport::EpollDriver::Create();
  REQUIRE(driver.ok());
  auto t = OpenOnLoopback();
  REQUIRE(t.ok());
  std::vector<size_t> sizes;
  bool intact = true;
  t.value()->set_receive_handler([&](std::span<const uint8_t> d, bool, tern::Timestamp) {
    sizes.push_back(d.size());
    for (size_t i = 12; i < d.size(); ++i) intact = intact && d[i] == static_cast<uint8_t>(i);
    return true;
  });
  REQUIRE(t.value()->attach(driver.value()).ok());
  auto tx = UdpSocket::Open(SocketAddress::Parse("127.0.0.1", 0).value());
  REQUIRE(tx.ok());
  const size_t kSizes[] = {200, 2049, 4000, 9000, 65507};  // 65507: the IPv4 maximum
  for (size_t size : kSizes) {
    std::vector<uint8_t> rtp(size);
    for (size_t i = 0; i < size; ++i) rtp[i] = static_cast<uint8_t>(i);
    rtp[0] = 0x80;  // RTP version 2, payload type 96
    rtp[1] = 96;
    REQUIRE(tx.value().send_to(rtp, t.value()->rtp_socket().local_address()).ok());
  }
  for (int i = 0; i < 50 && sizes.size() < std::size(kSizes); ++i) {
    REQUIRE(driver.value().run_for(tern::TimeDelta::Millis(10)).ok());
  }
  CHECK(sizes == std::vector<size_t>(std::begin(kSizes), std::end(kSizes)));
  CHECK(intact);
  CHECK(t.value()->counters().rtp_received == std::size(kSizes));
  CHECK(t.value()->counters().truncated == 0);
}

TEST_CASE("the peer is learned only from a datagram the receive handler accepts, and again after forget_peer") {
  auto driver = tern::transport::EpollDriver::Create();
  REQUIRE(driver.ok());
  auto t = OpenOnLoopback();
  REQUIRE(t.ok());
  tern::transport::RtpUdpTransport& rx = *t.value();
  rx.set_learn_peer(true);
  // Of the session: RTP with SSRC 7 only (what an Endpoint's verdict would say).
  rx.set_receive_handler([](std::span<const uint8_t> d, bool, tern::Timestamp) { return d.size() >= 12 && d[11] == 7; });
  REQUIRE(rx.attach(driver.value()).ok());
  auto spoofer = UdpSocket::Open(SocketAddress::Parse("127.0.0.1", 0).value());
  auto sender = UdpSocket::Open(SocketAddress::Parse("127.0.0.1", 0).value());
  auto restarted = UdpSocket::Open(SocketAddress::Parse("127.0.0.1", 0).value());
  REQUIRE((spoofer.ok() && sender.ok() && restarted.ok()));
  auto rtp = [](uint8_t ssrc) {
    std::vector<uint8_t> p(20, 0);
    p[0] = 0x80;
    p[1] = 96;
    p[11] = ssrc;
    return p;
  };
  auto pump = [&] {
    for (int i = 0; i < 5; ++i) REQUIRE(driver.value().run_for(tern::TimeDelta::Millis(5)).ok());
  };
  const std::vector<uint8_t> rr = {0x80, 201, 0, 1, 0, 0, 0, 1};
  REQUIRE(spoofer.value().send_to(rtp(9), rx.local_address()).ok());  // valid RTP, not of the session
  REQUIRE(spoofer.value().send_to(std::vector<uint8_t>{1, 2, 3}, rx.local_address()).ok());  // not RTP
  pump();
  CHECK_FALSE(rx.has_peer());
  CHECK(rx.counters().refused == 1);
  CHECK(rx.counters().not_rtp == 1);
  REQUIRE(sender.value().send_to(rtp(7), rx.local_address()).ok());
  pump();
  REQUIRE(rx.has_peer());
  REQUIRE(spoofer.value().send_to(rtp(9), rx.local_address()).ok());  // while the sender runs
  pump();
  rx.on_datagram(rr, tern::Timestamp::Zero());
  tern::transport::DatagramBatch batch(4, 2048);
  auto n = sender.value().receive_batch(batch.slots());
  REQUIRE(n.ok());
  CHECK(n.value() == 1);  // the RTCP went to the sender
  n = spoofer.value().receive_batch(batch.slots());
  CHECK((!n.ok() || n.value() == 0));  // and nothing to the spoofer
  // A restarted sender: forgotten, then learned from its first accepted datagram.
  rx.forget_peer();
  CHECK_FALSE(rx.has_peer());
  REQUIRE(restarted.value().send_to(rtp(7), rx.local_address()).ok());
  pump();
  rx.on_datagram(rr, tern::Timestamp::Zero());
  n = restarted.value().receive_batch(batch.slots());
  REQUIRE(n.ok());
  CHECK(n.value() == 1);
}
