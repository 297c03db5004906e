// tern-sfu (tools/tern-sfu, sfu/): a tern-peer publishes into a room by WHIP and another tern-peer
// subscribes by WHEP, over real UDP on 127.0.0.1: the subscriber decodes the publisher's video and
// plays its audio through the server, across an ICE restart it makes after 1 s (WHEP PATCH with
// If-Match: "*", to the worker that created the resource); a wrong bearer token gets 401; /stats answers JSON; SIGTERM
// drains the server (exit 0, stats written). The server runs --workers 2: room1 goes to worker 0,
// room2 to worker 1 (the least loaded), each recorded by its worker's recorder. With --record-dir
// the publisher's session is recorded (the publisher drops 2% of its RTP: the server NACKs, RTX
// repairs): ffprobe finds one VP8 and one Opus stream, no warning, and the duration of what was
// sent; the second publisher's recording (worker 1's session 1: the same id as room1's on worker 0,
// its own file) hits a full disk (/dev/full): counted, logged, stopped, its session goes on.
// Meanwhile headless Chromium loads the server's live page (GET /, tests/sendrecv/chromium/
// sfu_page.js) and reads the publisher's latest plotted bitrate, which must be the one its /stats
// responses give (the page part runs in a network namespace of its own; without chromium, node,
// puppeteer-core or root it is skipped, unless TERN_REQUIRE_INTEROP=1). Every process runs under
// `timeout`.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>

#include "support/chromium_rig.h"
#include "support/peer.h"
#include "support/process.h"
#include "support/tool_run.h"

namespace {

using nlohmann::json;

std::string Tool(const char* name) { return tern::test::tool_path(name); }
json ReadJsonFile(const std::string& path) { return tern::test::read_json_file(path); }

// GET /stats, parsed (null when the server does not answer).
json Stats(const std::string& base) {
  const std::string body = tern::test::http_get(base, "/stats");
  return body.empty() ? json(nullptr) : json::parse(body, nullptr, false);
}

}  // namespace

