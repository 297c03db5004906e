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
//  3. tern-sfu --record-dir records the call: each side stops sending and is DELETEd, and its WebM
//     (found by the session's remote address: B's is the relay's) passes `ffprobe -v error` with
//     nothing printed, has one VP8 and one Opus track, lasts the time that side published (its
//     Opus packets sent x 20 ms; within 1%, or 50 ms on a call this short) and decodes with
//     `ffmpeg -v error` printing nothing; /stats' figures of the recording match the file.
//  4. simulcast: the first page publishes a 640x360 camera in three encodings (sendEncodings rids
//     q, h, f; scaleResolutionDownBy 4, 2, 1) with no a=ssrc; the server learns their SSRCs from
//     the rid extension and a subscriber page decodes the one encoding it forwards (>= 80% of the
//     frames the lowest encoding sent during the hold), moving up to a larger one at a keyframe;
//     tern-sfu records the publisher's highest encoding (video frames, its rid and size in /stats).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
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

// `command` with its stderr (only) captured: what ffprobe/ffmpeg -v error print.
tern::test::ProcessResult ChromiumSfuRun(const std::string& command, const std::string& err_file, std::string& err) {
  const auto r = tern::test::run_command(command + " 2>'" + err_file + "'", 30);
  err = tern::test::run_command("cat '" + err_file + "'", 10).out;
  return r;
}

}  // namespace

