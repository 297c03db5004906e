// tern-turn (tools/turn/): option validation; the project's TurnClient against TurnRelay over real
// UDP on loopback, clean and with loss on the relayed path; and coturn's turnutils_uclient against
// the tern-turn binary over UDP and over TCP (-t) (rc 0 and 0 lost when clean, losses reported
// with --loss 20); TurnClient over TCP against TurnRelay, and the TCP connection bounds. The uclient
// cases skip when coturn is missing, unless TERN_REQUIRE_INTEROP=1 (CI), where they must run.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "support/peer.h"
#include "support/process.h"
#include "tern/ice/turn_client.h"
#include "tern/tools/turn/turn_options.h"
#include "tern/tools/turn/turn_relay.h"
#include "tern/tools/turn/turn_report.h"
#include "tern/transport/epoll_driver.h"
#include "tern/transport/udp_socket.h"

using namespace tern;
using namespace tern::tools::turn;

namespace {

TurnOptions base_options() {
  TurnOptions o;
  o.users = {"u:p"};
  o.realm = "R";
  o.listen = "127.0.0.1:0";
  return o;
}

TEST_CASE("tern-turn options: validation and the link model they make") {
  TurnOptions o = base_options();
  auto c = make_relay_config(o);
  REQUIRE(c.ok());
  CHECK(!c->impairment.has_value());
  CHECK(c->server.users.size() == 1);
  CHECK(c->server.users[0].username == "u");
  CHECK(c->server.users[0].password == "p");
  CHECK(c->server.max_channel == 0x7FFF);

  o.loss_percent = 20;
  o.burst = 3;
  o.delay_ms = 40;
  o.jitter_ms = 5;
  o.capacity_kbps = 800;
  o.queue_packets = 50;
  o.seed = 9;
  c = make_relay_config(o);
  REQUIRE(c.ok());
  REQUIRE(c->impairment.has_value());
  CHECK(c->impairment->loss.kind == netsim::LossConfig::Kind::kGilbertElliott);
  CHECK(c->impairment->loss.loss_rate == doctest::Approx(0.2));
  CHECK(c->impairment->delay == TimeDelta::Millis(40));
  CHECK(c->impairment->capacity == DataRate::KilobitsPerSec(800));
  CHECK(*c->impairment->queue_packets == 50);
  CHECK(c->impairment->seed == 9);

  auto bad = [](auto tweak) {
    TurnOptions x = base_options();
    tweak(x);
    return !make_relay_config(x).ok();
  };
  CHECK(bad([](TurnOptions& x) { x.users.clear(); }));
  CHECK(bad([](TurnOptions& x) { x.users = {"nocolon"}; }));
  CHECK(bad([](TurnOptions& x) { x.listen = "127.0.0.1"; }));
  CHECK(bad([](TurnOptions& x) { x.listen = "127.0.0.1:99999"; }));
  CHECK(bad([](TurnOptions& x) { x.relay_ip = "not-an-ip"; }));
  CHECK(bad([](TurnOptions& x) { x.min_port = 5000, x.max_port = 4000; }));
  CHECK(bad([](TurnOptions& x) { x.loss_percent = 100; }));
  CHECK(bad([](TurnOptions& x) { x.burst = 0.5; }));
  CHECK(bad([](TurnOptions& x) { x.delay_ms = -1; }));
  CHECK(bad([](TurnOptions& x) { x.queue_packets = 0; }));
}

// The project's TurnClient (over UDP, or over one TCP connection) and a UDP peer against an
// in-process TurnRelay, all on one epoll loop.
struct RealRig {
  explicit RealRig(TurnOptions o, ice::TurnTransport transport = ice::TurnTransport::kUdp) {
    o.min_port = static_cast<uint16_t>(40000 + (getpid() % 200) * 100);
    o.max_port = static_cast<uint16_t>(o.min_port + 99);
    driver.emplace(transport::EpollDriver::Create().value());
    auto relay_or = TurnRelay::Open(make_relay_config(o).value(), *driver);
    REQUIRE_MESSAGE(relay_or.ok(), relay_or.error());
    relay = std::move(relay_or).value();
    client_socket.emplace(transport::UdpSocket::Open(transport::SocketAddress::LoopbackV4(0)).value());
    peer_socket.emplace(transport::UdpSocket::Open(transport::SocketAddress::LoopbackV4(0)).value());
    ice::TurnClientConfig cc;
    cc.username = "u";
    cc.password = "p";
    cc.seed = 5;
    cc.transport = transport;
    client.emplace(ice::TurnClient::Create(cc).value());
    if (transport == ice::TurnTransport::kTcp) connect_tcp();
    REQUIRE(driver->add_fd(client_socket->fd(), [this](Timestamp now) {
      for (int i = 0; i < 64; ++i) {
        auto n = client_socket->receive_batch(batch.slots());
        if (!n || *n == 0) break;
        for (size_t k = 0; k < *n; ++k) client->on_datagram(batch[k].data(), now);
      }
      flush();
    }).ok());
    REQUIRE(driver->add_fd(peer_socket->fd(), [this](Timestamp) {
      for (int i = 0; i < 64; ++i) {
        auto n = peer_socket->receive_batch(batch.slots());
        if (!n || *n == 0) break;
        for (size_t k = 0; k < *n; ++k) {
          peer_received.emplace_back(batch[k].data().begin(), batch[k].data().end());
          relayed_seen = batch[k].peer;
        }
      }
    }).ok());
  }
  ~RealRig() {
    if (tcp_fd >= 0) {
      (void)driver->remove_fd(tcp_fd);
      ::close(tcp_fd);
    }
  }
  void connect_tcp() {
    REQUIRE(relay->tcp_enabled());
    const transport::SocketAddress& at = relay->listen_address();
    tcp_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(tcp_fd >= 0);
    REQUIRE(::connect(tcp_fd, at.sockaddr_ptr(), at.sockaddr_len()) == 0);  // loopback: the backlog accepts
    REQUIRE(driver->add_fd(tcp_fd, [this](Timestamp now) {
      uint8_t buf[16384];
      const ssize_t n = ::recv(tcp_fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n > 0) client->on_stream_bytes(std::span<const uint8_t>(buf, static_cast<size_t>(n)), now);
      if (n == 0) tcp_closed = true;
      flush();
    }).ok());
  }
  void flush() {
    while (auto d = client->pop_outgoing()) {
      if (tcp_fd < 0) {
        (void)client_socket->send_to(*d, relay->listen_address());  // loopback
        continue;
      }
      for (size_t sent = 0; sent < d->size();) {  // blocking socket: loops only on partial sends
        const ssize_t n = ::send(tcp_fd, d->data() + sent, d->size() - sent, MSG_NOSIGNAL);
        REQUIRE(n > 0);
        sent += static_cast<size_t>(n);
      }
    }
  }
  // Runs the loop in 10 ms slices until `done` or `max_ms`.
  template <typename F>
  bool run(F done, int max_ms) {
    for (int t = 0; t < max_ms; t += 10) {
      client->process(transport::EpollDriver::Now());
      flush();
      REQUIRE(driver->run_for(TimeDelta::Millis(10)).ok());
      if (done()) return true;
    }
    return done();
  }

