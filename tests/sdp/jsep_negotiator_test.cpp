// JSEP offer/answer: tern answers the real offers of Chromium 156, pion and aiortc (codecs chosen
// with the offerer's payload types, RTX apt, BUNDLE, setup active, SCTP), rejects what it cannot
// carry with port 0, refuses answers that do not match its offer, negotiates with itself, and maps
// the result onto pipeline::EndpointConfig.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "sdp_test_data.h"
#include "tern/sdp/endpoint_mapping.h"
#include "tern/sdp/jsep_negotiator.h"

using namespace tern::sdp;
using tern::codecs::CodecType;
using tern::dtls::DtlsRole;

namespace {

LocalCapabilities capabilities(const char* ufrag, uint8_t fp_byte) {
  LocalCapabilities c;
  const uint32_t ssrc_base = static_cast<uint32_t>(fp_byte) << 24;  // distinct per side
  c.audio_ssrc = ssrc_base + 1;
  c.video_ssrc = ssrc_base + 2;
  c.video_rtx_ssrc = ssrc_base + 3;
  c.ice_ufrag = ufrag;
  c.ice_pwd = "0123456789abcdefghijkl";
  c.fingerprint.algorithm = "sha-256";
  c.fingerprint.digest.assign(32, fp_byte);
  c.candidates.push_back({"1", 1, 2122260223u, tern::ice::TransportAddress::V4(127, 0, 0, 1, 40000), tern::ice::CandidateType::kHost, {}, {}});
  c.end_of_candidates = true;
  return c;
}

SessionDescription parse_data(const char* name) {
  auto sd = SessionDescription::parse(tern::test::read_sdp_data(name));
  REQUIRE(sd.ok());
  return *sd;
}

std::vector<std::string> values(const MediaSection& m, const char* name) {
  std::vector<std::string> out;
  for (auto v : m.values(name)) out.emplace_back(v);
  return out;
}

// The answer must read back as it was written, and the offerer's view of it must agree.
NegotiatedSession offerer_view(const SessionDescription& offer, const SessionDescription& answer) {
  auto reparsed = SessionDescription::parse(answer.to_string());
  REQUIRE(reparsed.ok());
  CHECK(*reparsed == answer);
  auto n = apply_answer(offer, *reparsed);
  REQUIRE_MESSAGE(n.ok(), std::string(n.error()));
  return *n;
}

}  // namespace

