// Interop: tern's IceAgent against aioice (Debian's python3-aiortc) over host candidates on
// 127.0.0.1, each side controlling in turn (issue 15, Interop). The agent stays sans-I/O: this
// test is its driver, with one real UDP socket, a bounded poll() loop on the socket and the peer's
// standard output, and `now` from the monotonic clock. tests/ice/aioice_peer.py is the peer: it
// prints its description as a JSON line, connects, then echoes the datagrams it receives. A dumpcap
// capture of tern's port lets tshark check every STUN message tern sent.
//
// The relay cases put both agents behind coturn (`turnserver` on 127.0.0.1, relaying from
// 127.0.0.2): tern's IceAgent allocates through ice::TurnRelayTransport (the real TurnClient,
// sharing the agent's socket), aioice through its own TURN client, and each side signals only its
// relay candidate, so the only path that can work is relay <-> relay (a host socket on 127.0.0.1
// sending to a 127.0.0.2 relay has no permission there). Skipped when coturn is missing unless
// TERN_REQUIRE_INTEROP=1.
#include <doctest/doctest.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/peer.h"
#include "support/process.h"
#include "support/udp.h"
#include "tern/ice/ice_agent.h"
#include "tern/ice/turn_relay_transport.h"

namespace tern::ice {
namespace {

using test::BackgroundPeer;
using test::HavePeers;
using test::run_command;

constexpr int kEchoCount = 20;
constexpr int kPeerTimeoutSeconds = 20;

Timestamp Now() {
  const auto since_epoch = std::chrono::steady_clock::now().time_since_epoch();
  return Timestamp::Micros(std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count());
}

bool HaveAioice() {
  if (run_command("/usr/bin/python3 -c 'import aioice'", 20).exit_code == 0) return true;
  if (test::interop_required()) FAIL("python3-aiortc (aioice) is not installed");
  MESSAGE("python3-aiortc (aioice) is not installed: skipped");
  return false;
}

// The peer's standard output read through a pipe, split into lines as they arrive.
class PeerProcess {
 public:
  explicit PeerProcess(const std::string& command) : pipe_(popen(command.c_str(), "r")) {}
  ~PeerProcess() { finish(); }
  PeerProcess(const PeerProcess&) = delete;
  PeerProcess& operator=(const PeerProcess&) = delete;

  int fd() const { return pipe_ ? fileno(pipe_) : -1; }
  // Reads what is readable now (call after poll() says so); false at end of file.
  bool pump() {
    char buf[4096];
    const ssize_t n = ::read(fd(), buf, sizeof(buf));
    if (n <= 0) return false;
    pending_.append(buf, static_cast<size_t>(n));
    log_.append(buf, static_cast<size_t>(n));
    return true;
  }
  std::optional<std::string> next_line() {
    const size_t nl = pending_.find('\n');
    if (nl == std::string::npos) return std::nullopt;
    std::string line = pending_.substr(0, nl);
    pending_.erase(0, nl + 1);
    return line;
  }
  // Waits for the peer (under `timeout`, so bounded) and returns its exit status.
  int finish() {
    if (!pipe_) return exit_code_;
    const int status = pclose(pipe_);
    pipe_ = nullptr;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return exit_code_;
  }
  const std::string& log() const { return log_; }