  std::optional<transport::EpollDriver> driver;
  std::unique_ptr<TurnRelay> relay;
  std::optional<transport::UdpSocket> client_socket, peer_socket;
  std::optional<ice::TurnClient> client;
  transport::DatagramBatch batch{16, 2048};
  int tcp_fd = -1;
  bool tcp_closed = false;
  std::vector<std::vector<uint8_t>> peer_received;
  transport::SocketAddress relayed_seen;
};

// Allocates, binds a channel to the peer socket and sends `n` packets each way; returns how many
// arrived at the peer and at the client.
std::pair<int, int> exchange(RealRig& rig, int n) {
  rig.client->allocate(transport::EpollDriver::Now());
  rig.flush();
  REQUIRE(rig.run([&] { return rig.client->state() == ice::TurnState::kAllocated; }, 3000));
  const ice::TransportAddress peer = to_ice_address(rig.peer_socket->local_address());
  REQUIRE(rig.client->bind_channel(peer, transport::EpollDriver::Now()).ok());
  rig.flush();
  REQUIRE(rig.run([&] { return rig.client->channel_for(peer).has_value(); }, 3000));
  const transport::SocketAddress relayed = to_socket_address(*rig.client->relayed_address());
  int to_client = 0;
  for (int i = 0; i < n; ++i) {
    const std::vector<uint8_t> up{1, static_cast<uint8_t>(i)}, down{2, static_cast<uint8_t>(i)};
    REQUIRE(rig.client->send(peer, up).ok());
    rig.flush();
    REQUIRE(rig.peer_socket->send_to(down, relayed).ok());
    REQUIRE(rig.driver->run_for(TimeDelta::Millis(2)).ok());
    while (auto r = rig.client->pop_received()) to_client += r->via_channel ? 1 : 0;
  }
  rig.run([&] { return false; }, 300);
  while (auto r = rig.client->pop_received()) to_client += r->via_channel ? 1 : 0;
  return {static_cast<int>(rig.peer_received.size()), to_client};
}

TEST_CASE("TurnClient through TurnRelay over real UDP: allocate, channel, data both ways, deallocate") {
  RealRig rig(base_options());
  const auto [to_peer, to_client] = exchange(rig, 100);
  CHECK(to_peer == 100);
  CHECK(to_client == 100);
  CHECK(rig.relayed_seen == to_socket_address(*rig.client->relayed_address()));
  CHECK(rig.relay->stats().relay_ports_open == 1);
  rig.client->deallocate(transport::EpollDriver::Now());
  rig.flush();
  CHECK(rig.run([&] { return rig.client->state() == ice::TurnState::kClosed; }, 3000));
  CHECK(rig.relay->stats().relay_ports_open == 0);
  CHECK(rig.relay->server().allocation_count() == 0);
}

TEST_CASE("TurnClient over TCP through TurnRelay: padded ChannelData both ways, closing the connection ends the allocation") {
  RealRig rig(base_options(), ice::TurnTransport::kTcp);
  const auto [to_peer, to_client] = exchange(rig, 100);
  CHECK(to_peer == 100);
  CHECK(to_client == 100);
  CHECK(rig.client->counters().channel_data_received == 100);
  CHECK(rig.client->counters().stream_errors == 0);
  CHECK(rig.client->counters().retransmissions == 0);  // reliable transport: never resent
  TurnRelayStats s = rig.relay->stats();
  CHECK(s.tcp_accepted == 1);
  CHECK(s.tcp_connections == 1);
  CHECK(s.tcp_stream_errors == 0);
  CHECK(s.tcp_send_drops == 0);
  CHECK(rig.relay->server().allocation_count() == 1);
  // The client hangs up: the server deletes the allocation and closes its relay port.
  (void)rig.driver->remove_fd(rig.tcp_fd);
  ::close(rig.tcp_fd);
  rig.tcp_fd = -1;
  rig.run([&] { return rig.relay->server().allocation_count() == 0; }, 2000);
  CHECK(rig.relay->server().allocation_count() == 0);
  CHECK(rig.relay->stats().relay_ports_open == 0);
  CHECK(rig.relay->server().counters().closed_with_connection == 1);
  CHECK(rig.relay->stats().tcp_connections == 0);
}

TEST_CASE("TurnRelay TCP bounds: connections beyond --max-tcp are refused, one without an allocation is closed when idle, garbage closes it") {
  TurnOptions o = base_options();
  o.max_tcp = 2;
  RealRig rig(o);
  const transport::SocketAddress& at = rig.relay->listen_address();
  int fds[3];
  for (int& fd : fds) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(::connect(fd, at.sockaddr_ptr(), at.sockaddr_len()) == 0);
  }
  rig.run([&] { return rig.relay->stats().tcp_accepted + rig.relay->stats().tcp_refused == 3; }, 2000);
  CHECK(rig.relay->stats().tcp_accepted == 2);
  CHECK(rig.relay->stats().tcp_refused == 1);
  // Bytes that are neither STUN nor ChannelData: that connection is closed.
  const uint8_t junk[8] = {0xFF, 0xFF, 0, 4, 1, 2, 3, 4};
  REQUIRE(::send(fds[0], junk, sizeof(junk), MSG_NOSIGNAL) == 8);
  rig.run([&] { return rig.relay->stats().tcp_stream_errors == 1; }, 2000);
  CHECK(rig.relay->stats().tcp_stream_errors == 1);
  CHECK(rig.relay->stats().tcp_connections == 1);
  // The other never allocates: closed after kTcpIdleTimeout.
  rig.run([&] { return rig.relay->stats().tcp_idle_closed == 1; },
          static_cast<int>(TurnRelay::kTcpIdleTimeout.ms()) + 2000);
  CHECK(rig.relay->stats().tcp_idle_closed == 1);
  CHECK(rig.relay->stats().tcp_connections == 0);
  for (int fd : fds) ::close(fd);
}

