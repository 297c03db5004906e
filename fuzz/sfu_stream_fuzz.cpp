// Fuzzes tern-sfu's ICE-TCP streams (SfuServer::on_stream_*: RFC 4571 framing, connection binding):
// the input is a list of operations [op][connection][length][bytes...] on a handful of connection
// ids: open, bytes (any cut, any content), closed by the driver, time moves on. Nothing may crash or
// hang; the open connections never exceed max_tcp_connections; with no session to authenticate a
// Binding request, no connection is ever bound; every connection is gone once the unbound timeout
// has passed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>

#include "tern/sfu/sfu_server.h"

using namespace tern;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto certificate = dtls::DtlsCertificate::Generate("fuzz").value();
  sfu::SfuConfig config;
  config.address = ice::TransportAddress::V4(192, 0, 2, 1, 3478);
  config.tcp_address = ice::TransportAddress::V4(192, 0, 2, 1, 3479);
  config.certificate = certificate;
  config.max_tcp_connections = 3;
  config.tcp_unbound_timeout = TimeDelta::Seconds(2);
  auto server = sfu::SfuServer::Create(config);
  if (!server) std::abort();
  sfu::SfuServer& s = **server;
  Timestamp now = Timestamp::Zero() + TimeDelta::Seconds(1);
  std::span<const uint8_t> rest(data, size);
  while (rest.size() >= 3) {
    const uint8_t op = rest[0] & 3;
    const sfu::ConnectionId connection = 1 + (rest[1] & 7);
    const size_t n = std::min<size_t>(rest[2] * 8u, rest.size() - 3);
    const auto bytes = rest.subspan(3, n);
    rest = rest.subspan(3 + n);
    switch (op) {
      case 0:
        (void)s.on_stream_opened(connection, ice::TransportAddress::V4(198, 51, 100, 1, static_cast<uint16_t>(40000 + connection)), now);
        break;
      case 1:
        (void)s.on_stream_bytes(connection, bytes, now);
        break;
      case 2:
        s.on_stream_closed(connection);
        break;
      default:
        now = now + TimeDelta::Millis(100 * (1 + (rest.empty() ? 0 : rest[0] & 7)));
        if (auto at = s.next_wakeup(); at && *at <= now) s.process(now);
        (void)s.take_closed_streams();
        break;
    }
    (void)s.take_outgoing();
    if (s.stream_count() > config.max_tcp_connections || s.counters().tcp_connections_bound != 0) std::abort();
  }
  s.process(now + config.tcp_unbound_timeout);
  if (s.stream_count() != 0) std::abort();
  return 0;
}
