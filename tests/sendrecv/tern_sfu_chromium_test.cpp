// Headless Chromium through tern-sfu (issue 17), one browser process, in a network namespace of its
// own (chromium/sfu.js drives it; every process under `timeout`; tern-sfu --workers 2 --room-mode call):
//  1. broadcast: a Chromium page publishes audio + video by WHIP; two more pages and one tern-peer
//     subscribe by WHEP; each decodes >= 90% of the frames the publisher sent (its getStats
//     framesSent) since that subscriber's first frame, and receives audio;
//  2. a one-to-one call of two pages through a call room (tern-sfu --room-mode call): each side
//     publishes and subscribes to the other at /whep/<own WHIP resource id>; side B's two peer
//     connections go only through tern-turn with 5% loss each way (iceTransportPolicy 'relay').
//     Side A's received video (B's, repaired by the server on B's uplink) still decodes >= 90% of
//     what B sent, with at most one freeze more than the clean broadcast subscribers; B's stats show the
//     NACKs and retransmissions of both its lossy hops; A's publisher is never NACKed; a third
//     publisher gets 409;
//  3. simulcast: the first page publishes a 640x360 camera in three encodings (sendEncodings rids
//     q, h, f; scaleResolutionDownBy 4, 2, 1) with no a=ssrc; the server learns their SSRCs from
//     the rid extension and a subscriber page decodes the one encoding it forwards (>= 80% of the
//     frames the lowest encoding sent during the hold), moving up to a larger one at a keyframe.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>

#include "support/chromium_rig.h"
#include "support/peer.h"
#include "support/process.h"
#include "support/tool_run.h"

namespace {

using nlohmann::json;

using tern::test::read_json_file;
using tern::test::tool_path;

// A getStats() number (0 when absent).
double Stat(const json& stats, const char* section, const char* field) {
  const auto s = stats.find(section);
  if (s == stats.end() || !s->is_object() || !s->contains(field) || !(*s)[field].is_number()) return 0;
  return (*s)[field].get<double>();
}

// The local candidates' types of `role`'s ("pub"/"sub") peer connection: "relay" when they all
// are, "host" when they all are, "mixed" or "none" otherwise.
std::string CandidateTypes(const json& stats, const std::string& role) {
  const json local = stats.value(role + "_local", json::object());
  std::string type = "none";
  for (const auto& [id, t] : local.items()) type = type == "none" || type == t.get<std::string>() ? t.get<std::string>() : "mixed";
  return type;
}

constexpr double kTernPeerDuration = 2.5;  // seconds

}  // namespace