TEST_CASE("TurnRelay with --loss 30: relayed data is lost in both directions, control is not") {
  TurnOptions o = base_options();
  o.loss_percent = 30;
  o.seed = 4;
  RealRig rig(o);
  const auto [to_peer, to_client] = exchange(rig, 300);
  const TurnRelayStats s = rig.relay->stats();
  MESSAGE("loss 30%: " << to_peer << "/300 to the peer, " << to_client << "/300 to the client");
  CHECK(s.to_peer.dropped_loss == static_cast<uint64_t>(300 - to_peer));
  CHECK(s.to_client.dropped_loss == static_cast<uint64_t>(300 - to_client));
  CHECK(to_peer > 150);
  CHECK(to_peer < 250);
  CHECK(to_client > 150);
  CHECK(to_client < 250);
  CHECK(rig.client->counters().retransmissions == 0);  // allocation and bind were never impaired
}

TEST_CASE("tern-turn's report: the relay's counters and the links' losses as one JSON line") {
  TurnOptions lossy = base_options();
  lossy.loss_percent = 20;
  RealRig rig(lossy);
  const auto [to_peer, to_client] = exchange(rig, 100);
  const std::string line = relay_report_json(*rig.relay, 15);
  CHECK(line.find('\n') == std::string::npos);
  const nlohmann::json j = nlohmann::json::parse(line);
  const TurnRelayStats s = rig.relay->stats();
  CHECK(j["signal"] == 15);
  CHECK(j["allocations_created"] == 1);
  CHECK(j["allocations_open"] == 1);
  CHECK(j["relayed_to_peer"] == rig.relay->server().counters().relayed_to_peer);
  CHECK(j["relayed_to_client"] == rig.relay->server().counters().relayed_to_client);
  CHECK(j["dropped"]["link_loss"] == s.to_peer.dropped_loss + s.to_client.dropped_loss);
  CHECK(j["dropped"]["link_loss"] == static_cast<uint64_t>(200 - to_peer - to_client));
  CHECK(j["dropped"]["send_failures"] == 0);
  CHECK(j["rejected"].size() == 12);
  CHECK(j["rejected"]["bad_credentials"] == 0);
}

