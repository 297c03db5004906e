// TurnClient against coturn (`turnserver`, Debian's coturn 4.6) over UDP and over TCP on loopback:
// allocate (401 challenge), create a permission, Send indication to a local UDP peer, Data
// indication back, bind a channel, ChannelData both ways, refresh (the client's virtual clock is
// moved past the refresh deadlines), and recovery from a stale nonce (coturn runs with
// --stale-nonce=2). dumpcap records the run; tshark must find no malformed STUN/TURN packet.
// Skipped with a message when turnserver is missing, unless TERN_REQUIRE_INTEROP=1 (CI).
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/capture.h"
#include "support/peer.h"
#include "support/process.h"
#include "support/udp.h"
#include "tern/ice/tls_stream.h"
#include "tern/ice/turn_client.h"

using namespace tern;
using namespace tern::ice;
using tern::test::BackgroundPeer;
using tern::test::HavePeers;

namespace {

// Driver time: the monotonic clock plus an offset the test can move forward to reach refresh
// deadlines without waiting minutes (the client is sans-I/O: time is what it is given).
struct Clock {
  TimeDelta offset = TimeDelta::Zero();
  Timestamp now() const {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now().time_since_epoch());
    return Timestamp::Micros(us.count()) + offset;
  }
};

// The client's connection to coturn: UDP datagrams, or one TCP stream, or TLS over TCP through a
// TlsStream that trusts `ca_file` (RFC 8656 3.1).
class ServerLink {
 public:
  ServerLink(TurnTransport transport, uint16_t server_port, const std::string& ca_file = "")
      : transport_(transport), port_(server_port) {
    if (transport_ == TurnTransport::kUdp) return;
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(server_port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<const sockaddr*>(&to), sizeof(to)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
    if (fd_ < 0 || transport_ != TurnTransport::kTls) return;
    TlsStreamConfig config;
    config.ca_file = ca_file;
    config.server_name = "127.0.0.1";
    auto tls = TlsStream::Create(config);
    REQUIRE_MESSAGE(tls.ok(), tls.error());
    tls_ = std::move(tls).value();
    REQUIRE(tls_->start().ok());
    for (int i = 0; i < 100 && !tls_->handshake_done() && !tls_->failed(); ++i) {
      REQUIRE(send_raw(tls_->take_ciphertext()));
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      uint8_t buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) break;
      (void)tls_->on_ciphertext(std::span<const uint8_t>(buf, static_cast<size_t>(n)));  // checked next line
    }
    REQUIRE_MESSAGE(tls_->handshake_done(), tls_->error() << " " << tls_->detail());
    REQUIRE(send_raw(tls_->take_ciphertext()));
  }
  ~ServerLink() {
    if (fd_ >= 0) ::close(fd_);
  }
  ServerLink(const ServerLink&) = delete;
  ServerLink& operator=(const ServerLink&) = delete;

  bool ok() const { return transport_ == TurnTransport::kUdp ? udp_.ok() : fd_ >= 0; }

  bool send(std::span<const uint8_t> bytes) {
    if (transport_ == TurnTransport::kUdp) return udp_.send_to(port_, bytes);
    if (tls_) return tls_->write(bytes).ok() && send_raw(tls_->take_ciphertext());
    return send_raw(bytes);
  }

  bool send_raw(std::span<const uint8_t> bytes) {
    size_t sent = 0;
    for (int tries = 0; tries < 100 && sent < bytes.size(); ++tries) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return sent == bytes.size();
  }

  // Waits up to `timeout_ms` for input and hands it to the client.
  void receive(TurnClient& client, Timestamp now, int timeout_ms) {
    if (transport_ == TurnTransport::kUdp) {
      if (auto in = udp_.receive(timeout_ms)) client.on_datagram(*in, now);
      return;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return;
    uint8_t buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return;
    const std::span<const uint8_t> bytes(buf, static_cast<size_t>(n));
    if (!tls_) {
      client.on_stream_bytes(bytes, now);
      return;
    }
    CHECK_MESSAGE(tls_->on_ciphertext(bytes).ok(), tls_->detail());
    CHECK(send_raw(tls_->take_ciphertext()));  // e.g. TLS 1.3 key updates
    client.on_stream_bytes(tls_->take_plaintext(), now);
  }

 private:
  TurnTransport transport_;
  uint16_t port_;
  tern::test::UdpSocket udp_;
  int fd_ = -1;
  std::unique_ptr<TlsStream> tls_;
};

struct Harness {
  TurnClient& client;
  ServerLink& link;
  Clock& clock;

  void flush() {
    while (auto out = client.pop_outgoing()) CHECK(link.send(*out));
  }
  // Runs the client until `done` or `max_ms` of wall time; true when done.
  bool run(const std::function<bool()>& done, int max_ms) {
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(max_ms)) {
      flush();
      if (done()) return true;
      link.receive(client, clock.now(), 10);
      const auto wake = client.next_wakeup();
      if (wake && *wake <= clock.now()) client.process(clock.now());
    }
    flush();
    return done();
  }
};

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

