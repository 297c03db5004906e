// TurnRelay: the real-time TURN server behind tern-turn. It runs the sans-I/O ice::TurnServer on
// real UDP sockets under a transport::EpollDriver (one listening socket; one relay socket per
// allocation, bound on `relay_ip` inside [min_port, max_port]) and, when an impairment is set,
// passes every relayed datagram through netsim::Link models driven by the monotonic clock: one
// Link for client -> peer traffic and one for peer -> client traffic, each with the same model and
// its own seed. Responses to requests (the control path) are never impaired, so allocation and
// refresh behave as on a clean network while media sees the configured one.
//
// TURN over TCP (RFC 8656 3.1, client to server; relaying stays UDP): a TCP listener on the UDP
// listener's address and port. Each connection is one 5-tuple for the server core (listener id
// kTcpListener, the client's address), framed by ice::StunStreamFramer (STUN, and ChannelData
// padded to 4, RFC 8656 12.5); the core pads what it sends there. A connection that closes takes
// its allocation with it; one that has no allocation for kTcpIdleTimeout is closed.
//
// Bounds: allocations are limited by the server's quotas, the port range and the driver's fd
// limit (EpollDriver::kMaxFds, minus the listeners, TCP connections and the caller's own fds):
// Allocate beyond it is answered 508. TCP connections are at most `max_tcp_connections` (and
// what the fd limit leaves): one beyond is accepted and closed at once (counted). Each connection
// buffers at most kTcpSendBuffer bytes the kernel has not taken; a message that does not fit is
// dropped whole (counted), as a UDP datagram would be, so the stream stays framed. The links keep
// their own queue and in-flight bounds.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tern/core/result.h"
#include "tern/ice/stun_stream_framer.h"
#include "tern/ice/turn_server.h"
#include "tern/netsim/link.h"
#include "tern/transport/epoll_driver.h"
#include "tern/transport/socket_address.h"
#include "tern/transport/udp_socket.h"

namespace tern::tools::turn {

struct TurnRelayConfig {
  transport::SocketAddress listen = transport::SocketAddress::LoopbackV4(3478);
  std::string relay_ip = "127.0.0.1";
  uint16_t min_port = 49152;
  uint16_t max_port = 65535;
  ice::TurnServerConfig server;
  // Applied to relayed traffic in each direction (seed + 1 for peer -> client); none: clean.
  std::optional<netsim::LinkConfig> impairment;
  // TURN over TCP on the listening address; 0: no TCP listener.
  size_t max_tcp_connections = 16;
};

struct TurnRelayStats {
  uint64_t relay_ports_open = 0;
  uint64_t relay_bind_failures = 0;  // no free port in the range
  uint64_t send_failures = 0;        // sendto() errors (datagram lost)
  uint64_t dropped_closed_relay = 0;  // delayed by the link past its allocation's end
  uint64_t tcp_accepted = 0;
  uint64_t tcp_refused = 0;          // beyond max_tcp_connections or the fd limit
  uint64_t tcp_closed = 0;           // by the client, an error, a broken stream or idleness
  uint64_t tcp_idle_closed = 0;      // of which: no allocation for kTcpIdleTimeout
  uint64_t tcp_stream_errors = 0;    // framing failures (the connection is closed)
  uint64_t tcp_send_drops = 0;       // messages dropped: send buffer full or no connection
  size_t tcp_connections = 0;
  netsim::LinkStats to_peer;
  netsim::LinkStats to_client;
};

class TurnRelay final : public ice::RelayPorts, public transport::Pollable {
 public:
  static constexpr size_t kReservedFds = 5;  // UDP and TCP listeners, signalfd, headroom for the caller
  static constexpr uint32_t kUdpListener = 0;  // listener ids for the server core
  static constexpr uint32_t kTcpListener = 1;
  static constexpr size_t kTcpSendBuffer = 256 * 1024;
  static constexpr TimeDelta kTcpIdleTimeout = TimeDelta::Seconds(10);

  // Binds the listening socket and registers it (and later the relay sockets) with `driver`,
  // which must outlive the relay. Fails on a bad relay_ip or port range, a link config the netsim
  // validator refuses, a server config TurnServer refuses, or a listening port in use.
  static Result<std::unique_ptr<TurnRelay>> Open(TurnRelayConfig config, transport::EpollDriver& driver);
  ~TurnRelay() override;
  TurnRelay(const TurnRelay&) = delete;
  TurnRelay& operator=(const TurnRelay&) = delete;

  // UDP, and TCP on the same address and port when max_tcp_connections > 0.
  const transport::SocketAddress& listen_address() const { return listener_.local_address(); }
  bool tcp_enabled() const { return tcp_listener_ >= 0; }
  const ice::TurnServer& server() const { return *server_; }
  TurnRelayStats stats() const;

  // RelayPorts (called by the server core).
  std::optional<Opened> open(const ice::TransportAddress& client, Timestamp now) override;
  std::optional<Pair> open_even(const ice::TransportAddress& client, bool reserve_next, Timestamp now) override;
  void close(ice::RelayId id) override;

  // Pollable: server expiries and link deliveries.
  std::optional<Timestamp> next_wakeup() const override;
  void process(Timestamp now) override;

 private:
  TurnRelay(TurnRelayConfig config, transport::EpollDriver& driver, transport::UdpSocket listener);

  // Binds `port` on relay_ip and registers it; nullopt when taken or out of fds.
  std::optional<Opened> bind_port(uint16_t port);
  void on_listener_readable(Timestamp now);
  void on_relay_readable(ice::RelayId id, Timestamp now);
  // Sends everything the server queued: relayed data through the links when impaired.
  void flush(Timestamp now);
  void deliver_links(Timestamp now);
  void transmit(ice::TurnServerDatagram::From from, uint32_t socket, const ice::TransportAddress& to,
                std::span<const uint8_t> data);

  struct TcpConnection {
    int fd = -1;
    ice::TransportAddress client;
    ice::StunStreamFramer framer;
    std::vector<uint8_t> pending;  // bytes the kernel did not take yet (bounded: kTcpSendBuffer)
    Timestamp idle_deadline;
    bool dead = false;  // closed at the next sweep (never while its framer is being read)
  };
  Status open_tcp_listener();
  void on_tcp_accept(Timestamp now);
  void on_tcp_readable(int fd, Timestamp now);
  TcpConnection* find_tcp(const ice::TransportAddress& client);
  void tcp_send(const ice::TransportAddress& to, std::span<const uint8_t> data);
  void tcp_drain(TcpConnection& c);
  // Closes dead connections and, at `now`, idle ones without an allocation.
  void sweep_tcp(Timestamp now);
  void close_tcp(TcpConnection& c);

  TurnRelayConfig config_;
  transport::EpollDriver& driver_;
  transport::UdpSocket listener_;
  int tcp_listener_ = -1;
  std::vector<std::unique_ptr<TcpConnection>> tcp_;  // few (max_tcp_connections): linear lookups
  std::optional<ice::TurnServer> server_;
  std::map<ice::RelayId, transport::UdpSocket> relays_;
  ice::RelayId next_id_ = 1;
  uint16_t next_port_;
  std::optional<netsim::Link> to_peer_;
  std::optional<netsim::Link> to_client_;
  transport::DatagramBatch batch_;
  TurnRelayStats stats_;
};

// Conversions between the sans-I/O address type and the socket one.
ice::TransportAddress to_ice_address(const transport::SocketAddress& a);
transport::SocketAddress to_socket_address(const ice::TransportAddress& a);

}  // namespace tern::tools::turn