// ---- coturn's load generator against the tern-turn binary ----

struct UclientRun {
  int rc = -1;
  int lost = -1;
  int sent = -1;
  std::string log;
};

// `extra` goes to tern-turn, `uclient_extra` to turnutils_uclient (-t: TCP to the server). `label`
// names the case's own scratch folder: ctest runs the cases in parallel, and a shared log file
// would be truncated by the other case's server.
UclientRun run_uclient(const std::string& label, const std::string& extra, const std::string& uclient_extra = "") {
  UclientRun r;
  const std::string dir = tern::test::scratch_dir("tern_turn_uclient_" + label);
  uint16_t base = 0;
  for (int attempt = 0; attempt < 20 && base == 0; ++attempt) {
    const auto b = static_cast<uint16_t>(30000 + ((getpid() + attempt * 53) % 90) * 100);
    auto probe = transport::UdpSocket::Open(transport::SocketAddress::LoopbackV4(b));
    if (probe.ok()) base = b;
  }
  REQUIRE(base != 0);
  const std::string port = std::to_string(base), peer_port = std::to_string(base + 1);
  tern::test::BackgroundPeer server(std::string(TERN_BINARY_DIR) + "/tools/tern-turn --user u:p --realm R --listen 127.0.0.1:" +
                                        port + " --relay-ip 127.0.0.1 --min-port " + std::to_string(base + 10) +
                                        " --max-port " + std::to_string(base + 90) + " " + extra,
                                    60, dir + "/tern-turn.log");
  tern::test::BackgroundPeer peer("turnutils_peer -L 127.0.0.1 -p " + peer_port, 60, dir + "/peer.log");
  // tern-turn prints this line once its UDP socket and its TCP listener are both up (it binds the
  // UDP port first: a -t client started on the UDP port alone was refused once, on a loaded CI
  // machine).
  REQUIRE_MESSAGE(server.wait_for_output("tern-turn listening on", 5000), server.log());
  REQUIRE_MESSAGE(tern::test::WaitForUdpPort(static_cast<uint16_t>(base + 1), 5000), peer.log());
  const auto out = tern::test::run_command("turnutils_uclient -u u -w p -e 127.0.0.1 -r " + peer_port +
                                               " -n 20 -m 2 -l 200 -X " + uclient_extra + " -p " + port + " 127.0.0.1",
                                           30, true);
  r.rc = out.exit_code;
  r.log = out.out.size() > 3000 ? out.out.substr(out.out.size() - 3000) : out.out;
  std::smatch m;
  if (std::regex_search(out.out, m, std::regex("Total lost packets (\\d+)"))) r.lost = std::stoi(m[1]);
  if (std::regex_search(out.out, m, std::regex("tot_send_msgs=(\\d+), tot_recv_msgs"))) r.sent = std::stoi(m[1]);
  server.interrupt();
  CHECK(server.wait(3000));
  r.log += "\n--- tern-turn ---\n" + server.log();
  return r;
}

