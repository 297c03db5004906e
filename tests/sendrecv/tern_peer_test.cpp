// tern-peer (tools/peer/): a tern-peer WHIP server and a tern-peer WHIP client in a real call over
// 127.0.0.1 (HTTP signalling, ICE, DTLS, SRTP media both ways, data-channel echo), and headless
// Chromium posting its offer to tern-peer's WHIP endpoint (in a network namespace of its own).
// Every process runs under `timeout`; the tools are the built binaries in ${TERN_BINARY_DIR}/tools.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "support/chromium_rig.h"
#include "support/peer.h"
#include "support/process.h"
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

}  // namespace

TEST_CASE("tern-peer: add_candidates_to_sdp puts the candidates and end-of-candidates in every section") {
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
}

TEST_CASE("tern-peer: a WHIP server and a WHIP client in a call over 127.0.0.1") {
  const std::string dir = tern::test::scratch_dir("tern_peer_whip");
  const std::string server_json = dir + "/server.json", client_json = dir + "/client.json";
  std::remove(server_json.c_str());
  std::remove(client_json.c_str());
  const std::string media = " --width 320 --height 180 --quiet";
  BackgroundPeer server(PeerTool() + " --whip-listen 127.0.0.1:5990 --token secret --echo --max-sessions 2 --stats-json " +
                            server_json + media,
                        20, dir + "/server.log");
  REQUIRE(server.started());
  // The client retries a refused connection while the server starts; 3 s of call from its POST.
  const auto client = tern::test::run_command(PeerTool() + " --whip http://127.0.0.1:5990/whip --token secret --duration 3"
                                                  " --send-messages 50 --stats-json " + client_json + media,
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
  MESSAGE("tern-peer WHIP call: POST -> first decoded video frame " << cs["postToFirstVideoFrameMs"].get<double>()
          << " ms (client), " << ss["postToFirstVideoFrameMs"].get<double>() << " ms (server); connected "
          << cs["postToConnectedMs"].get<double>() << " ms; frames decoded " << Summary(ss, "videoFramesDecoded") << "/"
          << client_sent << " and " << Summary(cs, "videoFramesDecoded") << "/" << server_sent);
}

TEST_CASE("tern-peer: headless Chromium posts its offer to tern-peer's WHIP endpoint") {
  if (!tern::test::EnterChromiumRig(false)) return;  // now in a network namespace of its own
  const std::string dir = tern::test::scratch_dir("tern_peer_chromium");
  const std::string server_json = dir + "/server.json", result_json = dir + "/result.json";
  std::remove(server_json.c_str());
  std::remove(result_json.c_str());
  constexpr int kMessages = 200;
  BackgroundPeer server(PeerTool() + " --whip-listen 127.0.0.1:5991 --echo --quiet --width 320 --height 180 --stats-json " + server_json, 60,
                        dir + "/server.log");
  REQUIRE(server.started());
  const auto node = tern::test::run_command("env NODE_PATH='" + tern::test::chromium_node_dir() + "/node_modules' node '" +
                                                TERN_SOURCE_DIR "/tests/sendrecv/chromium/whip_call.js' "
                                                "http://127.0.0.1:5991/whip " + result_json + " 3000 " +
                                                std::to_string(kMessages),
                                            50, true);
  server.interrupt();
  REQUIRE(server.wait(5000));
  INFO("node:\n" << node.out << "\nserver:\n" << server.log());
  const json r = ReadJson(result_json), s = ReadJson(server_json);
  REQUIRE(r.is_object());
  INFO("Chromium: " << r.dump(1).substr(0, 6000));
  REQUIRE_MESSAGE(r.value("ok", false), r.value("error", std::string("?")));
  CHECK(node.exit_code == 0);
  CHECK(server.exit_code() == 0);
  CHECK(r["postStatus"] == 201);
  CHECK(r["deleteStatus"] == 200);
  REQUIRE(s.is_object());
  REQUIRE(s["sessions"].size() == 1);
  const json& ts = s["sessions"][0];
  const json& stats = r["stats"];
  // Chromium's side: frames decoded >= 90% of those tern sent, audio played, DTLS 1.2 and the SRTP
  // profile tern reports.
  const uint64_t tern_sent = Summary(ts, "videoFramesSent");
  const uint64_t chromium_decoded = stats["in_video"].value("framesDecoded", uint64_t{0});
  CHECK(tern_sent >= 30);  // ~1 s of the 3 s call: the shared machine may be loaded
  CHECK(chromium_decoded * 10 >= tern_sent * 9);
  CHECK(stats["in_audio"].value("totalSamplesReceived", uint64_t{0}) > 48000);
  const json& transport = stats["transport"];
  CHECK(transport["tlsVersion"] == "FEFD");
  CHECK(transport["dtlsState"] == "connected");
  CHECK(transport["dtlsCipher"] == ts["transport"]["dtlsCipher"]);
  // The same SRTP profile on both sides (Chromium names it "SRTP_AES128_CM_HMAC_SHA1_80", tern by RFC 4568's
  // "AES_CM_128_HMAC_SHA1_80"; GCM when both offer it).
  const std::string tern_srtp = ts["transport"]["srtpCipher"], chromium_srtp = transport.value("srtpCipher", std::string());
  CHECK(!tern_srtp.empty());
  CHECK((tern_srtp.find("GCM") != std::string::npos) == (chromium_srtp.find("GCM") != std::string::npos));
  CHECK((tern_srtp.find("_80") != std::string::npos) == (chromium_srtp.find("_80") != std::string::npos));
  // tern's side of the same call.
  CHECK(ts["transport"]["tlsVersion"] == "DTLSv1.2");
  CHECK(ts["transport"]["dtlsRole"] == "client");  // tern answers setup:active
  const uint64_t chromium_sent = stats["out_video"].value("framesSent", uint64_t{0});
  CHECK(chromium_sent >= 30);
  CHECK(Summary(ts, "videoFramesDecoded") * 10 >= chromium_sent * 9);
  CHECK(Summary(ts, "audioSamplesReceived") > 48000);
  // The data channel: every message echoed, in order.
  CHECK(r["echoes"] == kMessages);
  CHECK(r["echoesInOrder"] == kMessages);
  CHECK(ts["messages"]["echoed"] == kMessages);
  MESSAGE(r.value("browser", std::string("?")) << ": " << transport.value("dtlsCipher", std::string()) << ", "
          << transport.value("srtpCipher", std::string()) << ", TLS " << transport.value("tlsVersion", std::string())
          << ", Chromium DTLS role " << transport.value("dtlsRole", std::string()) << "; POST -> connected "
          << r.value("connectMs", 0.0) << " ms, -> first decoded frame " << r.value("firstFrameMs", 0.0)
          << " ms (Chromium), " << ts["postToFirstVideoFrameMs"].get<double>() << " ms (tern); frames decoded "
          << chromium_decoded << "/" << tern_sent << " (Chromium), " << Summary(ts, "videoFramesDecoded") << "/"
          << chromium_sent << " (tern); codecs " << stats["codecs"].dump());
}