TEST_CASE("tern-sfu: headless Chromium publishes to two pages and a tern-peer, and calls another page through a lossy TURN relay") {
  if (!tern::test::EnterChromiumRig(false)) return;  // now in a network namespace of its own
  const std::string dir = tern::test::scratch_dir("tern_sfu_chromium");
  const std::string result_json = dir + "/result.json", peer_json = dir + "/peer.json", sfu_json = dir + "/sfu.json";
  for (const std::string& f : {result_json, peer_json, sfu_json}) std::remove(f.c_str());
  tern::test::BackgroundPeer sfu(
      tool_path("tern-sfu") + " --http 127.0.0.1:5993 --udp 127.0.0.1:0 --workers 2 --room-mode call --quiet --stats-json " + sfu_json, 40,
      dir + "/sfu.log");
  REQUIRE(sfu.started());
  tern::test::BackgroundPeer turn(tool_path("tern-turn") +
                                      " --user tern:ternpass --realm tern.test --listen 127.0.0.1:3478 --relay-ip 127.0.0.1"
                                      " --min-port 50000 --max-port 50099 --loss 5 --seed 7",
                                  40, dir + "/turn.log");
  REQUIRE(turn.started());
  // The page's tern-peer subscriber (sfu.js appends the WHEP URL).
  const std::string peer = "timeout -k 2 -s INT 15 " + tool_path("tern-peer") + " --duration " + std::to_string(kTernPeerDuration) +
                           " --quiet --width 320 --height 180 --stats-json " + peer_json + " --whep";
  const auto node = tern::test::run_command("env NODE_PATH='" + tern::test::chromium_node_dir() + "/node_modules' timeout -k 3 50 node '" TERN_SOURCE_DIR
                                            "/tests/sendrecv/chromium/sfu.js' " + result_json +
                                                " http://127.0.0.1:5993 'turn:127.0.0.1:3478?transport=udp' tern ternpass 2500 " + peer,
                                            55, true);
  sfu.send_signal(SIGTERM);
  turn.interrupt();
  REQUIRE(sfu.wait(5000));
  REQUIRE(turn.wait(5000));
  INFO("node:\n" << node.out << "\nsfu:\n" << sfu.log() << "\nturn:\n" << turn.log());
  const json r = read_json_file(result_json);
  REQUIRE(r.is_object());
  INFO("Chromium: " << r.dump(1).substr(0, 12000));
  REQUIRE_MESSAGE(r.value("ok", false), r.value("error", std::string("?")));
  CHECK(node.exit_code == 0);
  CHECK(sfu.exit_code() == 0);
  MESSAGE(r.value("browser", std::string("?")) << ", sfu.js wall " << r.value("wallMs", 0) << " ms");

  // 1. Broadcast.
  const json& b = r["broadcast"];
  const json& pub = b["publisher"];
  const double sent = Stat(pub, "out_video", "framesSent");
  MESSAGE("broadcast publisher: " << Stat(pub, "out_video", "framesEncoded") << " frames encoded, " << sent << " sent, "
                                  << Stat(pub, "out_video", "nackCount") << " NACKs received");
  CHECK(sent >= 40);  // Chromium's fake camera: ~20 fps here
  double baseline_freezes = 0;
  REQUIRE(b["subscribers"].size() == 2);
  for (const json& s : b["subscribers"]) {
    const double decoded = Stat(s["stats"], "in_video", "framesDecoded");
    const double available = sent - s["publisherSentAtFirstFrame"].get<double>();
    const double freezes = Stat(s["stats"], "in_video", "freezeCount");
    baseline_freezes = std::max(baseline_freezes, freezes);
    MESSAGE("Chromium subscriber: " << decoded << " frames decoded of " << available << " sent since its first, " << freezes
                                    << " freezes, " << Stat(s["stats"], "in_audio", "totalSamplesReceived") << " audio samples");
    CHECK(decoded >= 0.9 * available);
    CHECK(Stat(s["stats"], "in_audio", "totalSamplesReceived") > 48000);
  }
  // tern-peer: the publisher's frame rate over tern-peer's life, times its time after its first frame.
  const json p = read_json_file(peer_json);
  REQUIRE(p.is_object());
  REQUIRE(p["sessions"].size() == 1);
  const json& ps = p["sessions"][0];
  CHECK(b["ternPeerExit"] == 0);
  const double life = (b["ternPeerExitMs"].get<double>() - b["ternPeerSpawnedMs"].get<double>()) / 1000.0;
  const double fps = (b["publisherSentAtTernPeerExit"].get<double>() - b["ternPeerSpawnedSent"].get<double>()) / life;
  const double first = ps.value("postToFirstVideoFrameMs", 0.0) / 1000.0;
  const double peer_available = fps * (kTernPeerDuration - first);
  const double peer_decoded = ps["summary"].value("videoFramesDecoded", 0.0);
  MESSAGE("tern-peer subscriber: " << peer_decoded << " frames decoded of ~" << peer_available << " (" << fps
                                   << " fps after its first frame at " << first * 1000 << " ms), "
                                   << ps["summary"].value("audioSamplesReceived", 0) << " audio samples");
  CHECK(first > 0);
  CHECK(peer_decoded >= 0.9 * peer_available);
  CHECK(ps["summary"].value("audioSamplesReceived", uint64_t{0}) > 48000);

  // 2. The call: A direct, B through the lossy relay.
  const json& c = r["call"];
  CHECK(c["thirdPublisherStatus"] == 409);
  const json &a = c["a"], &bb = c["b"];
  CHECK(CandidateTypes(bb["end"], "pub") == "relay");  // B: only through the lossy relay
  CHECK(CandidateTypes(bb["end"], "sub") == "relay");
  CHECK(CandidateTypes(a["end"], "pub") == "host");
  auto delta = [](const json& side, const char* section, const char* field) {
    return Stat(side["end"], section, field) - Stat(side["start"], section, field);
  };
  const double a_decoded = delta(a, "in_video", "framesDecoded"), b_sent = delta(bb, "out_video", "framesSent");
  const double b_decoded = delta(bb, "in_video", "framesDecoded"), a_sent = delta(a, "out_video", "framesSent");
  const double a_freezes = Stat(a["end"], "in_video", "freezeCount");
  MESSAGE("call, clean side A: " << a_decoded << " frames decoded of B's " << b_sent << " sent, " << a_freezes
                                 << " freezes (clean broadcast subscribers: at most " << baseline_freezes << "), "
                                 << Stat(a["end"], "in_video", "nackCount") << " NACKs sent; A's publisher got "
                                 << Stat(a["end"], "out_video", "nackCount") << " NACKs");
  MESSAGE("call, lossy side B: " << b_decoded << " frames decoded of A's " << a_sent << " sent, "
                                 << Stat(bb["end"], "in_video", "freezeCount") << " freezes, "
                                 << Stat(bb["end"], "in_video", "nackCount") << " NACKs sent, "
                                 << Stat(bb["end"], "in_video", "retransmittedPacketsReceived") << " RTX received, "
                                 << Stat(bb["end"], "in_video", "packetsLost") << " lost; B's publisher got "
                                 << Stat(bb["end"], "out_video", "nackCount") << " NACKs, sent "
                                 << Stat(bb["end"], "out_video", "retransmittedPacketsSent") << " RTX");
  CHECK(b_sent >= 35);
  CHECK(a_decoded >= 0.9 * b_sent);
  CHECK(a_freezes <= baseline_freezes + 1);  // one freeze of slack: a loaded machine freezes clean calls too
  CHECK(Stat(a["end"], "in_audio", "totalSamplesReceived") > 48000);
  CHECK(Stat(a["end"], "out_video", "nackCount") == 0);  // B's loss never reaches A's publisher
  CHECK(b_decoded > 0);
  CHECK(Stat(bb["end"], "in_video", "nackCount") > 0);  // B's downlink: B NACKs, the server retransmits
  CHECK(Stat(bb["end"], "in_video", "retransmittedPacketsReceived") > 0);
  CHECK(Stat(bb["end"], "out_video", "nackCount") > 0);  // B's uplink: the server NACKs, B retransmits
  CHECK(Stat(bb["end"], "out_video", "retransmittedPacketsSent") > 0);

  // 3. Simulcast.
  const json& sc = r["simulcast"];
  const json& rids = sc["publish"]["offerRids"];
  CHECK(rids.size() == 3);
  const json out_rids = sc["publisherEnd"].value("out_rids", json::object());
  double q_sent = 0;
  std::string per_rid;
  for (const auto& [rid, st] : out_rids.items()) {
    const double sent_delta = st.value("framesSent", 0.0) - sc["publisherStart"].value("out_rids", json::object()).value(rid, json::object()).value("framesSent", 0.0);
    if (rid == "q") q_sent = sent_delta;
    per_rid += " " + rid + ": " + std::to_string(st.value("frameWidth", 0)) + "x" + std::to_string(st.value("frameHeight", 0)) + " " +
               std::to_string(static_cast<int>(sent_delta)) + " frames sent;";
  }
  const double sc_decoded = Stat(sc["end"], "in_video", "framesDecoded") - Stat(sc["start"], "in_video", "framesDecoded");
  int sc_encoding = -1, sc_learned = 0, sc_unknown = -1, sc_switches = -1;
  for (const json& e : sc["sfuStats"].value("sessions", json::array())) {
    if (e.value("room", std::string()) != "simul") continue;
    if (e.value("role", std::string()) == "publisher") {
      sc_learned = e.value("simulcastSsrcsLearned", 0);
      sc_unknown = e.value("unknownRid", 0);
    } else {
      sc_encoding = e.value("simulcastEncoding", -1);
      sc_switches = e.value("encodingSwitches", -1);
    }
  }
  MESSAGE("simulcast publisher:" << per_rid << " the server learned " << sc_learned << " SSRCs; the subscriber decoded "
                                 << sc_decoded << " frames in the hold (encoding " << sc_encoding << " after " << sc_switches
                                 << " switches, " << Stat(sc["end"], "in_video", "keyFramesDecoded") << " keyframes, "
                                 << Stat(sc["end"], "in_video", "frameWidth") << "x" << Stat(sc["end"], "in_video", "frameHeight") << ", "
                                 << Stat(sc["end"], "in_video", "freezeCount") << " freezes)");
  CHECK(out_rids.size() >= 2);
  CHECK(q_sent > 20);
  CHECK(sc_learned >= 2);  // at least two encodings' media SSRCs (RTX SSRCs count too)
  CHECK(sc_unknown == 0);
  CHECK(sc_encoding >= 0);
  CHECK(sc_decoded >= 0.8 * q_sent);
  // It moved up from the first rid (q) to a larger encoding at one of its keyframes, and decodes it.
  CHECK(sc_switches >= 1);
  CHECK(Stat(sc["end"], "in_video", "frameWidth") > Stat(sc["start"], "in_video", "frameWidth"));
  CHECK(Stat(sc["end"], "in_video", "keyFramesDecoded") >= 2);
  CHECK(Stat(sc["end"], "in_video", "freezeCount") <= baseline_freezes + 1);

  // The server: every session it created, nothing unauthenticated.
  const json server = read_json_file(sfu_json);
  REQUIRE(server.is_object());
  CHECK(server["server"]["sessionsCreated"] == 10);  // 1 + 3 broadcast, 2 + 2 call, 1 + 1 simulcast
  CHECK(server["server"]["unauthenticatedDropped"] == 0);
}
