// TurnOptions -> TurnRelayConfig; see turn_options.h.
#include "tern/tools/turn/turn_options.h"

#include <charconv>

namespace tern::tools::turn {

Result<TurnRelayConfig> make_relay_config(const TurnOptions& o) {
  TurnRelayConfig c;
  if (o.users.empty()) return Error{"--user: at least one user:password is required"};
  for (const std::string& u : o.users) {
    const size_t colon = u.find(':');
    if (colon == std::string::npos || colon == 0) return Error{"--user: expected user:password"};
    c.server.users.push_back(ice::TurnUser{u.substr(0, colon), u.substr(colon + 1)});
  }
  if (o.realm.empty()) return Error{"--realm: empty"};
  c.server.realm = o.realm;
  const size_t colon = o.listen.rfind(':');
  if (colon == std::string::npos) return Error{"--listen: expected ip:port"};
  std::string ip = o.listen.substr(0, colon);
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  unsigned port = 0;
  const std::string port_text = o.listen.substr(colon + 1);
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535)
    return Error{"--listen: bad port"};
  auto listen = transport::SocketAddress::Parse(ip, static_cast<uint16_t>(port));
  if (!listen) return Error{"--listen: bad ip"};
  c.listen = *listen;
  auto relay = transport::SocketAddress::Parse(o.relay_ip, 0);
  if (!relay) return Error{"--relay-ip: bad ip"};
  c.relay_ip = o.relay_ip;
  c.server.relay_family = relay->is_v6() ? ice::TransportAddress::Family::kIPv6 : ice::TransportAddress::Family::kIPv4;
  if (o.min_port == 0 || o.min_port > o.max_port) return Error{"--min-port/--max-port: bad range"};
  c.min_port = o.min_port;
  c.max_port = o.max_port;
  if (o.max_allocations < 1 || o.user_quota < 1) return Error{"--max-allocations/--user-quota: must be >= 1"};
  c.server.max_allocations = static_cast<size_t>(o.max_allocations);
  c.server.max_allocations_per_user = static_cast<size_t>(o.user_quota);
  if (o.max_tcp < 0) return Error{"--max-tcp: must be >= 0"};
  c.max_tcp_connections = static_cast<size_t>(o.max_tcp);
  // Loopback peers are what this tool is for: every peer is allowed. Channels up to 0x7FFF, as
  // RFC 5766 clients (turnutils_uclient among them) still pick them.
  c.server.max_channel = 0x7FFF;

  if (!(o.loss_percent >= 0.0 && o.loss_percent < 100.0)) return Error{"--loss: percent in [0, 100)"};
  if (!(o.burst >= 1.0)) return Error{"--burst: mean burst length >= 1"};
  if (o.delay_ms < 0.0 || o.jitter_ms < 0.0 || o.capacity_kbps < 0.0)
    return Error{"--delay/--jitter/--capacity: must not be negative"};
  if (o.queue_packets < 1) return Error{"--queue: at least 1 packet"};
  const bool impaired = o.loss_percent > 0.0 || o.delay_ms > 0.0 || o.jitter_ms > 0.0 || o.capacity_kbps > 0.0;
  if (impaired) {
    netsim::LinkConfig l;
    if (o.capacity_kbps > 0.0) l.capacity = DataRate::BitsPerSec(static_cast<int64_t>(o.capacity_kbps * 1000.0));
    l.queue_packets = static_cast<size_t>(o.queue_packets);
    l.delay = TimeDelta::MillisF(o.delay_ms);
    if (o.jitter_ms > 0.0) {
      l.jitter_model = netsim::LinkConfig::Jitter::kUniform;
      l.jitter = TimeDelta::MillisF(o.jitter_ms);
    }
    const double p = o.loss_percent / 100.0;
    if (p > 0.0)
      l.loss = o.burst > 1.0 ? netsim::LossConfig::GilbertElliott(p, o.burst) : netsim::LossConfig::Random(p);
    l.seed = o.seed;
    c.impairment = l;
  }
  return c;
}

}  // namespace tern::tools::turn