 private:
  std::FILE* pipe_;
  std::string pending_;
  std::string log_;
  int exit_code_ = -1;
};

// "foundation component udp priority ip port typ host" or "... typ relay raddr ip rport port"
// (the a=candidate value), IPv4 only.
std::optional<Candidate> ParseSdpCandidate(const std::string& sdp) {
  std::istringstream in(sdp);
  std::string foundation, transport, ip, typ, type;
  uint32_t component = 0, port = 0;
  uint32_t priority = 0;
  if (!(in >> foundation >> component >> transport >> priority >> ip >> port >> typ >> type)) return std::nullopt;
  if (transport != "udp" || typ != "typ" || (type != "host" && type != "relay") || port > 65535) return std::nullopt;
  auto address = TransportAddress::Parse(ip, static_cast<uint16_t>(port));
  if (!address.ok()) return std::nullopt;
  Candidate c;
  c.foundation = foundation;
  c.component = static_cast<uint16_t>(component);
  c.priority = priority;
  c.address = *address;
  c.type = CandidateType::kHost;
  if (type == "relay") {
    c.type = CandidateType::kRelay;
    std::string raddr_key, raddr, rport_key;
    uint32_t rport = 0;
    if (!(in >> raddr_key >> raddr >> rport_key >> rport) || raddr_key != "raddr" || rport_key != "rport" ||
        rport > 65535) {
      return std::nullopt;
    }
    auto related = TransportAddress::Parse(raddr, static_cast<uint16_t>(rport));
    if (!related.ok()) return std::nullopt;
    c.related = *related;
  }
  return c;
}

std::string Ip4(const TransportAddress& a) {
  return std::to_string(a.ip[0]) + "." + std::to_string(a.ip[1]) + "." + std::to_string(a.ip[2]) + "." +
         std::to_string(a.ip[3]);
}

uint32_t Ip4HostOrder(const TransportAddress& a) {
  return (uint32_t{a.ip[0]} << 24) | (uint32_t{a.ip[1]} << 16) | (uint32_t{a.ip[2]} << 8) | a.ip[3];
}

std::string ToSdp(const Candidate& c) {  // IPv4 host and relay candidates only
  std::string sdp = c.foundation + " " + std::to_string(c.component) + " udp " + std::to_string(c.priority) + " " +
                    Ip4(c.address) + " " + std::to_string(c.address.port);
  if (c.type == CandidateType::kRelay) {
    return sdp + " typ relay raddr " + Ip4(c.related) + " rport " + std::to_string(c.related.port);
  }
  return sdp + " typ host";
}

bool NonEmptyFile(const std::string& path) {
  std::error_code ec;
  return std::filesystem::file_size(path, ec) > 0 && !ec;
}

int TsharkCount(const std::string& pcap, const std::string& filter, const std::string& options = "") {
  const auto r = run_command("tshark -n -r '" + pcap + "' " + options + " -Y '" + filter + "' | wc -l", 60);
  return r.exit_code == 0 ? std::stoi(r.out) : -1;
}

struct RunResult {
  bool tern_selected = false;
  bool peer_connected = false;
  bool peer_controlling = false;  // aioice's role once connected
  double tern_ms = -1;               // from start()
  double tern_after_remote_ms = -1;  // from the remote description's arrival
  double peer_ms = -1;
  int echoed = 0;
  int peer_echoed = -1;
  Candidate tern_local, tern_remote;  // tern's selected pair
  std::string peer_local, peer_remote, peer_local_type;  // aioice's
  int stun_sent = 0;  // STUN datagrams tern put on the wire
  int channel_data_sent = 0;  // ChannelData to the TURN server (relay cases)
  int app_sent = 0;
  IceAgentStats stats;
};

// One run. Without a role conflict aioice takes the other role; `conflict` makes both start
// controlling with aioice's tie-breaker fixed, and tern must end in `conflict->tern_final`.
struct RoleConflict {
  const char* aioice_tie_breaker;  // decimal, 64-bit
  IceRole tern_final;
};

// `relay`: both sides through coturn, relay candidates only (see the header comment).
void RunInterop(IceRole tern_role, std::optional<RoleConflict> conflict = std::nullopt, bool relay = false) {
  if (!HavePeers({"dumpcap", "tshark"}) || !HaveAioice()) return;
  if (relay && !HavePeers({"turnserver"})) return;
  const bool tern_controlling = tern_role == IceRole::kControlling;
  const std::string name = relay ? (tern_controlling ? "relay_tern_controlling" : "relay_tern_controlled")
                         : conflict ? std::string("conflict_tern_") + (conflict->tern_final == IceRole::kControlling
                                                                           ? "stays_controlling"
                                                                           : "yields")
                                    : (tern_controlling ? "tern_controlling" : "tern_controlled");
  const std::string dir = test::scratch_dir("aioice_" + name);
  const bool aioice_controlling = conflict || !tern_controlling;

  test::UdpSocket sock;
  REQUIRE(sock.ok());
  const uint16_t port = sock.local_port();
  REQUIRE(port != 0);

  // coturn on [base, base + 64): listener at base, relays 127.0.0.2:[base + 10, base + 50].
  std::unique_ptr<BackgroundPeer> coturn;
  const uint16_t base = relay ? test::FreeUdpPortBase() : 0;
  const uint16_t server_port = base;
  const uint16_t relay_min = base + 10, relay_max = base + 50;
  if (relay) {
    REQUIRE(base != 0);
    run_command("rm -f '" + dir + "/turndb'", 5);
    coturn = std::make_unique<BackgroundPeer>(
        "turnserver -n --listening-ip 127.0.0.1 --relay-ip 127.0.0.2 --listening-port " + std::to_string(server_port) +
            " --min-port " + std::to_string(relay_min) + " --max-port " + std::to_string(relay_max) +
            " --lt-cred-mech --user alice:secret --realm tern.test --no-tls --no-dtls --no-cli"
            " --allow-loopback-peers --log-file stdout --simple-log --pidfile " + dir + "/turn.pid --userdb " + dir +
            "/turndb",
        60, dir + "/turnserver.log");
    REQUIRE_MESSAGE(test::WaitForUdpPort(server_port, 5000), coturn->log());
  }

  // Capture tern's port for the whole run; dumpcap creates the file once it captures.
  const std::string pcap = dir + "/cap.pcapng";
  run_command("rm -f '" + pcap + "'", 5);
  auto capture = std::make_unique<BackgroundPeer>(
      "dumpcap -q -i lo -f 'udp port " + std::to_string(port) + "' -w " + pcap, 60, dir + "/dumpcap.log");
  for (int i = 0; i < 250 && !NonEmptyFile(pcap); ++i) run_command("sleep 0.02", 2);
  if (!NonEmptyFile(pcap)) {
    if (test::interop_required()) FAIL("dumpcap could not capture on lo: " << capture->log());
    MESSAGE("capture on lo is not possible here: skipped (" << capture->log() << ")");
    return;
  }

  IceAgentConfig config;
  config.role = tern_role;
  config.seed = tern_controlling ? 1515 : 5151;
  LocalSocket local_socket;
  local_socket.id = 1;
  local_socket.address = TransportAddress::V4(127, 0, 0, 1, port);
  config.sockets.push_back(local_socket);
  auto created = IceAgent::Create(config);
  REQUIRE_MESSAGE(created.ok(), std::string(created.error()));
  IceAgent agent = std::move(*created);
  std::optional<TurnRelayTransport> turn;
  if (relay) {
    TurnClientConfig turn_config;
    turn_config.username = "alice";
    turn_config.password = "secret";
    auto client = TurnClient::Create(turn_config);
    REQUIRE_MESSAGE(client.ok(), std::string(client.error()));
    turn.emplace(std::move(*client));
  }

  const Timestamp t0 = Now();
  agent.start(t0);
  if (turn) {
    agent.add_relay(&*turn, t0);
    turn->client().allocate(t0);
  }
  std::vector<std::string> local_sdp;
  RunResult r;
  Timestamp remote_at = t0;
  auto drain_events = [&](Timestamp now) {
    while (auto e = agent.poll_event()) {
      // Relay cases signal the relay candidate alone: tern's host address stays unknown to aioice.
      if (e->kind == IceEvent::Kind::kLocalCandidate && (!relay || e->candidate.type == CandidateType::kRelay)) {
        local_sdp.push_back(ToSdp(e->candidate));
      }
      if (e->kind == IceEvent::Kind::kSelectedPair && !r.tern_selected) {
        r.tern_selected = true;
        r.tern_local = e->candidate;
        r.tern_remote = e->remote;
        r.tern_ms = static_cast<double>((now - t0).us()) / 1000.0;
        r.tern_after_remote_ms = static_cast<double>((now - remote_at).us()) / 1000.0;
        MESSAGE("tern selected " << e->candidate.address.to_string() << " -> " << e->remote.address.to_string());
      }
      if (e->kind == IceEvent::Kind::kRoleChanged) MESSAGE("tern's role changed (tie-breaker)");
    }
  };
  auto count_sent = [&](const std::vector<uint8_t>& data) {
    if (!data.empty() && data[0] < 4) ++r.stun_sent;  // RFC 7983: 0-3 is STUN
    if (!data.empty() && data[0] >= 0x40 && data[0] <= 0x4f) ++r.channel_data_sent;  // RFC 8656 12.4
  };
  auto flush = [&] {
    for (auto& out : agent.take_outgoing()) {
      CHECK(sock.send_to_v4(Ip4HostOrder(out.destination), out.destination.port, out.data));
      count_sent(out.data);
    }
    if (!turn) return;
    while (auto out = turn->client().pop_outgoing()) {
      CHECK(sock.send_to(server_port, *out));
      count_sent(*out);
    }
  };
  std::set<std::string> sent_payloads;
  // Everything queued on the socket (at most 64 per call) into the agent, or into the TURN client
  // when it comes from the TURN server; echoes are counted.
  auto receive = [&](Timestamp now) {
    auto on_app = [&](std::span<const uint8_t> data) {
      if (sent_payloads.erase(std::string(data.begin(), data.end())) == 1) ++r.echoed;
    };
    for (int n = 0; n < 64; ++n) {
      auto dgram = sock.try_receive_from_v4();
      if (!dgram) break;
      if (turn && dgram->ip == 0x7f000001 && dgram->port == server_port) {
        turn->client().on_datagram(dgram->data, now);
        continue;
      }
      const auto source = TransportAddress::V4(static_cast<uint8_t>(dgram->ip >> 24), static_cast<uint8_t>(dgram->ip >> 16),
                                               static_cast<uint8_t>(dgram->ip >> 8), static_cast<uint8_t>(dgram->ip),
                                               dgram->port);
      if (agent.on_datagram(1, source, dgram->data, now) == IceAgent::Inbound::kApplication) on_app(dgram->data);
    }
    if (turn) turn->deliver(agent, now, [&](const TransportAddress&, std::span<const uint8_t> data) { on_app(data); });
  };
  // The timers of the agent and of the TURN client.
  auto next_wakeup = [&](Timestamp limit) {
    if (auto w = agent.next_wakeup()) limit = std::min(limit, *w);
    if (turn) {
      if (auto w = turn->client().next_wakeup()) limit = std::min(limit, *w);
    }
    return limit;
  };
  auto process = [&](Timestamp now) {
    if (turn) {
      const auto w = turn->client().next_wakeup();
      if (w && *w <= now) turn->client().process(now);
    }
    agent.process(now);
    drain_events(now);
    flush();
  };
  drain_events(t0);
  flush();
  // Relay cases: the description waits for the allocation (401, then the authenticated Allocate).
  const Timestamp gather_deadline = t0 + TimeDelta::Seconds(5);
  for (int iter = 0; iter < 10000 && relay && local_sdp.empty(); ++iter) {
    Timestamp now = Now();
    if (now >= gather_deadline) break;
    pollfd fd = {sock.fd(), POLLIN, 0};
    const int timeout_ms = static_cast<int>(std::max<int64_t>(0, (next_wakeup(gather_deadline) - now).ms() + 1));
    if (::poll(&fd, 1, timeout_ms) < 0) break;
    now = Now();
    receive(now);
    process(now);
  }
  const double relay_gathered_ms = static_cast<double>((Now() - t0).us()) / 1000.0;
  REQUIRE_MESSAGE(local_sdp.size() == 1, (coturn ? coturn->log() : std::string()));
  const IceCredentials local = agent.local_credentials();
  {
    const nlohmann::json desc = {{"ufrag", local.ufrag}, {"pwd", local.pwd}, {"candidates", local_sdp}};
    std::ofstream f(dir + "/tern.json");
    f << desc.dump() << "\n";
  }

  PeerProcess peer("timeout -k 3 " + std::to_string(kPeerTimeoutSeconds) + " /usr/bin/python3 '" + TERN_SOURCE_DIR +
                   "/tests/ice/aioice_peer.py' " + (aioice_controlling ? "controlling" : "controlled") + " '" + dir +
                   "/tern.json' " + std::to_string(kEchoCount) + " 10 " +
                   (conflict ? std::string(conflict->aioice_tie_breaker) : std::string("-")) +
                   (relay ? " 127.0.0.1:" + std::to_string(server_port) + ":alice:secret" : std::string()) + " 2>&1");
  REQUIRE(peer.fd() >= 0);

  bool have_remote = false;
  bool peer_done = false;
  const Timestamp deadline = t0 + TimeDelta::Seconds(kPeerTimeoutSeconds);
  for (int iter = 0; iter < 100000 && !peer_done; ++iter) {
    Timestamp now = Now();
    if (now >= deadline) break;
    // Application data once both sides are connected: kEchoCount numbered datagrams, not STUN.
    if (r.tern_selected && r.peer_connected && r.app_sent < kEchoCount) {
      char payload[32];
      std::snprintf(payload, sizeof(payload), "tern-echo-%03d", r.app_sent);
      const std::string s(payload);
      const Status st = agent.send(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()), now);
      REQUIRE_MESSAGE(st.ok(), std::string(st.error()));
      sent_payloads.insert(s);
      ++r.app_sent;
      flush();
      continue;
    }
    const Timestamp wake = next_wakeup(deadline);
    const int timeout_ms = static_cast<int>(std::max<int64_t>(0, (wake - now).ms() + 1));
    pollfd fds[2] = {{sock.fd(), POLLIN, 0}, {peer.fd(), POLLIN, 0}};
    if (::poll(fds, 2, timeout_ms) < 0) break;
    now = Now();
    if (fds[0].revents & POLLIN) {
      receive(now);
    }
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      if (!peer.pump()) peer_done = true;
      while (auto line = peer.next_line()) {
        const auto msg = nlohmann::json::parse(*line, nullptr, /*allow_exceptions=*/false);
        if (!msg.is_object()) continue;  // stderr (a traceback, warnings): kept in peer.log()
        if (msg.contains("error")) FAIL_CHECK("aioice: " << *line);
        if (!have_remote && msg.contains("ufrag")) {
          have_remote = true;
          remote_at = now;
          MESSAGE("aioice tie-breaker " << msg.value("tie_breaker", ""));
          for (const auto& sdp : msg.at("candidates")) {
            auto c = ParseSdpCandidate(sdp.get<std::string>());
            REQUIRE_MESSAGE(c.has_value(), sdp.dump());
            if (relay) CHECK(c->type == CandidateType::kRelay);  // aioice signalled its relay alone
            CHECK(agent.add_remote_candidate(*c, now));
          }
          agent.set_remote_credentials({msg.at("ufrag").get<std::string>(), msg.at("pwd").get<std::string>()}, now);
          agent.end_of_remote_candidates(now);
        }
        if (msg.value("connected", false)) {
          r.peer_connected = true;
          r.peer_ms = msg.value("ms", -1.0);
          r.peer_controlling = msg.value("controlling", false);
          r.peer_local = msg.value("local", "");
          r.peer_remote = msg.value("remote", "");
          r.peer_local_type = msg.value("local_type", "");
          MESSAGE("aioice selected " << r.peer_local << " -> " << r.peer_remote);
        }
        if (msg.contains("echoed")) r.peer_echoed = msg.value("echoed", -1);
      }
    }
    process(now);
  }
  // Echoes already delivered to the socket (loopback delivers on send) but not yet read.
  receive(Now());
  const int exit_code = peer.finish();
  r.stats = agent.stats();
  // dumpcap hands packets to its file in blocks: stopping it right after the run lost a whole
  // run's packets now and then. Stop it once the file holds every datagram tern sent (bounded).
  const std::string from_tern = "udp.srcport == " + std::to_string(port);
  // Relay cases: the application data went inside Send indications (counted as STUN) or ChannelData.
  const int tern_sent = r.stun_sent + (relay ? r.channel_data_sent : r.app_sent);
  for (int i = 0; i < 20 && TsharkCount(pcap, from_tern) < tern_sent; ++i) run_command("sleep 0.2", 2);
  capture->interrupt();
  CHECK(capture->wait(5000));