void RunScenario(TurnTransport transport) {
  const bool tcp = transport == TurnTransport::kTcp;
  const bool tls = transport == TurnTransport::kTls;
  const std::string name = tls ? "TLS" : tcp ? "TCP" : "UDP";
  const std::string dir = tern::test::scratch_dir("turn_coturn_" + name);
  const uint16_t base = tern::test::FreeUdpPortBase();  // [base, base + 64): listener and relays
  REQUIRE(base != 0);
  const uint16_t server_port = base;
  tern::test::LoopbackCapture capture(dir, "udp portrange " + std::to_string(base) + "-" + std::to_string(base + 63) +
                                               " or tcp portrange " + std::to_string(base) + "-" + std::to_string(base + 1));
  // TLS: a self-signed certificate for 127.0.0.1, which the client trusts as its only anchor.
  const std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
  if (tls) {
    const auto made = tern::test::run_command(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1"
        " -addext subjectAltName=IP:127.0.0.1 -keyout '" + key + "' -out '" + cert + "'", 30, true);
    REQUIRE_MESSAGE(made.exit_code == 0, made.out);
  }
  tern::test::run_command("rm -f '" + dir + "/turndb'", 5);
  BackgroundPeer coturn("turnserver -n --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 --listening-port " +
                            std::to_string(server_port) + " --min-port " + std::to_string(base + 10) +
                            " --max-port " + std::to_string(base + 50) +
                            (tls ? " --tls-listening-port " + std::to_string(base + 1) + " --cert " + cert + " --pkey " + key
                                 : std::string(" --no-tls")) +
                            " --lt-cred-mech --user alice:secret --realm tern.test --no-dtls --no-cli"
                            " --allow-loopback-peers --stale-nonce=2 --log-file stdout --simple-log"
                            " --pidfile " + dir + "/turn.pid --userdb " + dir + "/turndb",
                        90, dir + "/turnserver.log");
  REQUIRE_MESSAGE(tern::test::WaitForUdpPort(server_port, 5000), coturn.log());

  const uint16_t link_port = tls ? base + 1 : server_port;
  if (tcp || tls) {  // wait (bounded) until coturn accepts on TCP
    for (int i = 0; i < 100 && !ServerLink(TurnTransport::kTcp, link_port).ok(); ++i) {
      tern::test::run_command("sleep 0.05", 2);
    }
  }
  ServerLink link(transport, link_port, cert);
  tern::test::UdpSocket peer(base + 60);  // inside the captured range
  REQUIRE(link.ok());
  REQUIRE(peer.ok());
  const TransportAddress peer_address = TransportAddress::V4(127, 0, 0, 1, base + 60);

  Clock clock;
  TurnClientConfig config;
  config.username = "alice";
  config.password = "secret";
  config.transport = transport;
  auto client = TurnClient::Create(config).value();
  Harness h{client, link, clock};

  // Allocate.
  const auto t0 = std::chrono::steady_clock::now();
  client.allocate(clock.now());
  REQUIRE_MESSAGE(h.run([&] { return client.state() == TurnState::kAllocated; }, 5000), coturn.log());
  const double allocate_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("allocation against coturn over " << name << " on loopback: " << allocate_ms
                                            << " ms (401 challenge + authenticated Allocate)");
  REQUIRE(client.relayed_address().has_value());
  CHECK(client.relayed_address()->port >= base + 10);
  CHECK(client.relayed_address()->port <= base + 50);
  CHECK(client.mapped_address().has_value());
  CHECK(client.counters().auth_challenges == 1);
  const uint16_t relay_port = client.relayed_address()->port;

  // Permission, then a Send indication to the peer and a Data indication back.
  REQUIRE(client.create_permission(peer_address, clock.now()).ok());
  REQUIRE_MESSAGE(h.run([&] { return client.permission_installed(peer_address); }, 5000), coturn.log());
  REQUIRE(client.send(peer_address, Bytes("via send indication")).ok());
  h.flush();
  auto at_peer = peer.receive(2000);
  REQUIRE(at_peer.has_value());
  CHECK(*at_peer == Bytes("via send indication"));
  REQUIRE(peer.send_to(relay_port, Bytes("back via data indication")));
  std::optional<TurnReceived> received;
  REQUIRE(h.run([&] { return (received = client.pop_received()).has_value(); }, 3000));
  CHECK(received->data == Bytes("back via data indication"));
  CHECK(received->peer == peer_address);
  CHECK_FALSE(received->via_channel);

  // Channel, then ChannelData both ways.
  auto channel = client.bind_channel(peer_address, clock.now());
  REQUIRE(channel.ok());
  REQUIRE_MESSAGE(h.run([&] { return client.channel_for(peer_address).has_value(); }, 5000), coturn.log());
  REQUIRE(client.send(peer_address, Bytes("via channel")).ok());
  CHECK(client.counters().channel_data_sent == 1);
  h.flush();
  at_peer = peer.receive(2000);
  REQUIRE(at_peer.has_value());
  CHECK(*at_peer == Bytes("via channel"));
  REQUIRE(peer.send_to(relay_port, Bytes("back via channel")));
  received.reset();
  REQUIRE(h.run([&] { return (received = client.pop_received()).has_value(); }, 3000));
  CHECK(received->data == Bytes("back via channel"));
  CHECK(received->via_channel);

  // Stale nonce and refresh: wait out coturn's 2 s nonce lifetime, then move the client's clock
  // past the allocation, permission and channel refresh deadlines (540 s).
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  clock.offset = TimeDelta::Seconds(541);
  while (client.pop_event()) {
  }
  int refreshed = 0, permissions = 0, channels = 0;
  auto count_events = [&] {
    while (auto e = client.pop_event()) {
      refreshed += e->type == TurnEvent::Type::kRefreshed;
      permissions += e->type == TurnEvent::Type::kPermissionCreated;
      channels += e->type == TurnEvent::Type::kChannelBound;
      CHECK_MESSAGE(e->type != TurnEvent::Type::kAllocationLost, e->reason);
    }
    return refreshed > 0 && permissions > 0 && channels > 0;
  };
  client.process(clock.now());
  REQUIRE_MESSAGE(h.run(count_events, 8000), coturn.log());
  CHECK(client.counters().stale_nonces >= 1);
  CHECK(client.state() == TurnState::kAllocated);
  MESSAGE("stale nonces recovered: " << client.counters().stale_nonces);
  // Data still flows on the channel after the refreshes.
  REQUIRE(client.send(peer_address, Bytes("after refresh")).ok());
  h.flush();
  at_peer = peer.receive(2000);
  REQUIRE(at_peer.has_value());
  CHECK(*at_peer == Bytes("after refresh"));

  // Deallocate.
  client.deallocate(clock.now());
  REQUIRE_MESSAGE(h.run([&] { return client.state() == TurnState::kClosed; }, 5000), coturn.log());
  CHECK(client.counters().integrity_failures == 0);
  CHECK(client.counters().malformed == 0);

  // A second allocation from a new connection, on a warm server: the figure for the note (the
  // first one includes coturn's delay on its first request after start-up).
  {
    ServerLink link2(transport, link_port, cert);
    REQUIRE(link2.ok());
    auto client2 = TurnClient::Create(config).value();
    Harness h2{client2, link2, clock};
    const auto t1 = std::chrono::steady_clock::now();
    client2.allocate(clock.now());
    REQUIRE_MESSAGE(h2.run([&] { return client2.state() == TurnState::kAllocated; }, 5000), coturn.log());
    MESSAGE("warm allocation against coturn over " << name << ": "
                                                   << std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count()
                                                   << " ms (401 + authenticated Allocate" << std::string(tls ? ", after the TLS handshake)" : ")"));
    client2.deallocate(clock.now());
    REQUIRE(h2.run([&] { return client2.state() == TurnState::kClosed; }, 5000));
  }

  if (capture.active()) {
    capture.stop();
    const std::string decode = "-d udp.port==" + std::to_string(server_port) + ",stun -d tcp.port==" +
                               std::to_string(server_port) + ",stun -d tcp.port==" + std::to_string(base + 1) + ",tls";
    const std::string malformed = capture.malformed(decode);
    CHECK_MESSAGE(malformed.empty(), malformed);
    const auto stun = tern::test::split_lines(capture.query(decode + " -T fields -e stun.type", "stun"));
    MESSAGE("tshark: " << stun.size() << " STUN/TURN packets, none malformed");
    if (tls) {  // the STUN is encrypted: tshark sees TLS records, and judges those
      const auto records = tern::test::split_lines(capture.query(decode + " -T fields -e tls.record.content_type", "tls"));
      MESSAGE("tshark: " << records.size() << " TLS packets, none malformed");
      CHECK(records.size() >= 16);
      return;
    }
    CHECK(stun.size() >= 16);
    const auto channel_data = tern::test::split_lines(capture.query(decode + " -T fields -e stun.channel", "stun.channel"));
    CHECK(channel_data.size() >= 3);  // at least the bind and two ChannelData messages
  }
}

}  // namespace

TEST_CASE("TURN client with coturn over UDP: allocate - permission - channel - data both ways - refresh - stale nonce") {
  if (!HavePeers({"turnserver"})) return;
  RunScenario(TurnTransport::kUdp);
}

TEST_CASE("TURN client with coturn over TCP: the same scenario on one stream (STUN and padded ChannelData framing)") {
  if (!HavePeers({"turnserver"})) return;
  RunScenario(TurnTransport::kTcp);
}

TEST_CASE("TURN client with coturn over TLS: the same scenario through TlsStream (memory BIOs) - certificate verified") {
  if (!HavePeers({"turnserver", "openssl"})) return;
  RunScenario(TurnTransport::kTls);
}
