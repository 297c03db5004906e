// tern-sfu's signalling of a simulcast (rid) publisher: the WHIP answer accepts the offer's three
// rids (a=simulcast:recv, a=rid:<id> recv, the rid extensions kept) and a subscriber's answer
// carries the server's one SSRC (+ RTX) for the video, whichever encoding it will get. The media
// path (SSRCs learned from the rid extension, one encoding per subscriber) is
// tests/pipeline/simulcast_router_test.cpp; the offer is Chromium 156's with its video SSRC lines
// replaced by three rids (tests/sdp/data/chromium156_simulcast_offer.sdp).
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <variant>

#include "sfu/sfu_test_pc.h"
#include "tern/sfu/sfu_server.h"

using namespace tern;

namespace {

std::string SimulcastSfuOffer() {
  std::ifstream in(std::string(TERN_SOURCE_DIR) + "/tests/sdp/data/chromium156_simulcast_offer.sdp", std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string SimulcastSfuReason(const std::variant<sfu::SfuAnswer, sfu::SfuRefusal>& r) {
  return std::holds_alternative<sfu::SfuRefusal>(r) ? std::get<sfu::SfuRefusal>(r).reason : "";
}

}  // namespace

TEST_CASE("sfu simulcast: the WHIP answer receives the offer's rids and subscribers get the server's SSRC") {
  sfu::SfuConfig config;
  config.address = ice::TransportAddress::V4(198, 51, 100, 100, 3478);
  auto server = sfu::SfuServer::Create(config);
  REQUIRE_MESSAGE(server.ok(), server.error());
  const Timestamp now = Timestamp::Zero() + TimeDelta::Seconds(1);

  const std::string offer = SimulcastSfuOffer();
  REQUIRE(offer.find("a=simulcast:send q;h;f") != std::string::npos);
  auto published = (*server)->publish("room1", offer, now);
  REQUIRE_MESSAGE(std::holds_alternative<sfu::SfuAnswer>(published), SimulcastSfuReason(published));
  const sfu::SfuAnswer& pa = std::get<sfu::SfuAnswer>(published);
  CHECK(pa.sdp.find("a=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\na=simulcast:recv q;h;f\r\n") != std::string::npos);
  CHECK(pa.sdp.find("a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n") != std::string::npos);
  CHECK(pa.sdp.find("a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n") != std::string::npos);
  CHECK(pa.sdp.find("a=recvonly") != std::string::npos);

  auto subscriber = sfu_test::make_sfu_test_pc(TransportAddress{IpAddress::V4(198, 51, 100, 2), 40000}, 1, false, {});
  auto sub_offer = subscriber->create_offer(now);
  REQUIRE(sub_offer.ok());
  REQUIRE(subscriber->set_local_description(*sub_offer, now).ok());
  auto watched = (*server)->subscribe("room1", sub_offer->sdp, now);
  REQUIRE_MESSAGE(std::holds_alternative<sfu::SfuAnswer>(watched), SimulcastSfuReason(watched));
  const std::string& answer = std::get<sfu::SfuAnswer>(watched).sdp;
  // The server's video SSRC for this publisher (session id pa.id) and its RTX.
  const uint32_t group = 0x6C00'0000u + static_cast<uint32_t>(pa.id) * 2;
  CHECK(answer.find("a=ssrc-group:FID " + std::to_string(group) + " " + std::to_string(group + 1)) != std::string::npos);
  CHECK(answer.find("a=simulcast") == std::string::npos);
  CHECK(answer.find("rtp-stream-id") == std::string::npos);
  // The subscriber's PeerConnection takes the answer (one VP8 stream on that SSRC).
  const Status applied = subscriber->set_remote_description({webrtc::SdpType::kAnswer, answer}, now);
  CHECK_MESSAGE(applied.ok(), applied.error());

  // A simulcast offer without the rid extension cannot be learned: refused.
  std::string no_rid = offer;
  const std::string rid_ext = "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n";
  no_rid.erase(no_rid.find(rid_ext), rid_ext.size());
  auto refused = (*server)->publish("room2", no_rid, now);
  REQUIRE(std::holds_alternative<sfu::SfuRefusal>(refused));
  CHECK(std::get<sfu::SfuRefusal>(refused).status == 422);
}