TEST_CASE("tern-sfu: a tern-peer publishes by WHIP, another subscribes by WHEP over 127.0.0.1") {
  const bool with_page = tern::test::EnterChromiumRig(false);  // then in a network namespace of its own
  const std::string dir = tern::test::scratch_dir("tern_sfu");
  const std::string server_json = dir + "/sfu.json", pub_json = dir + "/pub.json", sub_json = dir + "/sub.json";
  const std::string page_json = dir + "/page.json", record_dir = dir + "/recordings";
  for (const std::string& f : {server_json, pub_json, sub_json, page_json}) std::remove(f.c_str());
  // room2's recording (worker 1's first session) hits a full disk.
  tern::test::run_command("rm -rf '" + record_dir + "' && mkdir -p '" + record_dir + "' && ln -s /dev/full '" + record_dir +
                              "/room2-w1-1.webm'",
                          10);
  const std::string base = "http://127.0.0.1:5991";
  const std::string media = " --width 320 --height 180 --quiet --token secret";
  tern::test::BackgroundPeer sfu(Tool("tern-sfu") + " --http 127.0.0.1:5991 --token secret --quiet --stats-json " + server_json +
                                     " --record-dir " + record_dir + " --workers 2",
                                 20, dir + "/sfu.log");
  REQUIRE(sfu.started());
  // The live page, started first (Chromium takes seconds to start on a busy machine); it waits for
  // the publisher's session (worker 0's first: "0/1"). Polled every 300 ms.
  std::unique_ptr<tern::test::BackgroundPeer> page;
  if (with_page) {
    page = std::make_unique<tern::test::BackgroundPeer>(
        "env NODE_PATH='" + tern::test::chromium_node_dir() + "/node_modules' node '" TERN_SOURCE_DIR
        "/tests/sendrecv/chromium/sfu_page.js' '" + page_json + "' '" + base + "/?interval=300' 0/1 10000",
        25, dir + "/page.log");
    REQUIRE(page->started());
  }
  // The publisher retries a refused connection while the server starts; it sends until the
  // subscriber and the page are done (SIGINT: it DELETEs its session, which ends the recording).
  tern::test::BackgroundPeer pub(Tool("tern-peer") + " --whip " + base + "/whip/room1 --duration 12 --loss 2 --stats-json " + pub_json + media,
                                 20, dir + "/pub.log");
  REQUIRE(pub.started());
  bool published = false;
  for (int i = 0; i < 50 && !published; ++i) {  // bounded: 5 s
    const json s = Stats(base);
    published = s.is_object() && s["rooms"].contains("room1") && s["rooms"]["room1"]["publisher"].is_number();
    if (!published) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE_MESSAGE(published, "sfu:\n" << sfu.log() << "\npublisher:\n" << pub.log());
  // A second publisher (room2) while the subscriber runs: its recording fails, its session not.
  tern::test::BackgroundPeer pub2(Tool("tern-peer") + " --whip " + base + "/whip/room2 --duration 1 --quiet --token secret"
                                  " --width 320 --height 180", 15, dir + "/pub2.log");
  REQUIRE(pub2.started());
  const auto sub = tern::test::run_command(
      Tool("tern-peer") + " --whep " + base + "/whep/room1 --duration 4 --ice-restart-after 1 --stats-json " + sub_json + media,
      15, true);
  INFO("subscriber:\n" << sub.out);
  const auto refused = tern::test::run_command(Tool("tern-peer") + " --whep " + base + "/whep/room1 --token wrong --quiet", 10, true);
  CHECK(refused.exit_code == 1);
  CHECK(refused.out.find("bearer token") != std::string::npos);
  if (page) {
    REQUIRE(page->wait(15000));
    const json r = ReadJsonFile(page_json);
    INFO("page driver:\n" << page->log() << "\nresult: " << r.dump(2));
    REQUIRE(r.is_object());
    CHECK(page->exit_code() == 0);
    CHECK(r["ok"] == true);
    CHECK(r["noExternal"] == true);  // nothing but tern-sfu's own origin
    const double plotted = r.value("plotted", 0.0), from_stats = r.value("fromStats", -1.0);
    MESSAGE("tern-sfu page: publisher bitrate in " << plotted << " kbps plotted, " << from_stats << " from /stats; fps "
            << r.value("fps", 0.0) << "; " << r.value("points", 0) << " points after " << r.value("polls", 0)
            << " polls; Chromium " << r.value("wallMs", 0) << " ms");
    CHECK(plotted > 0);
    CHECK(std::abs(plotted - from_stats) <= 0.01 * from_stats);
    CHECK(r.value("points", 0) >= 2);
    CHECK(r.value("drawnPoints", 0) == r.value("points", 0));
    CHECK(r.value("fps", 0.0) > 0);
  }
  pub.send_signal(SIGINT);
  REQUIRE(pub.wait(5000));
  REQUIRE(pub2.wait(8000));
  CHECK(pub2.exit_code() == 0);  // its session went on to its DELETE
  sfu.send_signal(SIGTERM);
  REQUIRE(sfu.wait(5000));
  INFO("sfu:\n" << sfu.log());
  CHECK(sub.exit_code == 0);
  CHECK(pub.exit_code() == 0);
  CHECK(sfu.exit_code() == 0);

  const json p = ReadJsonFile(pub_json), s = ReadJsonFile(sub_json), server = ReadJsonFile(server_json);
  REQUIRE(p.is_object());
  REQUIRE(s.is_object());
  REQUIRE(server.is_object());
  REQUIRE(s["sessions"].size() == 1);
  const json& ss = s["sessions"][0];
  CHECK(ss["transport"]["srtpCipher"] == "AEAD_AES_128_GCM");
  CHECK(ss["transport"]["dtlsRole"] == "server");  // the SFU answers active: the DTLS client
  const uint64_t decoded = ss["summary"].value("videoFramesDecoded", uint64_t{0});
  const double first = ss["postToFirstVideoFrameMs"].get<double>();
  // The publisher's frame rate from the first decoded frame to the end of the subscriber's 4 s.
  // Its rate, not 30 fps: on a loaded machine its encoder drops frames (20-25 fps seen with the
  // page's Chromium and the other tests beside it). Its audio, 20 ms a packet, times its session.
  const json& pub_summary = p["sessions"][0]["summary"];
  const double pub_seconds = pub_summary.value("audioPacketsSent", 0) * 0.020;
  const double pub_fps = pub_seconds > 1 ? std::min(30.0, pub_summary.value("videoFramesSent", 0) / pub_seconds) : 30.0;
  const double available = pub_fps * (4.0 - first / 1000.0);
  // What crossed the server (and the ICE restart) is what the subscriber received; what it decoded
  // is that less the frames still in its playout buffer when its 4 s ended. On a loaded machine
  // the buffer's delay grows over the call (to ~240 ms at the end where it averaged 72 ms a frame,
  // beside three busy loops) and the publisher's rate varies about its mean (0.91 x the frames
  // its mean rate gives seen in a 2.3 s window), so neither decoded frames alone nor a 10% margin
  // on them held. A stall across the restart of half a second fails the first check below.
  json video_in;
  for (const auto& [id, st] : ss["media"].items()) {
    if (st.value("type", std::string()) == "inbound-rtp" && st.value("kind", std::string()) == "video") video_in = st;
  }
  REQUIRE(video_in.is_object());
  const double received = video_in.value("framesReceived", 0.0), dropped = video_in.value("framesDropped", 0.0);
  const double emitted = video_in.value("jitterBufferEmittedCount", 0.0);
  const double mean_buffer_s = emitted > 0 ? video_in.value("jitterBufferDelay", 0.0) / emitted : 0.0;
  const double held = pub_fps * std::max(0.5, 3 * mean_buffer_s);  // frames such a buffer holds at the end, with margin
  MESSAGE("tern-sfu: subscriber POST -> first decoded frame " << first << " ms; " << received << " frames received, "
          << decoded << " decoded, " << dropped << " dropped of ~" << available << " (publisher " << pub_fps
          << " fps; playout buffer " << 1000 * mean_buffer_s << " ms a frame); audio samples "
          << ss["summary"].value("audioSamplesReceived", uint64_t{0}));
  CHECK(first > 0);
  CHECK(received >= 0.85 * available);
  CHECK(static_cast<double>(decoded) + dropped >= received - held);
  CHECK(dropped <= 0.1 * received);  // late or undecodable frames: a few at most
  CHECK(ss["summary"].value("audioSamplesReceived", uint64_t{0}) > 48000);  // > 1 s of audio
  const json& c = server["server"];
  CHECK(c["sessionsCreated"] == 3);
  CHECK(c["sessionsEnded"] == 3);  // the three DELETEs, before the drain
  CHECK(c["unauthenticatedDropped"] == 0);
  // The subscriber restarted ICE after 1 s (WHEP PATCH, If-Match: "*"): the server took it and the
  // frames above kept coming over the one DTLS association.
  CHECK(c["iceRestarts"] == 1);
  CHECK(c["iceRestartsRefused"] == 0);
  CHECK(ss["counters"]["iceRestarts"] == 1);
  CHECK(ss["counters"]["dtlsHandshakes"] == 1);
  CHECK(server["workers"].size() == 2);

  // The recording of the publisher (worker 0's session 1), finalised by its DELETE.
  const json& rec = server["recorder"];
  INFO("recorder: " << rec.dump(2));
  CHECK(rec["recordingsStarted"] == 2);
  CHECK(rec["recordingsFinished"] == 1);
  CHECK(rec["writeErrors"] == 1);  // room2's: logged, that recording stopped
  CHECK(sfu.log().find("room2-w1-1.webm") != std::string::npos);
  CHECK(sfu.log().find("stopped") != std::string::npos);
  const std::string webm = record_dir + "/room1-w0-1.webm";
  const auto probe = tern::test::run_command("timeout 10 ffprobe -v warning -show_entries format=duration:stream=codec_name,codec_type"
                                             " -of json '" + webm + "' 2>'" + dir + "/ffprobe.err'", 15);
  std::ifstream err_file(dir + "/ffprobe.err");
  const std::string ffprobe_err((std::istreambuf_iterator<char>(err_file)), std::istreambuf_iterator<char>());
  INFO("ffprobe: " << probe.out << ffprobe_err);
  REQUIRE(probe.exit_code == 0);
  CHECK(ffprobe_err.empty());
  const json pr = json::parse(probe.out, nullptr, false);
  REQUIRE(pr.is_object());
  REQUIRE(pr["streams"].size() == 2);
  std::string codecs;
  for (const json& st : pr["streams"]) codecs += st.value("codec_type", std::string()) + ":" + st.value("codec_name", std::string()) + " ";
  CHECK(codecs == "video:vp8 audio:opus ");
  // What the publisher sent, both tracks from its connection on: frames at 30 fps, 20 ms Opus
  // packets. The WebM starts at the first frame (a keyframe) and ends with the longer track.
  const json& sent_summary = p["sessions"][0]["summary"];
  const double video_sent = sent_summary.value("videoFramesSent", 0) / 30.0;
  const double audio_sent = sent_summary.value("audioPacketsSent", 0) * 0.020;
  const double sent = std::max(video_sent, audio_sent);
  const double recorded = std::stod(pr["format"].value("duration", std::string("0")));
  MESSAGE("tern-sfu recording: " << recorded << " s recorded; sent " << video_sent << " s of video, " << audio_sent
          << " s of audio");
  // Within 1%, or 50 ms on a call this short (the ends: a video frame's 33 ms and an Opus packet's 20
  // ms; under load the encoder drops frames, so frames / 30 undercounts the video's time a little).
  // Shorter by up to a tail: the publisher's last packets may still wait in the worker's socket when
  // the HTTP thread takes its DELETE and finalises the file (seen on a loaded CI machine: 5.20 s
  // recorded of 5.26 s sent). Never longer.
  constexpr double kDeleteTail = 0.25;  // s, 7 frames
  const double slack = std::max(0.01 * sent, 0.050);
  CHECK(recorded <= sent + slack);
  CHECK(recorded >= sent - slack - kDeleteTail);
  CHECK(p["sessions"][0]["loss"].value("rtpDroppedOut", 0) > 0);
  REQUIRE(rec["recordings"].size() == 2);
  const json& room1 = rec["recordings"][0];  // worker 0's first
  CHECK(room1["session"] == 1);
  CHECK(room1["worker"] == 0);
  CHECK(room1["path"] == webm);
  // Every frame but the DELETE's tail and those after a hole still unrepaired when the session
  // ended (a loaded publisher may answer its last NACKs late or not at all). Seen short before
  // the worker read its socket ahead of the DELETE and the tap held frames: 125 frames of a 4.3 s
  // call at CI (6f5a0af), 154 of 173 here beside three busy loops; every frame in 38 loaded runs since.
  const int unrepaired = room1.value("videoFramesUnrepairedAtEnd", -1);
  INFO("gaps " << room1.value("gaps", -1) << ", video frames assembled " << room1.value("videoFramesAssembled", -1)
       << ", unrepaired at the end " << unrepaired);
  CHECK(unrepaired >= 0);
  CHECK(room1.value("videoFramesRecorded", 0) + unrepaired >= 0.98 * sent_summary.value("videoFramesSent", 0) - 30 * kDeleteTail);
  CHECK(room1.value("framesNotRecorded", -1) == 0);
  CHECK(rec["recordings"][1]["worker"] == 1);
  CHECK(rec["recordings"][1]["session"] == 1);
  CHECK(rec["recordings"][1].value("error", std::string()).find("cannot write") != std::string::npos);
}