  INFO("aioice stdout: " << peer.log());
  if (coturn) INFO("coturn: " << coturn->log());
  CHECK(exit_code == 0);
  CHECK(r.peer_connected);
  CHECK(r.tern_selected);
  CHECK(agent.state() == IceState::kConnected);
  CHECK(agent.selected_pair().has_value());
  if (conflict) {
    CHECK(agent.role() == conflict->tern_final);
    CHECK(r.peer_controlling == (conflict->tern_final == IceRole::kControlled));
    // tern yields by a switch or on aioice's 487: counted either way. When tern keeps the role,
    // aioice may switch silently on tern's first check, before it sends any conflicting one.
    if (conflict->tern_final == IceRole::kControlled) CHECK(r.stats.role_conflicts >= 1);
  } else {
    CHECK(agent.role() == tern_role);  // distinct roles: no conflict, no switch
    CHECK(r.peer_controlling == aioice_controlling);
  }
  CHECK(r.app_sent == kEchoCount);
  CHECK(r.peer_echoed == kEchoCount);
  CHECK(r.echoed == kEchoCount);
  CHECK(r.stats.dropped_bad_fingerprint == 0);
  CHECK(r.stats.dropped_bad_integrity == 0);
  CHECK(r.stats.dropped_malformed == 0);
  if (relay) {
    // Relay <-> relay through coturn's relayed addresses on 127.0.0.2, the same pair on both sides.
    REQUIRE(turn->client().relayed_address().has_value());
    const TransportAddress tern_relayed = *turn->client().relayed_address();
    CHECK(r.tern_local.type == CandidateType::kRelay);
    CHECK(r.tern_remote.type == CandidateType::kRelay);
    CHECK(r.tern_local.address == tern_relayed);
    for (const TransportAddress& a : {r.tern_local.address, r.tern_remote.address}) {
      CHECK(Ip4(a) == "127.0.0.2");
      CHECK(a.port >= relay_min);
      CHECK(a.port <= relay_max);
    }
    CHECK(r.peer_local_type == "relay");
    CHECK(r.peer_local == r.tern_remote.address.to_string());
    CHECK(r.peer_remote == tern_relayed.to_string());
    CHECK(turn->counters().permissions_refused == 0);
    CHECK(turn->counters().sends_refused == 0);
    CHECK(turn->counters().channels_refused == 0);
    CHECK(turn->client().counters().auth_challenges == 1);
    CHECK(turn->client().channel_for(r.tern_remote.address).has_value());  // bound on selection
    MESSAGE(name << ": tern's relay candidate " << tern_relayed.to_string() << " after " << relay_gathered_ms
                 << " ms (allocation); to the TURN server " << r.stun_sent << " STUN messages and "
                 << r.channel_data_sent << " ChannelData");
  }
  MESSAGE(name
          << ": tern selected " << r.tern_ms << " ms after start, " << r.tern_after_remote_ms
          << " ms after the remote description; aioice connect() took " << r.peer_ms << " ms; checks sent "
          << r.stats.checks_sent << ", retransmissions " << r.stats.retransmissions << ", triggered "
          << r.stats.triggered_checks << ", requests answered " << r.stats.requests_received << ", role conflicts "
          << r.stats.role_conflicts << ", prflx remote " << r.stats.peer_reflexive_remote << ", echoed "
          << r.echoed << "/" << kEchoCount);

