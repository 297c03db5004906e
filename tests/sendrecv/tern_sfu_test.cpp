// tern-sfu (tools/tern-sfu, sfu/): a tern-peer publishes into a room by WHIP and another tern-peer
// subscribes by WHEP, over real UDP on 127.0.0.1: the subscriber decodes the publisher's video and
// plays its audio through the server; a wrong bearer token gets 401; /stats answers JSON; SIGTERM
// drains the server (exit 0, stats written). Every process runs under `timeout`.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <thread>

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
  const std::string dir = tern::test::scratch_dir("tern_sfu");
  const std::string server_json = dir + "/sfu.json", pub_json = dir + "/pub.json", sub_json = dir + "/sub.json";
  for (const std::string& f : {server_json, pub_json, sub_json}) std::remove(f.c_str());
  const std::string base = "http://127.0.0.1:5991";
  const std::string media = " --width 320 --height 180 --quiet --token secret";
  tern::test::BackgroundPeer sfu(Tool("tern-sfu") + " --http 127.0.0.1:5991 --token secret --quiet --stats-json " + server_json,
                                 20, dir + "/sfu.log");
  REQUIRE(sfu.started());
  // The publisher retries a refused connection while the server starts.
  tern::test::BackgroundPeer pub(Tool("tern-peer") + " --whip " + base + "/whip/room1 --duration 4 --stats-json " + pub_json + media,
                                 15, dir + "/pub.log");
  REQUIRE(pub.started());
  bool published = false;
  for (int i = 0; i < 50 && !published; ++i) {  // bounded: 5 s
    const json s = Stats(base);
    published = s.is_object() && s["rooms"].contains("room1") && s["rooms"]["room1"]["publisher"].is_number();
    if (!published) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE_MESSAGE(published, "sfu:\n" << sfu.log() << "\npublisher:\n" << pub.log());
  const auto sub = tern::test::run_command(
      Tool("tern-peer") + " --whep " + base + "/whep/room1 --duration 2.5 --stats-json " + sub_json + media, 15, true);
  INFO("subscriber:\n" << sub.out);
  const auto refused = tern::test::run_command(Tool("tern-peer") + " --whep " + base + "/whep/room1 --token wrong --quiet", 10, true);
  CHECK(refused.exit_code == 1);
  CHECK(refused.out.find("bearer token") != std::string::npos);
  REQUIRE(pub.wait(8000));
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
  // 30 fps from the first decoded frame to the end of the subscriber's 2.5 s.
  const double available = 30.0 * (2.5 - first / 1000.0);
  MESSAGE("tern-sfu: subscriber POST -> first decoded frame " << first << " ms; " << decoded << " frames decoded of ~"
          << available << "; audio samples " << ss["summary"].value("audioSamplesReceived", uint64_t{0}));
  CHECK(first > 0);
  CHECK(decoded >= 0.9 * available);
  CHECK(ss["summary"].value("audioSamplesReceived", uint64_t{0}) > 48000);  // > 1 s of audio
  const json& c = server["server"];
  CHECK(c["sessionsCreated"] == 2);
  CHECK(c["sessionsEnded"] == 2);  // both DELETEs, before the drain
  CHECK(c["unauthenticatedDropped"] == 0);
}
