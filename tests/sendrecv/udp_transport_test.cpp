// tools/net UdpTransport: what its setup failures say (loopback sockets only, no processes).
#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "tern/tools/net/udp_transport.h"
#include "tern/transport/udp_socket.h"

namespace net = tern::tools::net;
using tern::transport::SocketAddress;
using tern::transport::UdpSocket;

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
    net::UdpTransportConfig config;
    config.local = SocketAddress::Parse("127.0.0.1", rtp_port).value();
    config.rtcp_mux = false;
    auto t = net::UdpTransport::Open(config);
    REQUIRE_FALSE(t.ok());
    const std::string expected = "RTCP port " + std::to_string(rtp_port + 1) +
                                 " (the RTP port + 1, no rtcp-mux): udp: bind(127.0.0.1:" +
                                 std::to_string(rtp_port + 1) + ") failed: " + std::strerror(EADDRINUSE);
    CHECK(std::string(t.error()) == expected);
    return;
  }
  FAIL("no free pair of loopback ports found");
}
