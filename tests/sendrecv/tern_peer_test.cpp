// tern-peer (tools/peer/): a tern-peer WHIP server and a tern-peer WHIP client in a real call over
// 127.0.0.1 (HTTP signalling, ICE, DTLS, SRTP media both ways, data-channel echo), and headless
// Chromium posting its offer to tern-peer's WHIP endpoint (in a network namespace of its own) and
// restarting ICE mid-call (WHIP PATCH, RFC 9725 4.4), then answering tern-peer's offers.
// Every process runs under `timeout`; the tools are the built binaries in ${TERN_BINARY_DIR}/tools.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "support/chromium_rig.h"
#include "support/peer.h"
#include "support/process.h"
#include "support/y4m.h"
#include "tern/tools/peer/peer_tool.h"

namespace {

using nlohmann::json;
using tern::test::BackgroundPeer;

std::string PeerTool() { return std::string(TERN_BINARY_DIR) + "/tools/tern-peer"; }

json ReadJson(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return json::parse(s.str(), nullptr, false);
}

uint64_t Summary(const json& session, const char* key) { return session["summary"].value(key, uint64_t{0}); }

// Luma PSNR of each received picture against the source picture it best matches, searched forward
// from the previous match (the sender may drop frames; received pictures keep their order).
struct MatchedPsnr {
  size_t matched = 0;
  double mean = 0, min = 0;
};
MatchedPsnr MatchPsnr(const tern::test::Y4mVideo& received, const tern::test::Y4mVideo& source) {
  MatchedPsnr m;
  if (received.width != source.width || received.height != source.height) return m;
  size_t cursor = 0;
  double total = 0;
  m.min = 1000;
  for (const std::vector<uint8_t>& picture : received.frames) {
    double best = -1;
    size_t best_at = cursor;
    for (size_t s = cursor; s < source.frames.size() && s < cursor + 10; ++s) {
      double sse = 0;
      for (size_t i = 0; i < received.luma_size(); ++i) {
        const double d = double(picture[i]) - double(source.frames[s][i]);
        sse += d * d;
      }
      const double mse = sse / double(received.luma_size());
      const double psnr = mse <= 1e-10 ? 100.0 : 10.0 * std::log10(255.0 * 255.0 / mse);
      if (psnr > best) best = psnr, best_at = s;
    }
    if (best < 0) break;
    cursor = best_at + 1;
    ++m.matched;
    total += best;
    m.min = std::min(m.min, best);
  }
  if (m.matched > 0) m.mean = total / double(m.matched);
  return m;
}

}  // namespace

TEST_CASE("tern-peer: add_candidates_to_sdp puts the candidates and end-of-candidates in every section, options, recording paths") {
  const std::string sdp = "v=0\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n";
  const std::string out = tern::tools::peer::add_candidates_to_sdp(sdp, {"candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host"});
  CHECK(out == "v=0\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"
               "a=candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host\r\na=end-of-candidates\r\n"
               "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n"
               "a=candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host\r\na=end-of-candidates\r\n");
  tern::tools::peer::PeerOptions o;
  CHECK_FALSE(o.validate().ok());  // neither server nor client
  o.whip_listen = "127.0.0.1:x";
  CHECK_FALSE(o.validate().ok());
  o.whip_listen = "127.0.0.1:8080";
  CHECK(o.validate().ok());
  o.loss_percent = 101;
  CHECK_FALSE(o.validate().ok());
  o.loss_percent = 3;
  CHECK(o.validate().ok());
  o.ice_restart_after = 1;
  CHECK_FALSE(o.validate().ok());  // client only
  o.ice_restart_after = 0;
  o.whip_url = "http://127.0.0.1:8080/whip";
  CHECK_FALSE(o.validate().ok());  // both roles
  // TURN: client only, IP:PORT and user:password; relay-only needs it.
  o.turn = "127.0.0.1:3478";
  o.turn_user = "u:p";
  CHECK_FALSE(o.validate().ok());  // still both roles
  o.whip_url.clear();
  CHECK_FALSE(o.validate().ok());  // a server takes no TURN server
  o.whip_listen.clear();
  o.whip_url = "http://127.0.0.1:8080/whip";
  CHECK(o.validate().ok());
  o.relay_only = true;
  CHECK(o.validate().ok());
  for (const char* user : {"u", ":p", "u:"}) {
    o.turn_user = user;
    CHECK_FALSE(o.validate().ok());
  }
  o.turn_user = "u:p";
  o.turn = "turn.example:3478";  // not numeric
  CHECK_FALSE(o.validate().ok());
  o.turn.clear();
  CHECK_FALSE(o.validate().ok());  // relay-only without --turn
  o.whip_url.clear();
  o.relay_only = false;
  o.whip_listen = "127.0.0.1:8080";
  CHECK(o.validate().ok());
  o.input_video = "in.wav";
  CHECK_FALSE(o.validate().ok());  // --input-video takes a .y4m
  o.input_video = "in.y4m";
  CHECK(o.validate().ok());
  o.video = false;
  CHECK_FALSE(o.validate().ok());  // and not with --no-video
  o.whip_url = "http://127.0.0.1:8080/whip";
  CHECK_FALSE(o.validate().ok());  // both roles
  using tern::tools::peer::recording_path;
  CHECK(recording_path("out/rec.webm", 1) == "out/rec.webm");
  CHECK(recording_path("out/rec.webm", 3) == "out/rec-3.webm");
  CHECK(recording_path("out.d/rec", 2) == "out.d/rec-2");
}

