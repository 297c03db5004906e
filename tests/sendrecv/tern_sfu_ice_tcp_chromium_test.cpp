// Headless Chromium through tern-sfu over ICE-TCP alone (issue 17: networks that block UDP): tern-sfu
// --tcp --no-udp-candidates answers with its passive TCP candidate only (RFC 6544), so the page's
// publisher and subscriber (chromium/sfu_ice_tcp.js, one browser page, in a network namespace of its
// own, every process under `timeout`) connect by Chromium's active TCP candidates, RFC 4571 framing
// both ways; the subscriber decodes the publisher's video; the server received no UDP datagram.
// The server's publisher limit (--max-publisher-kbps 200, the answer's b=AS/b=TIAS) is what
// Chromium's encoder targets: its outbound targetBitrate stays at or below it (measured: 109 kbps;
// 6.2 Mbps under the default 8000 kbps limit in the same 1 s).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "support/chromium_rig.h"
#include "support/peer.h"
#include "support/process.h"
#include "support/tool_run.h"

TEST_CASE("tern-sfu: headless Chromium publishes and subscribes over ICE-TCP only") {
  if (!tern::test::EnterChromiumRig(false)) return;  // now in a network namespace of its own
  const std::string dir = tern::test::scratch_dir("tern_sfu_ice_tcp_chromium");
  const std::string result_json = dir + "/result.json", sfu_json = dir + "/sfu.json";
  for (const std::string& f : {result_json, sfu_json}) std::remove(f.c_str());
  tern::test::BackgroundPeer sfu(tern::test::tool_path("tern-sfu") +
                                     " --http 127.0.0.1:5994 --udp 127.0.0.1:0 --tcp 127.0.0.1:5995 --no-udp-candidates"
                                     " --quiet --max-publisher-kbps 200 --stats-json " + sfu_json,
                                 20, dir + "/sfu.log");
  REQUIRE(sfu.started());
  const auto node = tern::test::run_command("env NODE_PATH='" + tern::test::chromium_node_dir() +
                                                "/node_modules' timeout -k 3 20 node '" TERN_SOURCE_DIR
                                                "/tests/sendrecv/chromium/sfu_ice_tcp.js' " + result_json +
                                                " http://127.0.0.1:5994 1000",
                                            25, true);
  sfu.send_signal(SIGTERM);
  REQUIRE(sfu.wait(5000));
  INFO("node:\n" << node.out << "\nsfu:\n" << sfu.log());
  const nlohmann::json r = tern::test::read_json_file(result_json);
  REQUIRE(r.is_object());
  INFO("Chromium: " << r.dump(1).substr(0, 8000));
  REQUIRE_MESSAGE(r.value("ok", false), r.value("error", std::string("?")));
  CHECK(node.exit_code == 0);
  CHECK(sfu.exit_code() == 0);
  CHECK(r["publish"]["answerHasTcp"] == true);
  CHECK(r["publish"]["answerHasUdp"] == false);
  const nlohmann::json& end = r["end"];
  CHECK(end.value("pub_protocol", std::string()) == "tcp");
  CHECK(end.value("sub_protocol", std::string()) == "tcp");
  const double sent = end["out_video"].value("framesSent", 0.0);
  const double decoded = end["in_video"].value("framesDecoded", 0.0);
  MESSAGE(r.value("browser", std::string("?")) << ", wall " << r.value("wallMs", 0) << " ms: " << decoded << " frames decoded, "
                                               << sent << " sent");
  CHECK(decoded >= 10);
  const double target = end["out_video"].value("targetBitrate", -1.0);
  MESSAGE("Chromium's video targetBitrate under tern-sfu's 200 kbps publisher limit: " << target << " bps");
  CHECK(target > 0);
  CHECK(target <= 200000);
  const nlohmann::json server = tern::test::read_json_file(sfu_json);
  REQUIRE(server.is_object());
  CHECK(server["server"]["datagramsReceived"] == 0);  // nothing by UDP
  CHECK(server["server"]["sessionsCreated"] == 2);
  CHECK(server["server"]["tcpConnectionsBound"].get<int>() >= 2);
}