TEST_CASE("answering Chromium 156's offer") {
  const SessionDescription offer = parse_data("chromium156_offer.sdp");
  LocalCapabilities local = capabilities("tern", 0xAB);
  local.video_fec = true;
  auto answer = create_answer(offer, local);
  REQUIRE_MESSAGE(answer.ok(), std::string(answer.error()));
  const SessionDescription& a = answer->description;
  REQUIRE(a.media.size() == 3);
  CHECK(a.value("group") == "BUNDLE 0 1 2");
  // Audio: Opus only (G722, PCMU/A, CN, telephone-event and RED without audio_red pruned).
  CHECK(a.media[0].formats == std::vector<std::string>{"111"});
  CHECK(values(a.media[0], "fmtp") == std::vector<std::string>{"111 minptime=10;useinbandfec=1"});
  CHECK(values(a.media[0], "rtcp-fb") == std::vector<std::string>{"111 transport-cc"});
  // Video: VP8 + RTX, VP9 profile 0 + RTX, RED + its RTX (libwebrtc retransmits RED-wrapped
  // packets under it) + ULPFEC, in the offered order with the offered numbers; H264, AV1 and VP9
  // profile 2 pruned.
  CHECK(a.media[1].formats == std::vector<std::string>{"96", "97", "98", "99", "118", "119", "120"});
  CHECK(values(a.media[1], "fmtp") == std::vector<std::string>{"97 apt=96", "98 profile-id=0", "99 apt=98", "119 apt=118"});
  const auto fb = values(a.media[1], "rtcp-fb");
  CHECK(std::count(fb.begin(), fb.end(), "96 nack pli") == 1);
  CHECK(std::count(fb.begin(), fb.end(), "96 transport-cc") == 1);
  CHECK(std::count(fb.begin(), fb.end(), "96 goog-remb") == 1);
  CHECK(std::count(fb.begin(), fb.end(), "96 ccm fir") == 1);
  // Only the extensions tern writes, at the offered ids.
  CHECK(values(a.media[1], "extmap") ==
        std::vector<std::string>{"2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
                                 "3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
                                 "4 urn:ietf:params:rtp-hdrext:sdes:mid"});
  for (const MediaSection& m : a.media) {
    CHECK(m.value("setup") == "active");
    CHECK(m.value("ice-ufrag") == "tern");
    CHECK(m.port == 40000);
  }
  CHECK(a.media[0].values("candidate").size() == 1);  // only in the BUNDLE-tagged section
  CHECK(a.media[1].values("candidate").empty());
  CHECK(a.media[0].has("sendrecv"));
  CHECK(values(a.media[1], "ssrc-group") == std::vector<std::string>{"FID 2868903938 2868903939"});
  CHECK(a.media[2].value("sctp-port") == "5000");
  CHECK(a.media[2].value("max-message-size") == "262144");

  const NegotiatedSession& n = answer->negotiated;
  CHECK(n.dtls_role == DtlsRole::kClient);
  CHECK_FALSE(n.ice_controlling);
  CHECK(n.bundle == std::vector<std::string>{"0", "1", "2"});
  CHECK(n.remote_ice_ufrag == "Xv3k");
  CHECK(n.remote_ice_trickle);
  CHECK(n.remote_fingerprint.digest.size() == 32);
  REQUIRE(n.remote_candidates.size() == 1);  // the tagged section's UDP candidate; TCP skipped
  CHECK(n.remote_candidates[0].address.port == 37669);
  CHECK(n.remote_candidates_skipped == 1);
  const NegotiatedMedia* video = n.find(MediaKind::kVideo);
  REQUIRE(video);
  REQUIRE(video->codecs.size() == 2);
  CHECK(video->codecs[0].codec == CodecType::kVp8);
  CHECK(video->codecs[0].rtx_payload_type == 97);
  CHECK(video->codecs[1].codec == CodecType::kVp9);
  CHECK(video->codecs[1].rtx_payload_type == 99);
  CHECK(video->codecs[0].feedback == FeedbackSet{true, true, true, true, true});
  CHECK(video->red_payload_type == 118);
  CHECK(video->ulpfec_payload_type == 120);
  CHECK(video->red_rtx_payload_type == 119);
  CHECK(video->remote_ssrc == 218064772u);
  CHECK(video->remote_rtx_ssrc == 107134184u);
  CHECK(video->remote_cname == "huWr1eYPDwGUCoeL");
  CHECK(video->remote_msid->track_id == "0f6158d3-fd48-4f17-b8bf-eff0754b8140");
  const NegotiatedMedia* data = n.find(MediaKind::kApplication);
  REQUIRE(data);
  CHECK(data->remote_sctp_port == 5000);
  CHECK(data->remote_max_message_size == 262144);

  // Chromium's side of the same exchange: it is the DTLS server and controls ICE.
  const NegotiatedSession theirs = offerer_view(offer, a);
  CHECK(theirs.dtls_role == DtlsRole::kServer);
  CHECK(theirs.ice_controlling);
  CHECK(theirs.find(MediaKind::kVideo)->codecs[0].payload_type == 96);
  CHECK(theirs.remote_candidates.size() == 1);
  CHECK(theirs.remote_end_of_candidates);

  // Onto the pipeline's configuration.
  auto config = to_endpoint_config(n, local);
  REQUIRE_MESSAGE(config.ok(), std::string(config.error()));
  CHECK(config->payload_types.opus == 111);
  CHECK(config->payload_types.vp8 == 96);
  CHECK(config->payload_types.video_rtx == 97);
  CHECK(config->payload_types.red == 118);
  CHECK(config->payload_types.ulpfec == 120);
  CHECK(config->payload_types.red_rtx == 119);
  CHECK(config->send.video == CodecType::kVp8);
  CHECK(config->receive.audio == CodecType::kOpus);
  CHECK(config->send.protection.nack);
  CHECK(config->send.protection.fec);
  CHECK(config->congestion == tern::pipeline::CongestionControlMode::kTransportCc);
  CHECK(config->extension_ids.abs_send_time == 2);
  CHECK(config->extension_ids.transport_sequence_number == 3);
  CHECK(config->extension_ids.mid == 4);
  CHECK(config->remote.video == 218064772u);
  CHECK(config->remote.video_rtx == 107134184u);
  CHECK(config->remote.audio == 602967719u);
  CHECK(config->remote.video_mid == "1");
}