  // tshark: every datagram tern sent is either one of the kEchoCount application datagrams or a
  // STUN message it dissects without a malformed mark or error-level expert info.
  // Relay cases: everything tern sent is STUN or ChannelData (the application data inside),
  // decoded as STUN on the TURN server's port.
  const std::string decode = relay ? "-d udp.port==" + std::to_string(server_port) + ",stun" : "";
  CHECK(TsharkCount(pcap, from_tern + " && stun", decode) == (relay ? tern_sent : r.stun_sent));
  CHECK(TsharkCount(pcap, from_tern + " && !stun", decode) == (relay ? 0 : kEchoCount));
  CHECK(TsharkCount(pcap, from_tern + " && stun && (_ws.malformed || _ws.expert.severity == error)", decode) == 0);
  CHECK(r.stun_sent > 0);
}

TEST_CASE("aioice interop: tern controlling, aioice controlled, host candidates on loopback") {
  RunInterop(IceRole::kControlling);
}

TEST_CASE("aioice interop: aioice controlling, tern controlled, host candidates on loopback") {
  RunInterop(IceRole::kControlled);
}

}  // namespace
}  // namespace tern::ice

namespace tern::ice {
namespace {

// Both start controlling (RFC 8445 7.3.1.1): the larger tie-breaker keeps the role. aioice's is
// fixed at either end of the range so that the outcome does not depend on tern's seed.
TEST_CASE("aioice interop: both controlling, aioice's tie-breaker larger: tern yields") {
  RunInterop(IceRole::kControlling, RoleConflict{"18446744073709551615", IceRole::kControlled});
}

TEST_CASE("aioice interop: both controlling, aioice's tie-breaker smaller: tern stays controlling") {
  RunInterop(IceRole::kControlling, RoleConflict{"0", IceRole::kControlling});
}

TEST_CASE("aioice interop: tern controlling, relay candidates only through coturn") {
  RunInterop(IceRole::kControlling, std::nullopt, /*relay=*/true);
}

TEST_CASE("aioice interop: aioice controlling, relay candidates only through coturn") {
  RunInterop(IceRole::kControlled, std::nullopt, /*relay=*/true);
}

}  // namespace
}  // namespace tern::ice
