// Headless Chromium through tern-turn (issue 15): two RTCPeerConnections of one page, both with
// iceTransportPolicy 'relay' and tern-turn as their only ICE server, call each other with Chromium's
// fake camera and microphone (tests/turn/chromium/: page.html, drive.js on puppeteer-core).
// Each case runs in a network namespace of its own (support/netns.h), so the fixed ports below
// are private to it. Asserted from getStats(): the selected pair is relay-relay through tern-turn's
// listening address and relay ports, video decodes; with `--loss 5` the receiver reports lost
// packets and sends NACKs, the sender retransmits, video still decodes. tern-turn's counters (its
// JSON line at exit) show the relayed packets and the link's drops. The clean case also times the
// connection through coturn, through tern-turn and direct (host-host), in turn, in one browser.
//
// Needs chromium, node (>= 18), puppeteer-core (scripts/install-deps.sh installs it into out/node;
// TERN_NODE_DIR overrides), coturn for the clean case, and root for the namespace. Without them
// the cases skip, unless TERN_REQUIRE_INTEROP=1 (CI), where they fail.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/chromium_rig.h"
#include "support/netns.h"
#include "support/peer.h"
#include "support/process.h"

namespace {

using nlohmann::json;

constexpr const char* kUser = "tern";
constexpr const char* kPassword = "ternpass";
constexpr uint16_t kTernTurnPort = 3478;
constexpr uint16_t kCoturnPort = 3479;
constexpr int kRelayMin = 50000, kRelayMax = 50099;          // tern-turn's relay ports
constexpr int kCoturnRelayMin = 50100, kCoturnRelayMax = 50199;

std::string tern_turn_command(const std::string& extra) {
  return std::string(TERN_BINARY_DIR) + "/tools/tern-turn --user " + kUser + ":" + kPassword +
         " --realm tern.test --listen 127.0.0.1:" + std::to_string(kTernTurnPort) + " --relay-ip 127.0.0.1 --min-port " +
         std::to_string(kRelayMin) + " --max-port " + std::to_string(kRelayMax) + " " + extra;
}

std::string coturn_command() {
  return "turnserver -n --no-tls --no-dtls --no-cli --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port=" +
         std::to_string(kCoturnPort) + " --min-port=" + std::to_string(kCoturnRelayMin) +
         " --max-port=" + std::to_string(kCoturnRelayMax) + " --allow-loopback-peers --lt-cred-mech --user=" + kUser +
         ":" + kPassword + " --realm=tern.test --simple-log --log-file=stdout";
}

// A call through the TURN server on `port` (0: a direct call, host candidates only).
json call(const std::string& name, uint16_t port, int media_ms) {
  return {{"name", name},
          {"turnUrl", port == 0 ? std::string() : "turn:127.0.0.1:" + std::to_string(port) + "?transport=udp"},
          {"username", kUser},
          {"credential", kPassword},
          {"mediaMs", media_ms},
          {"timeoutMs", 20000}};
}

// Runs the calls in one headless Chromium; returns drive.js's result (one entry per call).
json run_calls(const json& calls, const std::string& dir) {
  const std::string plan = dir + "/plan.json", result = dir + "/result.json";
  std::ofstream(plan) << json{{"calls", calls}}.dump();
  std::remove(result.c_str());
  const auto out = tern::test::run_command("env NODE_PATH='" + tern::test::chromium_node_dir() + "/node_modules' node '" TERN_SOURCE_DIR
                                           "/tests/turn/chromium/drive.js' '" + plan + "' '" + result + "'",
                                           100, true);
  INFO("drive.js output:\n" << out.out);
  REQUIRE(out.exit_code == 0);
  std::ifstream in(result);
  REQUIRE(in.good());
  json r = json::parse(in, nullptr, false);
  REQUIRE(!r.is_discarded());
  REQUIRE(r["calls"].size() == calls.size());
  MESSAGE(r.value("browser", std::string("?")));
  return r["calls"];
}

// Stops tern-turn (SIGINT) and returns the counters it prints as its last JSON line.
json stop_and_read_counters(tern::test::BackgroundPeer& turn) {
  turn.interrupt();
  REQUIRE(turn.wait(5000));
  const std::string log = turn.log();
  INFO("tern-turn log:\n" << log);
  json counters;
  for (const std::string& line : tern::test::split_lines(log)) {
    if (!line.empty() && line[0] == '{') counters = json::parse(line, nullptr, false);
  }
  REQUIRE(counters.is_object());
  return counters;
}

// A getStats() figure (drive.js leaves out what Chromium did not report): -1 when absent.
double stat(const json& side, const char* section, const char* kind, const char* field) {
  const auto s = side.find(section);
  if (s == side.end() || !s->contains(kind)) return -1;
  const json& entry = (*s)[kind];
  return entry.contains(field) && entry[field].is_number() ? entry[field].get<double>() : -1;
}

// The selected pair of one peer connection is relay-relay, both relayed addresses on the TURN
// server of `port` (its relay range [min, max]), over UDP.
void check_relay_pair(const json& side, uint16_t port, int min, int max) {
  INFO("selected pair: " << side.at("pair").dump());
  REQUIRE(side.at("pair").is_object());
  const json& local = side.at("pair").at("local");
  const json& remote = side.at("pair").at("remote");
  CHECK(local.value("type", "") == "relay");
  CHECK(remote.value("type", "") == "relay");
  CHECK(local.value("relayProtocol", "") == "udp");
  CHECK(local.value("url", "") == "turn:127.0.0.1:" + std::to_string(port) + "?transport=udp");
  CHECK(local.value("address", "") == "127.0.0.1");
  CHECK(remote.value("address", "") == "127.0.0.1");
  CHECK(local.value("port", 0) >= min);
  CHECK(local.value("port", 0) <= max);
  CHECK(remote.value("port", 0) >= min);
  CHECK(remote.value("port", 0) <= max);
}

// One of tern-turn's grouped counters ("dropped", "rejected"): -1 when absent.
double counter(const json& counters, const char* group, const char* key) {
  const auto g = counters.find(group);
  return g != counters.end() && g->contains(key) && (*g)[key].is_number() ? (*g)[key].get<double>() : -1;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? -1 : v[v.size() / 2];
}

std::string join(const std::vector<double>& v) {
  std::ostringstream s;
  for (size_t i = 0; i < v.size(); ++i) s << (i ? " " : "") << v[i];
  return s.str();
}

TEST_CASE("Chromium through tern-turn: relay-only call decodes video, connection time beside coturn") {
  if (!tern::test::EnterChromiumRig(true)) return;
  const std::string dir = tern::test::scratch_dir("chromium_turn_clean");
  tern::test::BackgroundPeer turn(tern_turn_command(""), 120, dir + "/tern-turn.log");
  tern::test::BackgroundPeer coturn(coturn_command(), 120, dir + "/coturn.log");
  REQUIRE_MESSAGE(tern::test::WaitForUdpPort(kTernTurnPort, 5000), turn.log());
  REQUIRE_MESSAGE(tern::test::WaitForUdpPort(kCoturnPort, 5000), coturn.log());

  // A 5 s call through tern-turn (it also warms the browser up), then connection-only calls
  // through coturn, through tern-turn and direct, in turn.
  constexpr int kMediaMs = 5000, kTrials = 5;
  json calls = json::array({call("tern-turn media", kTernTurnPort, kMediaMs)});
  for (int i = 0; i < kTrials; ++i) {
    calls.push_back(call("coturn connect", kCoturnPort, 0));
    calls.push_back(call("tern-turn connect", kTernTurnPort, 0));
    calls.push_back(call("host connect", 0, 0));
  }
  const json results = run_calls(calls, dir);
  const json counters = stop_and_read_counters(turn);
  coturn.interrupt();
  INFO("tern-turn counters: " << counters.dump());
  for (const json& r : results) {
    INFO(r.value("name", "") << ": " << r.dump());
    REQUIRE(r.value("ok", false));
  }

  const json& media = results[0];
  check_relay_pair(media.at("a"), kTernTurnPort, kRelayMin, kRelayMax);
  check_relay_pair(media.at("b"), kTernTurnPort, kRelayMin, kRelayMax);
  const double frames = stat(media.at("b"), "inbound", "video", "framesDecoded");
  const double audio_packets = stat(media.at("b"), "inbound", "audio", "packetsReceived");
  CHECK(frames >= 50);  // the fake camera gives ~20 fps: 5 s is ~100 frames
  CHECK(audio_packets >= 150);  // 50 packets/s
  CHECK(stat(media.at("b"), "inbound", "video", "packetsLost") == 0);
  CHECK(stat(media.at("b"), "inbound", "audio", "packetsLost") == 0);

  // tern-turn relayed the media: each packet crosses it twice (a's allocation sends it to b's
  // relay port, b's allocation hands it to b), counted once each way; its link dropped nothing.
  CHECK(counters.value("allocations_created", 0) >= 2 * (1 + kTrials));
  CHECK(counters.value("relayed_to_peer", 0) >= audio_packets);
  CHECK(counters.value("relayed_to_client", 0) >= audio_packets);
  CHECK(counter(counters, "dropped", "link_loss") == 0);
  CHECK(counter(counters, "rejected", "bad_credentials") == 0);

  std::vector<double> via_coturn, via_tern, direct;
  for (size_t i = 1; i < results.size(); ++i) {
    const std::string name = results[i].value("name", "");
    const double ms = results[i].value("connectMs", -1.0);
    if (name.rfind("coturn", 0) == 0) {
      check_relay_pair(results[i].at("a"), kCoturnPort, kCoturnRelayMin, kCoturnRelayMax);
      via_coturn.push_back(ms);
    } else if (name.rfind("tern-turn", 0) == 0) {
      check_relay_pair(results[i].at("a"), kTernTurnPort, kRelayMin, kRelayMax);
      via_tern.push_back(ms);
    } else {
      INFO("selected pair: " << results[i].at("a").at("pair").dump());
      CHECK(results[i].at("a").at("pair").at("local").value("type", "") == "host");
      direct.push_back(ms);
    }
  }
  MESSAGE("Chromium through tern-turn: connected in " << media.value("connectMs", -1) << " ms (first call), "
          << frames << " frames decoded in " << media.value("mediaMs", -1) << " ms, " << audio_packets
          << " audio packets; tern-turn relayed " << counters.value("relayed_to_peer", 0) << " to peers, "
          << counters.value("relayed_to_client", 0) << " to clients");
  MESSAGE("connection time (createOffer to both connected), ms: via coturn " << join(via_coturn) << " (median "
          << median(via_coturn) << "), via tern-turn " << join(via_tern) << " (median " << median(via_tern)
          << "), host-host " << join(direct) << " (median " << median(direct) << ")");
}

TEST_CASE("Chromium through tern-turn --loss 5: getStats shows the loss, the NACKs and the retransmissions") {
  if (!tern::test::EnterChromiumRig(false)) return;
  const std::string dir = tern::test::scratch_dir("chromium_turn_loss");
  tern::test::BackgroundPeer turn(tern_turn_command("--loss 5 --seed 1"), 120, dir + "/tern-turn.log");
  REQUIRE_MESSAGE(tern::test::WaitForUdpPort(kTernTurnPort, 5000), turn.log());

  constexpr int kMediaMs = 6000;
  const json results = run_calls(json::array({call("tern-turn --loss 5", kTernTurnPort, kMediaMs)}), dir);
  const json counters = stop_and_read_counters(turn);
  const json& r = results[0];
  INFO("result: " << r.dump());
  INFO("tern-turn counters: " << counters.dump());
  REQUIRE(r.value("ok", false));
  check_relay_pair(r.at("a"), kTernTurnPort, kRelayMin, kRelayMax);
  check_relay_pair(r.at("b"), kTernTurnPort, kRelayMin, kRelayMax);

  const double frames = stat(r.at("b"), "inbound", "video", "framesDecoded");
  const double video_lost = stat(r.at("b"), "inbound", "video", "packetsLost");
  const double nacks_sent = stat(r.at("b"), "inbound", "video", "nackCount");
  const double nacks_received = stat(r.at("a"), "outbound", "video", "nackCount");
  const double retransmitted = stat(r.at("a"), "outbound", "video", "retransmittedPacketsSent");
  const double audio_lost = stat(r.at("b"), "inbound", "audio", "packetsLost");
  const double audio_received = stat(r.at("b"), "inbound", "audio", "packetsReceived");
  CHECK(frames >= 50);       // video still decodes
  CHECK(audio_lost > 0);     // audio has no retransmission: what it lost is the link's loss
  CHECK(video_lost >= 0);
  CHECK(nacks_sent > 0);     // the receiver asked for the lost video packets...
  CHECK(nacks_received > 0);  // ...the sender got (some of) those NACKs...
  CHECK(retransmitted > 0);   // ...and resent packets

  // Every media packet crosses tern-turn's links twice (to b's relay port, then to b), so 5% per
  // crossing is 1 - 0.95^2 = 9.75% end to end. Bounds are about 4 standard deviations wide.
  const double audio_ratio = audio_lost / (audio_lost + audio_received);
  CHECK(audio_ratio > 0.03);
  CHECK(audio_ratio < 0.18);
  const double relayed = counters.value("relayed_to_peer", 0.0) + counters.value("relayed_to_client", 0.0);
  const double link_loss = counter(counters, "dropped", "link_loss");
  CHECK(relayed > 2 * audio_received);
  const double link_ratio = link_loss / relayed;
  CHECK(link_ratio > 0.02);
  CHECK(link_ratio < 0.08);
  MESSAGE("Chromium through tern-turn --loss 5: connected in " << r.value("connectMs", -1) << " ms, " << frames
          << " frames decoded in " << r.value("mediaMs", -1) << " ms; video: " << video_lost << " packets lost, "
          << nacks_sent << " NACKs sent, " << nacks_received << " received, " << retransmitted
          << " packets retransmitted; audio: " << audio_lost << " of " << (audio_lost + audio_received)
          << " lost (" << 100 * audio_ratio << "%, expected 9.75% for 5% on each of two crossings); tern-turn dropped "
          << link_loss << " of " << relayed << " relayed (" << 100 * link_ratio << "%, configured 5%)");
}

}  // namespace