TEST_CASE("answering pion's and aiortc's offers") {
  {
    const SessionDescription offer = parse_data("pion3_offer.sdp");
    const LocalCapabilities local = capabilities("tern", 0xAB);
    auto answer = create_answer(offer, local);
    REQUIRE_MESSAGE(answer.ok(), std::string(answer.error()));
    const SessionDescription& a = answer->description;
    CHECK(a.media[0].formats == std::vector<std::string>{"111"});
    // VP9 profile 1 (100/101), H264 and ULPFEC (video_fec off) pruned.
    CHECK(a.media[1].formats == std::vector<std::string>{"96", "97", "98", "99"});
    const auto fb = values(a.media[1], "rtcp-fb");
    CHECK(std::count(fb.begin(), fb.end(), "96 nack") == 1);  // pion repeats it; answered once
    CHECK(std::count(fb.begin(), fb.end(), "97 nack") == 0);  // feedback on RTX itself is not kept
    CHECK(a.value("group") == "BUNDLE 0 1 2");
    const NegotiatedSession& n = answer->negotiated;
    CHECK(n.remote_fingerprint.algorithm == "sha-256");  // from the session level
    CHECK(n.remote_ice_ufrag == "haljytpAoMcfbwRA");
    CHECK(n.remote_candidates.size() == 1);  // component 2 skipped: RTCP is muxed
    CHECK(n.find(MediaKind::kApplication)->remote_max_message_size == 65536);  // RFC 8841 default
    CHECK(n.find(MediaKind::kVideo)->remote_ssrc == 4226924110u);
    CHECK_FALSE(n.find(MediaKind::kVideo)->remote_rtx_ssrc.has_value());
    // Only transport-wide cc is offered: the pipeline's other two ids take free numbers.
    auto config = to_endpoint_config(n, local);
    REQUIRE_MESSAGE(config.ok(), std::string(config.error()));
    CHECK(config->extension_ids.transport_sequence_number == 1);
    CHECK(config->extension_ids.abs_send_time == 2);
    CHECK(config->extension_ids.mid == 3);
    CHECK(offerer_view(offer, a).dtls_role == DtlsRole::kServer);
  }
  {
    // aiortc 1.4: draft-era DTLS/SCTP with sctpmap, an ufrag per section, extmap id 2 meaning two
    // URIs across the bundle (audio-level, which tern does not keep, and abs-send-time).
    const SessionDescription offer = parse_data("aiortc14_offer.sdp");
    auto answer = create_answer(offer, capabilities("tern", 0xAB));
    REQUIRE_MESSAGE(answer.ok(), std::string(answer.error()));
    const SessionDescription& a = answer->description;
    CHECK(a.media[1].formats == std::vector<std::string>{"97", "98"});
    CHECK(values(a.media[1], "extmap") ==
          std::vector<std::string>{"1 urn:ietf:params:rtp-hdrext:sdes:mid",
                                   "2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"});
    CHECK(a.media[2].proto == "DTLS/SCTP");
    CHECK(a.media[2].formats == std::vector<std::string>{"5000"});
    CHECK(a.media[2].value("sctpmap") == "5000 webrtc-datachannel 65535");
    const NegotiatedSession& n = answer->negotiated;
    CHECK(n.remote_ice_ufrag == "jPc1");  // the tagged section's
    CHECK(n.find(MediaKind::kApplication)->remote_sctp_port == 5000);
    CHECK(n.find(MediaKind::kApplication)->remote_max_message_size == 65536);
    CHECK(n.find(MediaKind::kVideo)->remote_rtx_ssrc == 454598448u);
  }
}

