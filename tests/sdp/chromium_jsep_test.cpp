// Headless Chromium 156 accepts tern's SDP both ways (tests/sdp/chromium/jsep_check.js): it answers
// tern's offer (setRemoteDescription + createAnswer), and takes tern's answer to its own offer
// (audio + video + a data channel) with setRemoteDescription. Chromium's answer is then applied to
// tern's offer. SDP only: no media flows (the PeerConnection is later work).
//
// Runs in a network namespace of its own (the page server's port is private). Needs chromium, node,
// puppeteer-core (scripts/install-deps.sh puts it in out/node; TERN_NODE_DIR overrides) and root;
// without them it skips, unless TERN_REQUIRE_INTEROP=1 (CI), where it fails.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/chromium_rig.h"
#include "tern/sdp/jsep_negotiator.h"

using namespace tern::sdp;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("Chromium accepts tern's offer and tern's answer") {
  if (!tern::test::EnterChromiumRig(false)) return;
  const std::string dir = tern::test::scratch_dir("sdp_chromium_jsep");
  for (const char* f : {"tern_offer.sdp", "chromium_offer.sdp", "tern_answer.sdp", "result.json"})
    std::remove((dir + "/" + f).c_str());
  LocalCapabilities local;
  local.ice_ufrag = "tern";
  local.ice_pwd = "0123456789abcdefghijkl";
  local.fingerprint.algorithm = "sha-256";
  local.fingerprint.digest.assign(32, 0xAB);
  local.candidates.push_back({"1", 1, 2122260223u, tern::ice::TransportAddress::V4(127, 0, 0, 1, 40000),
                              tern::ice::CandidateType::kHost, {}, {}});
  local.video_fec = true;
  const SessionDescription offer = create_offer(local);
  std::ofstream(dir + "/tern_offer.sdp") << offer.to_string();

  tern::test::BackgroundPeer node("env NODE_PATH='" + tern::test::chromium_node_dir() + "/node_modules' node '" TERN_SOURCE_DIR
                                  "/tests/sdp/chromium/jsep_check.js' '" + dir + "'",
                                  60, dir + "/node.log");
  REQUIRE(node.started());
  std::string chromium_offer;
  for (int i = 0; i < 600 && chromium_offer.empty() && node.running(); ++i) {  // <= 30 s
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    chromium_offer = slurp(dir + "/chromium_offer.sdp");
  }
  INFO("node log:\n" << node.log());
  REQUIRE_FALSE(chromium_offer.empty());
  auto remote_offer = SessionDescription::parse(chromium_offer);
  REQUIRE_MESSAGE(remote_offer.ok(), std::string(remote_offer.error()));
  auto answer = create_answer(*remote_offer, local);
  REQUIRE_MESSAGE(answer.ok(), std::string(answer.error()));
  {
    std::ofstream out(dir + "/tern_answer.sdp.tmp");
    out << answer->description.to_string();
  }
  std::rename((dir + "/tern_answer.sdp.tmp").c_str(), (dir + "/tern_answer.sdp").c_str());
  REQUIRE(node.wait(30000));
  const auto result = nlohmann::json::parse(slurp(dir + "/result.json"), nullptr, false);
  REQUIRE(result.is_object());
  MESSAGE(result.value("browser", std::string("?")));
  INFO("result: " << result.dump(2));
  CHECK(result.value("answerAccepted", std::string()) == "stable");
  CHECK(node.exit_code() == 0);

  // Chromium's answer to tern's offer, from tern's side.
  auto chromium_answer = SessionDescription::parse(result.value("answerToTern", std::string()));
  REQUIRE_MESSAGE(chromium_answer.ok(), std::string(chromium_answer.error()));
  auto n = apply_answer(offer, *chromium_answer);
  REQUIRE_MESSAGE(n.ok(), std::string(n.error()));
  CHECK(n->dtls_role == tern::dtls::DtlsRole::kServer);  // Chromium answers setup:active
  CHECK(n->bundle == std::vector<std::string>{"0", "1", "2"});
  const NegotiatedMedia* video = n->find(MediaKind::kVideo);
  REQUIRE(video);
  REQUIRE_FALSE(video->codecs.empty());
  CHECK(video->codecs[0].payload_type == 96);
  CHECK(video->codecs[0].rtx_payload_type == 97);
  CHECK(video->codecs[0].feedback.transport_cc);
  REQUIRE(n->find(MediaKind::kApplication));
  CHECK(n->find(MediaKind::kApplication)->remote_max_message_size == 262144);
  CHECK(n->find(MediaKind::kAudio)->codecs[0].payload_type == 111);
}