TEST_CASE("turnutils_uclient through tern-turn: 40 messages relayed, 0 lost") {
  if (!tern::test::HavePeers({"turnutils_uclient", "turnutils_peer"})) return;
  const UclientRun r = run_uclient("udp", "");
  INFO(r.log);
  CHECK(r.rc == 0);
  CHECK(r.lost == 0);
  CHECK(r.log.find("\"relayed_to_peer\":40") != std::string::npos);
}

TEST_CASE("turnutils_uclient -t (TURN over TCP) through tern-turn: 40 messages relayed, 0 lost") {
  if (!tern::test::HavePeers({"turnutils_uclient", "turnutils_peer"})) return;
  const UclientRun r = run_uclient("tcp", "", "-t");
  INFO(r.log);
  CHECK(r.rc == 0);
  CHECK(r.lost == 0);
  CHECK(r.log.find("\"relayed_to_peer\":40") != std::string::npos);
  std::smatch m;
  REQUIRE(std::regex_search(r.log, m, std::regex("\"accepted\":(\\d+)")));
  CHECK(std::stoi(m[1]) >= 2);  // a connection per allocation (-m 2), all over TCP
  CHECK(r.log.find("\"stream_errors\":0") != std::string::npos);
}

TEST_CASE("turnutils_uclient through tern-turn --loss 20: losses reported") {
  if (!tern::test::HavePeers({"turnutils_uclient", "turnutils_peer"})) return;
  const UclientRun r = run_uclient("loss", "--loss 20 --seed 3");
  INFO(r.log);
  CHECK(r.rc == 0);
  CHECK(r.lost > 0);
  CHECK(r.lost < 40);
  MESSAGE("uclient through tern-turn --loss 20: " << r.lost << " of 40 lost (round trip, 20% each way)");
}

}  // namespace