TEST_CASE("tern-sfu: headless Chromium publishes to two pages and a tern-peer, and calls another page through a lossy TURN relay") {
  if (!tern::test::EnterChromiumRig(false)) return;  // now in a network namespace of its own
  const std::string dir = tern::test::scratch_dir("tern_sfu_chromium");
  const std::string result_json = dir + "/result.json", peer_json = dir + "/peer.json", sfu_json = dir + "/sfu.json";
  const std::string record_dir = dir + "/recordings";
  for (const std::string& f : {result_json, peer_json, sfu_json}) std::remove(f.c_str());
  std::filesystem::remove_all(record_dir);
  tern::test::BackgroundPeer sfu(tool_path("tern-sfu") + " --http 127.0.0.1:5993 --udp 127.0.0.1:0 --workers 2 --room-mode call --quiet --stats-json " +
                                     sfu_json + " --record-dir " + record_dir,
                                 40, dir + "/sfu.log");
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

  // The server: every session it created.
  const json server = read_json_file(sfu_json);
  REQUIRE(server.is_object());
  CHECK(server["server"]["sessionsCreated"] == 10);  // 1 + 3 broadcast, 2 + 2 call, 1 + 1 simulcast
  // Nothing unauthenticated while the sessions lived (after the call's DELETEs, the pages' packets
  // to the ended sessions are).
  CHECK(c["sfuStats"]["server"]["unauthenticatedDropped"] == 0);

  // 3. The call's recordings: each side's publisher session (B's comes from the relay's ports).
  CHECK(a["deleteStatus"] == 200);
  CHECK(bb["deleteStatus"] == 200);
  std::string path_of[2];  // A, B
  for (const json& s : c["sfuStats"]["sessions"]) {
    if (s.value("room", std::string()) != "call1" || s.value("role", std::string()) != "publisher") continue;
    const std::string remote = s.value("remoteAddress", std::string());
    const int port = std::stoi(remote.substr(remote.rfind(':') + 1));
    REQUIRE(s.contains("recording"));
    path_of[port >= 50000 && port <= 50099 ? 1 : 0] = s["recording"].value("path", std::string());
  }
  const json* final_recordings = server.contains("recorder") ? &server["recorder"]["recordings"] : nullptr;
  REQUIRE(final_recordings != nullptr);
  for (int side = 0; side < 2; ++side) {
    const std::string name = side == 0 ? "A (direct)" : "B (lossy relay)";
    const json& stopped = (side == 0 ? a : bb)["stopped"];
    INFO("side " << name << ": " << path_of[side]);
    REQUIRE(!path_of[side].empty());
    std::string err;
    const auto probe = ChromiumSfuRun("timeout 10 ffprobe -v error -show_entries format=duration:stream=codec_name,codec_type -of json '" +
                                          path_of[side] + "'",
                                      dir + "/ffprobe.err", err);
    INFO("ffprobe: " << probe.out << err);
    REQUIRE(probe.exit_code == 0);
    CHECK(err.empty());
    const json pr = json::parse(probe.out, nullptr, false);
    REQUIRE(pr.is_object());
    std::string codecs;
    for (const json& st : pr["streams"]) codecs += st.value("codec_type", std::string()) + ":" + st.value("codec_name", std::string()) + " ";
    CHECK(codecs == "video:vp8 audio:opus ");
    const double recorded = std::stod(pr["format"].value("duration", std::string("0")));
    const double published = Stat(stopped, "out_audio", "packetsSent") * 0.020;  // Opus: 20 ms packets, sent throughout
    MESSAGE("call recording of " << name << ": " << recorded << " s; published " << published << " s of audio, "
                                 << Stat(stopped, "out_video", "framesSent") << " video frames");
    CHECK(std::abs(recorded - published) <= std::max(0.01 * published, 0.050));
    const auto decode = ChromiumSfuRun("timeout 20 ffmpeg -nostdin -v error -i '" + path_of[side] + "' -f null -", dir + "/ffmpeg.err", err);
    INFO("ffmpeg: " << err);
    CHECK(decode.exit_code == 0);
    CHECK(err.empty());
    // /stats' figures of it: finalised, frames, keyframes and audio written, its size.
    bool found = false;
    for (const json& rec : *final_recordings) {
      if (rec.value("path", std::string()) != path_of[side]) continue;
      found = true;
      INFO("recording: " << rec.dump());
      CHECK(rec["room"] == "call1");
      CHECK(rec["state"] == "finalised");
      CHECK(rec["writeErrors"] == 0);
      CHECK(rec["keyframesRecorded"].get<int64_t>() >= 1);
      CHECK(rec["videoFramesRecorded"].get<double>() >= 0.9 * Stat(stopped, "out_video", "framesSent"));
      CHECK(rec["audioFramesRecorded"].get<double>() >= 0.9 * Stat(stopped, "out_audio", "packetsSent"));
      CHECK(rec["bytes"].get<uint64_t>() == std::filesystem::file_size(path_of[side]));
      MESSAGE("  /stats: " << rec["videoFramesRecorded"] << " video frames (" << rec["keyframesRecorded"] << " keyframes), "
                           << rec["audioFramesRecorded"] << " Opus packets, " << rec["gaps"] << " gaps, " << rec["bytes"] << " bytes");
    }
    CHECK(found);
  }

  // 4. Simulcast.
  const json& sc = r["simulcast"];
  const json& rids = sc["publish"]["offerRids"];
  CHECK(rids.size() == 3);
  const json out_rids = sc["publisherEnd"].value("out_rids", json::object());
  double q_sent = 0, h_sent = 0;
  std::string per_rid;
  for (const auto& [rid, st] : out_rids.items()) {
    const double sent_delta = st.value("framesSent", 0.0) - sc["publisherStart"].value("out_rids", json::object()).value(rid, json::object()).value("framesSent", 0.0);
    if (rid == "q") q_sent = sent_delta;
    if (rid == "h") h_sent = sent_delta;
    per_rid += " " + rid + ": " + std::to_string(st.value("frameWidth", 0)) + "x" + std::to_string(st.value("frameHeight", 0)) + " " +
               std::to_string(static_cast<int>(sent_delta)) + " frames sent;";
  }
  const double sc_decoded = Stat(sc["end"], "in_video", "framesDecoded") - Stat(sc["start"], "in_video", "framesDecoded");
  int sc_encoding = -1, sc_learned = 0, sc_unknown = -1, sc_switches = -1, sc_feedback = 0;
  json sc_recording;  // the simulcast publisher's recording: one encoding's video (tools/tern-sfu/simulcast_record.h)
  for (const json& e : sc["sfuStats"].value("sessions", json::array())) {
    if (e.value("room", std::string()) != "simul") continue;
    if (e.value("role", std::string()) == "publisher") {
      sc_learned = e.value("simulcastSsrcsLearned", 0);
      sc_unknown = e.value("unknownRid", 0);
      sc_feedback = e.value("transportFeedbackSent", 0);
      sc_recording = e.value("recording", json::object());
    } else {
      sc_encoding = e.value("simulcastEncoding", -1);
      sc_switches = e.value("encodingSwitches", -1);
    }
  }
  MESSAGE("simulcast (waited " << sc.value("extraWaitMs", 0) << " ms past the hold) publisher:" << per_rid << " the server learned " << sc_learned << " SSRCs; the subscriber decoded "
                                 << sc_decoded << " frames in the hold (encoding " << sc_encoding << " after " << sc_switches
                                 << " switches, " << Stat(sc["end"], "in_video", "keyFramesDecoded") << " keyframes, "
                                 << Stat(sc["end"], "in_video", "frameWidth") << "x" << Stat(sc["end"], "in_video", "frameHeight") << ", "
                                 << Stat(sc["end"], "in_video", "freezeCount") << " freezes)");
  // The server's transport-cc reaches Chromium's send-side estimate (it names an SSRC the publisher
  // sends): the estimate leaves the 300 kbps start rate, and q and h both keep sending.
  const double available = sc["publisherEnd"].value("pub_pair", json::object()).value("availableOutgoingBitrate", 0.0);
  MESSAGE("simulcast publisher: availableOutgoingBitrate " << available << " bps, " << sc_feedback << " transport-cc feedbacks from the server");
  CHECK(sc_feedback > 0);
  CHECK(available > 400000);
  CHECK(h_sent >= 0.8 * q_sent);
  CHECK(out_rids.value("h", json::object()).value("frameWidth", 0) > 0);
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
  // The publisher's recording takes the highest encoding it sends: video frames recorded, a rid
  // named, a picture at least as wide as the subscriber's.
  MESSAGE("simulcast recording: " << sc_recording.dump());
  const json sc_rec_sim = sc_recording.value("simulcast", json::object());
  CHECK(sc_recording.value("videoFramesRecorded", 0) > 0);
  CHECK(!sc_rec_sim.value("rid", std::string()).empty());
  CHECK(sc_rec_sim.value("width", 0) >= Stat(sc["end"], "in_video", "frameWidth"));

}
