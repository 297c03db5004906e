// SfuServer's publishing limits (issue 17, "per-session and global limits ... bitrate"): a
// publisher's answer carries its limit as b=AS / b=TIAS on the video section; a publisher that sends
// more anyway (tern's PeerConnection does not read b=AS: it sends at its own GCC target) has its RTP
// beyond 1.5x the limit dropped before the router, counted in /stats and /metrics, and the
// subscriber receives no more than the policed rate allows (over 12 s the publisher's GCC, reading
// the policed packets as lost in the server's transport-cc, comes down to the policed rate and its
// video decodes); a publisher beyond the server's total
// is refused 503 with the reason, and admitted once another publisher left.
#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "tern/dtls/openssl_virtual_clock.h"
#include "tern/icesim/hosts.h"
#include "tern/netsim/event_loop.h"
#include "tern/netsim/internet.h"
#include "tern/sfu/sfu_server.h"
#include "tern/webrtc/peer_connection.h"

#include "sfu/sfu_test_pc.h"

using namespace tern;

namespace {

using LimitNode = sfu_test::SfuTestNode;

// The lines of the answer's `media` section (from its m= line to the next one).
std::string section(const std::string& sdp, const std::string& media) {
  const size_t start = sdp.find("m=" + media + " ");
  if (start == std::string::npos) return {};
  const size_t end = sdp.find("\r\nm=", start);
  return sdp.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

TEST_CASE("sfu: a publisher over its bitrate limit is policed and counted, and the server total refuses one more (503)") {
  netsim::EventLoop loop;
  dtls::ScopedOpenSslVirtualClock clock([&] { return loop.now(); });
  netsim::Internet net(41);
  auto add = [&](uint8_t last) {
    const IpAddress ip = IpAddress::V4(198, 51, 100, last);
    auto host = net.add_host(netsim::kPublicRealm, {ip},
                             {sfu_test::sim_link(TimeDelta::Millis(10), 0), sfu_test::sim_link(TimeDelta::Millis(10), 0)});
    REQUIRE(host.ok());
    auto bound = net.bind(*host, TransportAddress{ip, last == 100 ? uint16_t{3478} : uint16_t{40000}});
    REQUIRE(bound.ok());
    return std::make_pair(std::make_unique<LimitNode>(net, *host, *bound), *bound);
  };
  auto server_pair = add(100);
  std::unique_ptr<LimitNode>& server = server_pair.first;
  sfu::SfuConfig config;
  config.address = icesim::to_ice(server_pair.second);
  config.max_publisher_bitrate = DataRate::KilobitsPerSec(100);  // policed at 150 kbps
  config.max_total_publisher_bitrate = DataRate::KilobitsPerSec(150);  // room for one publisher
  config.subscriber_probing = false;  // no padding toward the subscriber in its byte count
  auto created = sfu::SfuServer::Create(config);
  REQUIRE_MESSAGE(created.ok(), created.error());
  server->sfu = std::move(created).value();
  sfu::SfuServer& sfu = *server->sfu;

  auto pub_pair = add(1);
  std::unique_ptr<LimitNode>& pub = pub_pair.first;
  pub->pc = sfu_test::make_sfu_test_pc(pub_pair.second, 0, true, {500, 0x5000'0000u, 21, false});
  auto sub_pair = add(2);
  std::unique_ptr<LimitNode>& sub = sub_pair.first;
  sub->pc = sfu_test::make_sfu_test_pc(sub_pair.second, 1, false, {500, 0x5000'0000u, 21, false});
  auto other_pair = add(3);
  std::unique_ptr<LimitNode>& other = other_pair.first;
  other->pc = sfu_test::make_sfu_test_pc(other_pair.second, 2, true, {500, 0x5000'0000u, 21, false});
  loop.add_pollable(server.get());
  loop.add_pollable(pub.get());
  loop.add_pollable(sub.get());
  loop.add_pollable(other.get());
  loop.add_pollable(&net);

  std::optional<sfu::SessionId> pub_id;
  std::string pub_answer;
  auto offer_of = [&](LimitNode& n) {
    auto offer = n.pc->create_offer(loop.now());
    REQUIRE(offer.ok());
    REQUIRE(n.pc->set_local_description(*offer, loop.now()).ok());
    n.flush(loop.now());
    return offer->sdp;
  };
  auto answer_to = [&](LimitNode& n, const std::string& sdp) {
    Status st = n.pc->set_remote_description({webrtc::SdpType::kAnswer, sdp}, loop.now());
    CHECK_MESSAGE(st.ok(), st.error());
    n.flush(loop.now());
  };
  loop.post_at(Timestamp::Zero(), [&] {
    auto r = sfu.publish("limited", offer_of(*pub), loop.now());
    server->flush(loop.now());
    REQUIRE(std::holds_alternative<sfu::SfuAnswer>(r));
    pub_id = std::get<sfu::SfuAnswer>(r).id;
    pub_answer = std::get<sfu::SfuAnswer>(r).sdp;
    answer_to(*pub, pub_answer);
  });
  loop.post_at(Timestamp::Zero() + TimeDelta::Millis(50), [&] {
    auto r = sfu.subscribe("limited", offer_of(*sub), loop.now());
    server->flush(loop.now());
    REQUIRE(std::holds_alternative<sfu::SfuAnswer>(r));
    answer_to(*sub, std::get<sfu::SfuAnswer>(r).sdp);
  });
  // A second publisher (another room): 100 + 100 kbps > 150 kbps.
  std::optional<sfu::SfuRefusal> refused;
  loop.post_at(Timestamp::Zero() + TimeDelta::Millis(100), [&] {
    auto r = sfu.publish("other", offer_of(*other), loop.now());
    if (auto* refusal = std::get_if<sfu::SfuRefusal>(&r)) refused = *refusal;
  });
  REQUIRE(loop.run_until(Timestamp::Zero() + TimeDelta::Seconds(12)).ok());
  const Timestamp end = loop.now();

  // The limit in the publisher's answer: video only, in bps and kbps.
  const std::string video = section(pub_answer, "video");
  CHECK(video.find("\r\nb=AS:100\r\n") != std::string::npos);
  CHECK(video.find("\r\nb=TIAS:100000\r\n") != std::string::npos);
  CHECK(section(pub_answer, "audio").find("b=") == std::string::npos);

  // tern's publisher sent more than the policed rate allows over 4 s (150 kbps x 4 s + the bucket's
  // one second); the subscriber received no more than that, and the drops are counted.
  const auto pub_stats = pub->pc->get_stats(end);
  const auto sub_stats = sub->pc->get_stats(end);
  const auto* pv = pub_stats.media.outbound("video");
  const auto* pa = pub_stats.media.outbound("audio");
  const auto* sv = sub_stats.media.inbound("video");
  const auto* sa = sub_stats.media.inbound("audio");
  REQUIRE(pv != nullptr);
  REQUIRE(pa != nullptr);
  REQUIRE(sv != nullptr);
  REQUIRE(sa != nullptr);
  const double allowed = 150e3 / 8 * 13;  // bytes
  const double published = double(pv->bytes_sent + pv->header_bytes_sent + pa->bytes_sent + pa->header_bytes_sent);
  const double forwarded = double(sv->bytes_received + sv->header_bytes_received + sa->bytes_received + sa->header_bytes_received);
  MESSAGE("published " << published << " B, forwarded " << forwarded << " B, allowed " << allowed << " B");
  CHECK(published > allowed * 1.2);
  CHECK(forwarded <= allowed);
  CHECK(forwarded > allowed / 2);  // policed, not cut off: media still flows
  // What the server's transport-cc reports (the policed packets never arrive) brings a GCC
  // publisher down to the policed rate even when it ignores b=AS, and its video then decodes.
  MESSAGE("publisher's video target at the end " << pv->target_bitrate << " bps");
  CHECK(pv->target_bitrate <= 150e3);
  REQUIRE(sv->frames_decoded.has_value());
  CHECK(*sv->frames_decoded > 0);
  REQUIRE(pub_id.has_value());
  const auto stats = nlohmann::json::parse(sfu.stats_json(end));
  bool seen = false;
  for (const auto& s : stats["sessions"]) {
    if (s["id"] != *pub_id) {
      CHECK_FALSE(s.contains("bitrateLimit"));  // subscribers are not policed
      continue;
    }
    seen = true;
    CHECK(s["bitrateLimit"] == 100000);
    CHECK(s["bitrateLimitDroppedPackets"].get<uint64_t>() > 0);
    CHECK(s["bitrateLimitDroppedBytes"].get<double>() >= published - forwarded - allowed * 0.1);
  }
  CHECK(seen);
  const std::string metrics = sfu.prometheus_metrics();
  CHECK(metrics.find("tern_sfu_session_bitrate_limit_dropped_packets_total{session=\"" + std::to_string(*pub_id) +
                     "\",room=\"limited\",role=\"publisher\"}") != std::string::npos);

  // The second publisher was refused for the total, and is admitted once the first one left.
  REQUIRE(refused.has_value());
  CHECK(refused->status == 503);
  CHECK(refused->reason.find("publishing bitrate") != std::string::npos);
  CHECK(stats["server"]["publishersRefusedBitrate"] == 1);
  CHECK(metrics.find("tern_sfu_publishers_refused_bitrate_total 1") != std::string::npos);
  CHECK(sfu.end_session(*pub_id, end));
  other->pc = sfu_test::make_sfu_test_pc(other_pair.second, 3, true, {500, 0x5000'0000u, 21, false});
  auto again = sfu.publish("other", offer_of(*other), end);
  CHECK(std::holds_alternative<sfu::SfuAnswer>(again));
}