TEST_CASE("an H264-only video section is rejected with port 0, broken offers and answers are refused") {
  LocalCapabilities peer = capabilities("peer", 0xCD);
  std::string offer_text = create_offer(peer).to_string();
  // Replace the video section's formats by H264 only.
  const size_t v = offer_text.find("m=video");
  const size_t app = offer_text.find("m=application");
  const std::string h264 =
      "m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=ice-ufrag:peer\r\n"
      "a=ice-pwd:0123456789abcdefghijkl\r\na=setup:actpass\r\na=fingerprint:" + peer.fingerprint.to_string() +
      "\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=1\r\n"
      "a=x-unknown-thing:kept\r\n";
  offer_text = offer_text.substr(0, v) + h264 + offer_text.substr(app);
  auto offer = SessionDescription::parse(offer_text);
  REQUIRE(offer.ok());
  CHECK(offer->media[1].value("x-unknown-thing") == "kept");
  auto answer = create_answer(*offer, capabilities("tern", 0xAB));
  REQUIRE_MESSAGE(answer.ok(), std::string(answer.error()));
  const MediaSection& rejected = answer->description.media[1];
  CHECK(rejected.port == 0);
  CHECK(rejected.value("mid") == "1");
  CHECK(rejected.formats == std::vector<std::string>{"102"});
  CHECK(rejected.attributes.size() == 1);
  CHECK(answer->description.value("group") == "BUNDLE 0 2");
  CHECK_FALSE(answer->negotiated.media[1].accepted);
  CHECK(answer->negotiated.find(MediaKind::kVideo) == nullptr);
  auto config = to_endpoint_config(answer->negotiated, capabilities("tern", 0xAB));
  REQUIRE_MESSAGE(config.ok(), std::string(config.error()));
  CHECK_FALSE(config->send.video.has_value());
  CHECK_FALSE(config->receive.video.has_value());
  CHECK(offerer_view(*offer, answer->description).find(MediaKind::kVideo) == nullptr);

  auto refused = [](const tern::Result<Answer>& r, const char* reason) {
    REQUIRE_FALSE(r.ok());
    CHECK(std::string(r.error()).find(reason) != std::string::npos);
  };
  auto edited = [&](const std::string& from, const std::string& to) {
    std::string t = create_offer(peer).to_string();
    const size_t at = t.find(from);
    REQUIRE(at != std::string::npos);
    t.replace(at, from.size(), to);
    auto sd = SessionDescription::parse(t);
    REQUIRE(sd.ok());
    return *sd;
  };
  const LocalCapabilities local = capabilities("tern", 0xAB);
  refused(create_answer(edited("a=mid:1\r\n", ""), local), "without a=mid");
  refused(create_answer(edited("a=mid:1\r\n", "a=mid:0\r\n"), local), "same mid");
  refused(create_answer(edited("a=setup:actpass", "a=setup:holdconn"), local), "holdconn");
  refused(create_answer(edited("a=ice-pwd:", "a=x-pwd:"), local), "ice-pwd");
  // Local capabilities that would write a description peers reject.
  const SessionDescription plain = create_offer(peer);
  auto broken = [&](auto&& edit, const char* reason) {
    LocalCapabilities bad = local;
    edit(bad);
    CHECK_FALSE(bad.validate().ok());
    refused(create_answer(plain, bad), reason);
  };
  broken([](LocalCapabilities& c) { c.ice_pwd = "short"; }, "ice-pwd");
  broken([](LocalCapabilities& c) { c.ice_ufrag = "ab:cd"; }, "ice-ufrag");
  broken([](LocalCapabilities& c) { c.fingerprint.digest.clear(); }, "fingerprint");
  broken([](LocalCapabilities& c) { c.video_rtx_ssrc = c.video_ssrc; }, "SSRCs");
  broken([](LocalCapabilities& c) { c.payload_types.vp9 = c.payload_types.vp8; }, "payload types");
  broken([](LocalCapabilities& c) { c.session_id = "12a"; }, "session id");
  CHECK(local.validate().ok());

  // a=rtcp-fb:* lines: answered as * when tern acts on them, dropped otherwise.
  auto wildcard = create_answer(edited("a=rtpmap:96 ", "a=rtcp-fb:* x-unknown\r\na=rtcp-fb:* nack\r\na=rtpmap:96 "), local);
  REQUIRE(wildcard.ok());
  const auto wildcard_fb = values(wildcard->description.media[1], "rtcp-fb");
  CHECK(wildcard_fb.front() == "* nack");
  CHECK(std::count(wildcard_fb.begin(), wildcard_fb.end(), "* x-unknown") == 0);

  // Answers that do not fit tern's offer.
  const SessionDescription ours = create_offer(local);
  auto good = create_answer(ours, peer);
  REQUIRE(good.ok());
  auto answer_edited = [&](const std::string& from, const std::string& to) {
    std::string t = good->description.to_string();
    const size_t at = t.find(from);
    REQUIRE(at != std::string::npos);
    t.replace(at, from.size(), to);
    return apply_answer(ours, *SessionDescription::parse(t));
  };
  CHECK(std::string(answer_edited("a=setup:active", "a=setup:actpass").error()).find("actpass") != std::string::npos);
  CHECK(std::string(answer_edited("a=rtpmap:96 VP8/90000", "a=rtpmap:96 H264/90000").error()).find("another codec") !=
        std::string::npos);
  CHECK(std::string(answer_edited(" 96 97", " 96 97 35").error()).find("did not have") != std::string::npos);
  CHECK(std::string(answer_edited("a=extmap:4 ", "a=extmap:9 ").error()).find("extension id") != std::string::npos);
  CHECK(std::string(answer_edited("a=mid:1", "a=mid:7").error()).find("mid differs") != std::string::npos);
}