TEST_CASE("tern-peer: a WHIP server and a WHIP client in a call over 127.0.0.1, the client's Y4M/WAV recorded as WebM") {
  const std::string dir = tern::test::scratch_dir("tern_peer_whip");
  const std::string server_json = dir + "/server.json", client_json = dir + "/client.json";
  const std::string ref_y4m = dir + "/ref.y4m", ref_wav = dir + "/ref.wav", webm = dir + "/rec.webm";
  for (const std::string& f : {server_json, client_json, webm}) std::remove(f.c_str());
  const std::string media = " --width 320 --height 180 --quiet";
  // The client sends 1.5 s of files (once) when ffmpeg can make them, else its synthetic media.
  const bool files = tern::test::HavePeers({"ffmpeg", "ffprobe"});
  std::string inputs, record;
  if (files) {
    const auto made = tern::test::run_command(
        "ffmpeg -y -loglevel error -f lavfi -i testsrc2=size=320x240:rate=30 -frames:v 45 -pix_fmt yuv420p '" + ref_y4m +
            "' && ffmpeg -y -loglevel error -f lavfi -i sine=frequency=440:sample_rate=48000:duration=1.5 -ac 2 "
            "-c:a pcm_s16le '" + ref_wav + "'",
        30, true);
    REQUIRE_MESSAGE(made.exit_code == 0, made.out);
    inputs = " --input-video " + ref_y4m + " --input-audio " + ref_wav;
    record = " --record " + webm;
  }
  BackgroundPeer server(PeerTool() + " --whip-listen 127.0.0.1:5990 --token secret --echo --max-sessions 2 --stats-json " +
                            server_json + media + record,
                        20, dir + "/server.log");
  REQUIRE(server.started());
  // The client retries a refused connection while the server starts; 3 s of call from its POST,
  // ICE restarted (WHIP PATCH) at the 1 s tick.
  const auto client = tern::test::run_command(PeerTool() + " --whip http://127.0.0.1:5990/whip --token secret --duration 3"
                                                  " --ice-restart-after 1 --send-messages 50 --stats-json " + client_json +
                                                  media + inputs,
                                              15, true);
  INFO("client:\n" << client.out);
  // A wrong token: 401, the client says why and exits 1; no session is made.
  const auto refused = tern::test::run_command(PeerTool() + " --whip http://127.0.0.1:5990/whip --token wrong --quiet", 10, true);
  CHECK(refused.exit_code == 1);
  CHECK(refused.out.find("bearer token") != std::string::npos);
  server.interrupt();  // SIGINT: the server writes its stats and exits 0
  REQUIRE(server.wait(5000));
  INFO("server:\n" << server.log());
  CHECK(client.exit_code == 0);
  CHECK(server.exit_code() == 0);
  const json c = ReadJson(client_json), s = ReadJson(server_json);
  REQUIRE(c.is_object());
  REQUIRE(s.is_object());
  CHECK(c["deleteStatus"] == 200);
  CHECK(s["whip"]["sessionsCreated"] == 1);
  CHECK(s["whip"]["sessionsDeleted"] == 1);
  CHECK(s["whip"]["unauthorized"] == 1);
  REQUIRE(c["sessions"].size() == 1);
  REQUIRE(s["sessions"].size() == 1);
  const json& cs = c["sessions"][0];
  const json& ss = s["sessions"][0];
  for (const json* side : {&cs, &ss}) {
    const json& t = (*side)["transport"];
    CHECK(t["tlsVersion"] == "DTLSv1.2");
    CHECK(t["srtpCipher"] == "AEAD_AES_128_GCM");
    CHECK(t["dtlsCipher"] == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
    CHECK(t["selectedLocalCandidate"]["address"] == "127.0.0.1");
    CHECK(Summary(*side, "audioSamplesReceived") > 48000);  // > 1 s of audio
    CHECK((*side)["postToFirstVideoFrameMs"].get<double>() > 0);
  }
  // The ICE restart: the server counted it and restarted its side; a new pair was selected on both
  // sides within the one DTLS association (media across it: the frame counts below).
  CHECK(s["whip"]["restarts"] == 1);
  CHECK(cs["counters"]["iceRestarts"] == 1);
  CHECK(ss["counters"]["iceRestartsRemote"] == 1);
  for (const json* side : {&cs, &ss}) {
    CHECK((*side)["counters"]["dtlsHandshakes"] == 1);
    CHECK((*side)["counters"]["selectedPairChanges"].get<uint64_t>() >= 2);
  }
  CHECK(cs["transport"]["dtlsRole"] == "server");  // the WHIP client offers: DTLS server
  CHECK(ss["transport"]["dtlsRole"] == "client");
  // Frames decoded >= 90% of those the other side sent (each side's stats end at the DELETE).
  const uint64_t client_sent = Summary(cs, "videoFramesSent"), server_sent = Summary(ss, "videoFramesSent");
  CHECK(client_sent >= 30);
  CHECK(server_sent >= 30);
  CHECK(Summary(ss, "videoFramesDecoded") * 10 >= client_sent * 9);
  CHECK(Summary(cs, "videoFramesDecoded") * 10 >= server_sent * 9);
  CHECK(cs["messages"]["sent"] == 50);
  CHECK(cs["messages"]["echoesInOrder"] == 50);
  CHECK(ss["messages"]["echoed"] == 50);
  if (files) {  // the server's recording of the client's files: both tracks, their length, the pictures
    CHECK(cs["inputs"]["seconds"].get<double>() == doctest::Approx(1.5));
    CHECK(client_sent <= 45);
    CHECK(ss["recording"]["recorded"] == true);
    CHECK(ss["recording"]["videoFrames"].get<uint64_t>() + 2 >= client_sent);
    const auto probe = tern::test::run_command("ffprobe -v error -show_entries stream=codec_name,width,height,channels:"
                                               "format=duration -of compact=nokey=1 '" + webm + "'", 10, true);
    INFO("ffprobe: " << probe.out);
    CHECK(probe.out.find("vp8|320|240") != std::string::npos);
    CHECK(probe.out.find("opus|2") != std::string::npos);
    const double seconds = std::atof(probe.out.substr(probe.out.rfind("format|") + 7).c_str());
    CHECK(seconds > 1.2);
    CHECK(seconds < 2.0);
    const auto decoded = tern::test::run_command("ffmpeg -y -loglevel error -threads 1 -i '" + webm +
                                                 "' -fps_mode passthrough -pix_fmt yuv420p '" + dir + "/rec.y4m'", 20, true);
    REQUIRE_MESSAGE(decoded.exit_code == 0, decoded.out);
    const auto received = tern::test::ReadY4m(dir + "/rec.y4m"), source = tern::test::ReadY4m(ref_y4m);
    REQUIRE(received.error == nullptr);
    REQUIRE(source.error == nullptr);
    const MatchedPsnr q = MatchPsnr(received, source);
    CHECK(received.frames.size() + 2 >= client_sent);
    CHECK(q.matched == received.frames.size());
    CHECK(q.mean > 32.0);
    CHECK(q.min > 26.0);
    MESSAGE("tern-peer --record: " << received.frames.size() << " pictures of " << client_sent << " sent ("
            << source.frames.size() << " in the Y4M), " << seconds << " s, luma PSNR mean " << q.mean << " dB, min "
            << q.min << " dB");
  }
  MESSAGE("tern-peer WHIP call: POST -> first decoded video frame " << cs["postToFirstVideoFrameMs"].get<double>()
          << " ms (client), " << ss["postToFirstVideoFrameMs"].get<double>() << " ms (server); connected "
          << cs["postToConnectedMs"].get<double>() << " ms; frames decoded " << Summary(ss, "videoFramesDecoded") << "/"
          << client_sent << " and " << Summary(cs, "videoFramesDecoded") << "/" << server_sent);
}

// One tern-peer session's entry of `type` ("inbound-rtp", "outbound-rtp") and `kind` in its webrtc-stats.
json MediaEntry(const json& session, const std::string& type, const std::string& kind) {
  for (const auto& [id, e] : session["media"].items())
    if (e.value("type", std::string()) == type && e.value("kind", std::string()) == kind) return e;
  return json::object();
}

// The checks both calls with Chromium share: `r` is the page's result (calls.js), `ts` tern's session.
void CheckChromiumCall(const json& r, const json& ts, int messages, const char* tern_dtls_role) {
  const json& stats = r["stats"];
  // Video: frames decoded >= 90% of those the other side sent, both ways.
  const uint64_t tern_sent = Summary(ts, "videoFramesSent");
  const uint64_t chromium_decoded = stats["in_video"].value("framesDecoded", uint64_t{0});
  const uint64_t chromium_sent = stats["out_video"].value("framesSent", uint64_t{0});
  // At least 1 s of video each way: the page holds the call past its 2.5 s (up to 8 s more) until
  // 30 frames were sent and decoded each way (page.js kMinFrames; on a loaded machine tern once sent
  // 11 frames in the 2.5 s).
  CHECK(tern_sent >= 30);
  CHECK(chromium_sent >= 30);
  CHECK(chromium_decoded * 10 >= tern_sent * 9);
  CHECK(Summary(ts, "videoFramesDecoded") * 10 >= chromium_sent * 9);
  // Audio: > 1 s received both ways; Chromium concealed at most a third of what it played (the call
  // starts with concealment; 6-14% measured, 31% once at a load of 16 on the 2 cores).
  const json& audio = stats["in_audio"];
  const uint64_t samples = audio.value("totalSamplesReceived", uint64_t{0});
  CHECK(samples > 48000);
  CHECK(audio.value("concealedSamples", uint64_t{0}) * 3 <= samples);
  CHECK(Summary(ts, "audioSamplesReceived") > 48000);
  // DTLS 1.2, the same cipher suite and SRTP profile on both sides (Chromium names the profile
  // "SRTP_AES128_CM_HMAC_SHA1_80", tern by RFC 4568's "AES_CM_128_HMAC_SHA1_80").
  const json& transport = stats["transport"];
  CHECK(transport["tlsVersion"] == "FEFD");
  CHECK(transport["dtlsState"] == "connected");
  CHECK(ts["transport"]["tlsVersion"] == "DTLSv1.2");
  CHECK(ts["transport"]["dtlsRole"] == tern_dtls_role);
  CHECK(transport["dtlsCipher"] == ts["transport"]["dtlsCipher"]);
  const std::string tern_srtp = ts["transport"]["srtpCipher"], chromium_srtp = transport.value("srtpCipher", std::string());
  CHECK(!tern_srtp.empty());
  CHECK((tern_srtp.find("GCM") != std::string::npos) == (chromium_srtp.find("GCM") != std::string::npos));
  CHECK((tern_srtp.find("_80") != std::string::npos) == (chromium_srtp.find("_80") != std::string::npos));
  // transport-cc: negotiated (the answer keeps the offer's extmap), Chromium's packets carry the
  // transport-wide sequence number (tern fed back on them) and Chromium fed back on tern's.
  // (one line per audio and video section, the same id across the bundle).
  REQUIRE(r["answerTwcc"].size() == 2);
  CHECK(r["answerTwcc"] == r["offerTwcc"]);
  CHECK(r["answerTwcc"][0] == r["answerTwcc"][1]);
  CHECK(ts["transportCc"]["sequencedPacketsReceived"] > 100);
  CHECK(ts["transportCc"]["feedbackSent"] > 10);
  CHECK(ts["transportCc"]["feedbackReceived"] > 10);
  // The data channel: every message echoed in order, the 256 KiB ones (max-message-size) too.
  INFO("echoes after " << r.value("echoMs", 0.0) << " ms; tern's messages " << ts["messages"].dump() << ", SCTP "
       << ts.value("sctp", json::object()).dump() << ", usrsctp " << ts.value("usrsctp", json::object()).dump());
  CHECK(r["maxMessageSize"] == 262144);
  CHECK(r["echoes"] == messages);
  CHECK(r["echoesInOrder"] == messages);
  CHECK(r["bigSent"] == messages / 200);
  CHECK(stats["dataChannel"].value("messagesSent", 0) == messages);
  CHECK(r["bigEchoesInOrder"] == r["bigSent"]);
  CHECK(ts["messages"]["echoed"] == messages);
  CHECK(ts["messages"]["echoFailures"] == 0);
}

std::string ChromiumCallLine(const json& r, const json& ts) {
  const json& stats = r["stats"];
  std::ostringstream o;
  o << "connected " << r.value("connectMs", 0.0) << " ms, first decoded frame " << r.value("firstFrameMs", 0.0)
    << " ms; frames decoded " << stats["in_video"].value("framesDecoded", 0) << "/" << Summary(ts, "videoFramesSent")
    << " (Chromium), " << Summary(ts, "videoFramesDecoded") << "/" << stats["out_video"].value("framesSent", 0)
    << " (tern); audio samples " << stats["in_audio"].value("totalSamplesReceived", 0) << " concealed "
    << stats["in_audio"].value("concealedSamples", 0) << " (Chromium); " << r.value("echoesInOrder", 0) << " echoes in order ("
    << r.value("bigEchoesInOrder", 0) << " of 256 KiB) in " << r.value("echoMs", 0.0) << " ms; transport-cc "
    << r["answerTwcc"].dump() << ", tern " << ts["transportCc"].dump() << "; " << stats["transport"].value("dtlsCipher", "")
    << ", " << stats["transport"].value("srtpCipher", "") << ", Chromium DTLS " << stats["transport"].value("dtlsRole", "")
    << ", codecs " << stats["codecs"].dump();
  return o.str();
}

TEST_CASE("tern-peer: headless Chromium offers to tern-peer (WHIP) and answers tern-peer's offers, clean and with RTP loss") {
  if (!tern::test::EnterChromiumRig(false)) return;  // now in a network namespace of its own
  const std::string dir = tern::test::scratch_dir("tern_peer_chromium");
  const std::string server_json = dir + "/server.json", client_json = dir + "/client.json",
                    loss_json = dir + "/client_loss.json", result_json = dir + "/result.json";
  for (const std::string& f : {server_json, client_json, loss_json, result_json}) std::remove(f.c_str());
  constexpr int kMessages = 1000;
  const std::string media = " --quiet --width 320 --height 180 --stats-json ";
  BackgroundPeer server(PeerTool() + " --whip-listen 127.0.0.1:5991 --echo" + media + server_json, 60, dir + "/server.log");
  REQUIRE(server.started());
  // Call 1: Chromium offers (WHIP POST to the server) and, once the echoes are back, restarts ICE
  // (PATCH with its new offer's ICE lines; checked below). Calls 2 and 3: tern-peer's WHIP client offers
  // to calls.js's endpoint; in call 3 it drops 5% of the RTP datagrams each way (--loss): Chromium
  // NACKs and tern retransmits, tern NACKs and Chromium retransmits (no data channel there).
  const std::string client = PeerTool() + " --whip http://127.0.0.1:8080/whip --duration 40";
  const auto node = tern::test::run_command(
      "env NODE_PATH='" + tern::test::chromium_node_dir() + "/node_modules' node '" TERN_SOURCE_DIR
      "/tests/sendrecv/chromium/calls.js' " + result_json + " 2500 " + std::to_string(kMessages) +
          " http://127.0.0.1:5991/whip -- " + std::to_string(kMessages) + " " + client + " --echo" + media + client_json +
          " -- 0 " + client + " --loss 5" + media + loss_json,
      60, true);
  server.interrupt();
  REQUIRE(server.wait(5000));
  INFO("node:\n" << node.out << "\nserver:\n" << server.log());
  const json r = ReadJson(result_json), s = ReadJson(server_json), c = ReadJson(client_json), l = ReadJson(loss_json);
  REQUIRE(r.is_object());
  INFO("Chromium: " << r.dump(1).substr(0, 8000));
  REQUIRE_MESSAGE(r.value("ok", false), r.value("error", std::string("?")));
  CHECK(node.exit_code == 0);
  CHECK(server.exit_code() == 0);
  for (const json* j : {&s, &c, &l}) {
    REQUIRE(j->is_object());
    REQUIRE((*j)["sessions"].size() == 1);
  }
  REQUIRE(r["ternOffers"].size() == 2);
  const json& offers = r["chromiumOffers"];
  const json& answers = r["ternOffers"][0];
  const json& lossy = r["ternOffers"][1];
  const json& ts = s["sessions"][0];  // tern answering
  const json& tc = c["sessions"][0];  // tern offering
  const json& tl = l["sessions"][0];  // tern offering, with loss
  CHECK(offers["postStatus"] == 201);
  CHECK(offers["deleteStatus"] == 200);
  for (const json* a : {&answers, &lossy}) {
    CHECK((*a)["ternExit"] == 0);  // SIGINT: the client DELETEd the resource and wrote its stats
    CHECK((*a)["deleteSeen"] == true);
  }
  CHECK(c["deleteStatus"] == 200);
  {
    INFO("Chromium offers");
    CheckChromiumCall(offers, ts, kMessages, "client");  // tern answers setup:active
  }
  {
    // Chromium's WHIP ICE restart in call 1 (page.js restartWhip): restartIce(), its new offer's ICE
    // lines PATCHed with If-Match: "*", tern's 200 fragment applied as a new answer. tern took it
    // (counted, a new selected pair, still one DTLS handshake); Chromium runs on its new ufrag and a
    // new pair of the same DTLS transport (no DTLS state change, connected at the end, never
    // failed); and it kept decoding: of what tern sent from the restart on (at most its total less
    // what Chromium had decoded by then), >= 80% decoded (CheckChromiumCall: tern decoded >= 90% of
    // Chromium's frames over the call, so the upstream survived the restart too).
    const json& rr = offers["restart"];
    json shown = rr;
    shown.erase("fragment");
    INFO("restart: " << shown.dump(1));
    REQUIRE(rr.is_object());
    CHECK(rr["patchStatus"] == 200);
    CHECK(rr["patchType"] == "application/trickle-ice-sdpfrag");
    CHECK(s["whip"]["restarts"] == 1);
    CHECK(ts["counters"]["iceRestartsRemote"] == 1);
    CHECK(ts["counters"]["dtlsHandshakes"] == 1);
    CHECK(ts["counters"]["selectedPairChanges"].get<uint64_t>() >= 2);
    const json& before = rr["transportBefore"];
    const json& after = rr["transportAfter"];
    CHECK(before["iceLocalUsernameFragment"] != rr["localUfrag"]);
    CHECK(after["iceLocalUsernameFragment"] == rr["localUfrag"]);
    CHECK(after["selectedCandidatePairChanges"].get<uint64_t>() > before["selectedCandidatePairChanges"].get<uint64_t>());
    CHECK(after["selectedCandidatePairId"] != before["selectedCandidatePairId"]);
    CHECK(after["id"] == before["id"]);
    CHECK(after["remoteCertificateId"] == before["remoteCertificateId"]);
    CHECK(after["dtlsState"] == "connected");
    CHECK(rr["sameDtlsTransport"] == true);
    CHECK(rr["dtlsStates"].empty());
    for (const json& state : rr["connectionStates"]) CHECK((state != "failed" && state != "closed"));
    CHECK(rr["connectionStateAtEnd"] == "connected");
    const uint64_t decoded_before = rr["framesDecodedBefore"].get<uint64_t>();
    const uint64_t decoded = offers["stats"]["in_video"].value("framesDecoded", uint64_t{0});
    const uint64_t sent = Summary(ts, "videoFramesSent");
    REQUIRE(decoded >= decoded_before);
    REQUIRE(sent >= decoded_before);
    CHECK(decoded - decoded_before >= 15);
    CHECK((decoded - decoded_before) * 10 >= (sent - decoded_before) * 8);
    MESSAGE("Chromium's WHIP ICE restart at " << rr.value("startMs", 0.0) << " ms: PATCH " << rr["patchStatus"] << ", on the new pair after "
            << rr.value("restartMs", 0.0) << " ms; frames decoded since " << decoded - decoded_before << " of <= "
            << sent - decoded_before << " sent; tern selectedPairChanges " << ts["counters"]["selectedPairChanges"]
            << ", dtlsHandshakes " << ts["counters"]["dtlsHandshakes"] << "; Chromium connection states " << rr["connectionStates"].dump()
            << "; its fragment:\n" << rr.value("fragment", std::string()));
  }
  {
    INFO("tern offers");
    CheckChromiumCall(answers, tc, kMessages, "server");  // tern offers actpass, Chromium answers active
  }
  // The loss: tern dropped RTP both ways; Chromium NACKed, tern retransmitted on RTX; tern NACKed,
  // Chromium retransmitted.
  const json& loss = tl["loss"];
  CHECK(loss["rtpDroppedOut"] > 0);
  CHECK(loss["rtpDroppedIn"] > 0);
  const json tern_out = MediaEntry(tl, "outbound-rtp", "video"), tern_in = MediaEntry(tl, "inbound-rtp", "video");
  const json& chromium = lossy["stats"];
  CHECK(tern_out.value("nackCount", 0) > 0);
  CHECK(tern_out.value("retransmittedPacketsSent", 0) > 0);
  CHECK(chromium["in_video"].value("nackCount", 0) > 0);
  CHECK(chromium["in_video"].value("retransmittedPacketsReceived", 0) > 0);
  CHECK(tern_in.value("nackCount", 0) > 0);
  CHECK(tern_in.value("retransmittedPacketsReceived", 0) > 0);
  CHECK(chromium["out_video"].value("retransmittedPacketsSent", 0) > 0);
  CHECK(chromium["out_video"].value("nackCount", 0) > 0);
  CHECK(chromium["in_video"].value("framesDecoded", 0) > 0);
  CHECK(Summary(tl, "videoFramesDecoded") > 0);
  MESSAGE(r.value("browser", std::string("?")) << " offers: " << ChromiumCallLine(offers, ts));
  MESSAGE("tern offers: " << ChromiumCallLine(answers, tc));
  MESSAGE("tern offers, " << loss["percent"] << "% RTP loss each way (" << loss["rtpDroppedOut"] << " out / "
          << loss["rtpDroppedIn"] << " in dropped): frames decoded " << chromium["in_video"].value("framesDecoded", 0)
          << "/" << Summary(tl, "videoFramesSent") << " (Chromium), " << Summary(tl, "videoFramesDecoded") << "/"
          << chromium["out_video"].value("framesSent", 0) << " (tern); Chromium NACKs "
          << chromium["in_video"].value("nackCount", 0) << " -> tern RTX " << tern_out.value("retransmittedPacketsSent", 0)
          << " (Chromium got " << chromium["in_video"].value("retransmittedPacketsReceived", 0) << ", PLIs "
          << chromium["in_video"].value("pliCount", 0) << "); tern NACKs " << tern_in.value("nackCount", 0)
          << " -> Chromium RTX " << chromium["out_video"].value("retransmittedPacketsSent", 0) << " (tern got "
          << tern_in.value("retransmittedPacketsReceived", 0) << "); calls.js wall " << r.value("wallMs", 0) << " ms");
}