TEST_CASE("tern offers, tern answers: both sides agree and map onto mirrored endpoint configs") {
  LocalCapabilities a = capabilities("aaaa", 0x11);
  LocalCapabilities b = capabilities("bbbb", 0x22);
  b.vp8 = false;  // b only does VP9: the answer picks it from a's offer
  a.audio_red = b.audio_red = true;
  const SessionDescription offer = create_offer(a);
  auto offer_again = SessionDescription::parse(offer.to_string());
  REQUIRE(offer_again.ok());
  CHECK(*offer_again == offer);
  auto answer = create_answer(offer, b);
  REQUIRE_MESSAGE(answer.ok(), std::string(answer.error()));
  const NegotiatedSession na = offerer_view(offer, answer->description);
  const NegotiatedSession& nb = answer->negotiated;
  CHECK(na.dtls_role == DtlsRole::kServer);
  CHECK(nb.dtls_role == DtlsRole::kClient);
  CHECK(na.ice_controlling);
  CHECK_FALSE(nb.ice_controlling);
  CHECK(na.remote_fingerprint == b.fingerprint);
  CHECK(nb.remote_fingerprint == a.fingerprint);
  CHECK(na.remote_ice_pwd == b.ice_pwd);
  CHECK(na.find(MediaKind::kVideo)->codecs.size() == 1);
  CHECK(na.find(MediaKind::kVideo)->codecs[0].codec == CodecType::kVp9);
  CHECK(na.find(MediaKind::kAudio)->red_payload_type == 63);
  CHECK(na.find(MediaKind::kApplication)->remote_sctp_port == 5000);
  auto ca = to_endpoint_config(na, a);
  auto cb = to_endpoint_config(nb, b);
  REQUIRE_MESSAGE(ca.ok(), std::string(ca.error()));
  REQUIRE_MESSAGE(cb.ok(), std::string(cb.error()));
  CHECK(ca->send.video == CodecType::kVp9);
  CHECK(cb->receive.video == CodecType::kVp9);
  CHECK(ca->payload_types.vp9 == 98);
  CHECK(ca->payload_types.video_rtx == 99);
  CHECK(cb->payload_types.video_rtx == 99);
  CHECK(ca->send.protection.red);
  CHECK(ca->local.video == cb->remote.video);
  CHECK(ca->local.video_rtx == cb->remote.video_rtx);
  CHECK(cb->local.audio == ca->remote.audio);
  CHECK(ca->extension_ids.mid == cb->extension_ids.mid);
  CHECK(ca->congestion == cb->congestion);
}

// pion and aiortc answer recvonly for a kind they have no track of (pion with no SSRC): the
// offerer's view must narrow its sendrecv offer to sendonly, not keep expecting the peer's media.
TEST_CASE("a recvonly answer makes the offerer's section sendonly (no remote SSRC needed)") {
  LocalCapabilities a = capabilities("aaaa", 0x11);
  LocalCapabilities b = capabilities("bbbb", 0x22);
  b.send_audio = false;
  const SessionDescription offer = create_offer(a);
  auto answer = create_answer(offer, b);
  REQUIRE_MESSAGE(answer.ok(), std::string(answer.error()));
  CHECK(answer->negotiated.find(MediaKind::kAudio)->direction == Direction::kRecvOnly);
  const NegotiatedSession na = offerer_view(offer, answer->description);
  CHECK(na.find(MediaKind::kAudio)->direction == Direction::kSendOnly);
  CHECK(na.find(MediaKind::kVideo)->direction == Direction::kSendRecv);
  auto ca = to_endpoint_config(na, a);
  REQUIRE_MESSAGE(ca.ok(), std::string(ca.error()));
  CHECK(ca->send.audio.has_value());
  CHECK_FALSE(ca->receive.audio.has_value());
  CHECK(ca->receive.video.has_value());
}
