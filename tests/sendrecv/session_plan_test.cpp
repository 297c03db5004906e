// tools/net: SDP <-> SessionPlan (no processes, no sockets).
#include <doctest/doctest.h>

#include <string>

#include "tern/core/random.h"
#include "tern/tools/net/session_plan.h"

namespace net = tern::tools::net;
using tern::transport::SessionDescription;
using tern::transport::SrtpProfile;

namespace {

net::SessionPlan Reparse(const net::SessionPlan& plan) {
  auto sdp = SessionDescription::parse(net::build_sdp(plan).to_string());
  REQUIRE_MESSAGE(sdp.ok(), sdp.error());
  auto back = net::plan_from_sdp(sdp.value());
  REQUIRE_MESSAGE(back.ok(), back.error());
  return back.value();
}

// The plan tern-recv makes of an SDP text (which must be usable).
net::SessionPlan PlanFrom(const std::string& text) {
  auto sdp = SessionDescription::parse(text);
  REQUIRE_MESSAGE(sdp.ok(), sdp.error());
  auto plan = net::plan_from_sdp(sdp.value());
  REQUIRE_MESSAGE(plan.ok(), plan.error());
  return plan.value();
}

}  // namespace

TEST_CASE("session plan survives build and parse with every feature") {
  net::SessionPlan plan;
  plan.port = 5004;
  plan.rtcp_mux = false;
  plan.video = tern::codecs::CodecType::kVp9;
  plan.audio = tern::codecs::CodecType::kOpus;
  plan.video_ssrc = 11;
  plan.video_rtx_ssrc = 12;
  plan.audio_ssrc = 13;
  plan.nack = plan.fec = plan.audio_red = plan.transport_cc = true;
  plan.srtp_profile = SrtpProfile::kAesCm128HmacSha1_80;
  plan.srtp_key.assign(30, 7);
  const net::SessionPlan back = Reparse(plan);
  CHECK(back.port == 5004);
  CHECK_FALSE(back.rtcp_mux);
  CHECK(back.video == plan.video);
  CHECK(back.audio == plan.audio);
  CHECK(back.video_ssrc == plan.video_ssrc);
  CHECK(back.video_rtx_ssrc == plan.video_rtx_ssrc);
  CHECK(back.audio_ssrc == plan.audio_ssrc);
  CHECK(back.nack);
  CHECK(back.fec);
  CHECK(back.audio_red);
  CHECK(back.transport_cc);
  CHECK(back.payload_types.vp9 == plan.payload_types.vp9);
  CHECK(back.payload_types.video_rtx == plan.payload_types.video_rtx);
  CHECK(back.extension_ids.transport_sequence_number == plan.extension_ids.transport_sequence_number);
  CHECK(back.srtp_profile == plan.srtp_profile);
  CHECK(back.srtp_key == plan.srtp_key);
}

TEST_CASE("seeded random plans survive build and parse") {
  tern::Random rng(42);
  for (int i = 0; i < 200; ++i) {
    net::SessionPlan plan;
    plan.port = static_cast<uint16_t>(rng.uniform_int(1, 65535));
    plan.rtcp_mux = rng.uniform_int(0, 1) == 1;
    if (rng.uniform_int(0, 1) == 1) plan.video = tern::codecs::CodecType::kVp8;
    if (!plan.video || rng.uniform_int(0, 1) == 1) plan.audio = tern::codecs::CodecType::kOpus;
    plan.payload_types.vp8 = static_cast<uint8_t>(rng.uniform_int(96, 110));
    plan.payload_types.opus = static_cast<uint8_t>(rng.uniform_int(111, 127));
    if (plan.video) plan.video_ssrc = static_cast<uint32_t>(rng.uniform_int(1, 1 << 30));
    if (plan.audio) plan.audio_ssrc = static_cast<uint32_t>(rng.uniform_int(1, 1 << 30));
    const net::SessionPlan back = Reparse(plan);
    CHECK(back.port == plan.port);
    CHECK(back.rtcp_mux == plan.rtcp_mux);
    CHECK(back.video == plan.video);
    CHECK(back.audio == plan.audio);
    if (plan.video) CHECK(back.payload_types.vp8 == plan.payload_types.vp8);
    if (plan.audio) CHECK(back.payload_types.opus == plan.payload_types.opus);
    CHECK(back.video_ssrc == plan.video_ssrc);
    CHECK(back.audio_ssrc == plan.audio_ssrc);
  }
}

TEST_CASE("ffmpeg SDP gives a plan without SSRCs and with its crypto key") {
  const char* text =
      "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=No Name\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
      "a=tool:libavformat LIBAVFORMAT_VERSION\r\nm=video 5018 RTP/SAVP 96\r\nb=AS:500\r\n"
      "a=rtpmap:96 VP8/90000\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\r\n";
  const net::SessionPlan plan = PlanFrom(text);
  CHECK(plan.port == 5018);
  CHECK(plan.video == tern::codecs::CodecType::kVp8);
  CHECK_FALSE(plan.video_ssrc.has_value());
  CHECK_FALSE(plan.rtcp_mux);
  REQUIRE(plan.srtp_key.size() == 30);
  for (size_t i = 0; i < 30; ++i) CHECK(plan.srtp_key[i] == i);
}

TEST_CASE("ffmpeg audio and video SDP gives one port per line with each line's key") {
  // What `ffmpeg ... -f rtp srtp://127.0.0.1:5911 ... -f rtp srtp://127.0.0.1:5913 -sdp_file` wrote
  // (ffmpeg 5.1: c= per m= line, RTP/AVP with a=crypto, one key per output).
  const char* text =
      "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=No Name\nt=0 0\na=tool:libavformat LIBAVFORMAT_VERSION\n"
      "m=video 5911 RTP/AVP 96\nc=IN IP4 127.0.0.1\nb=AS:500\na=rtpmap:96 VP8/90000\n"
      "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\n"
      "m=audio 5913 RTP/AVP 111\nc=IN IP4 127.0.0.1\nb=AS:64\na=rtpmap:111 opus/48000/2\n"
      "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:HRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgEA\n";
  const net::SessionPlan plan = PlanFrom(text);
  CHECK(plan.address == "127.0.0.1");
  CHECK(plan.port == 5911);
  CHECK(plan.audio_port == 5913);
  CHECK(plan.video == tern::codecs::CodecType::kVp8);
  CHECK(plan.audio == tern::codecs::CodecType::kOpus);
  CHECK_FALSE(plan.rtcp_mux);
  REQUIRE(plan.srtp_key.size() == 30);
  CHECK(plan.srtp_key[0] == 0);
  REQUIRE(plan.audio_srtp.has_value());
  CHECK(plan.audio_srtp->profile == SrtpProfile::kAesCm128HmacSha1_80);
  REQUIRE(plan.audio_srtp->key.size() == 30);
  for (size_t i = 0; i < 30; ++i) CHECK(plan.audio_srtp->key[i] == 29 - i);
  // Built back (tern-send --audio-port), the ports and both keys survive; the same key on both
  // lines leaves audio_srtp empty.
  const net::SessionPlan back = Reparse(plan);
  CHECK(back.port == 5911);
  CHECK(back.audio_port == 5913);
  CHECK(back.srtp_key == plan.srtp_key);
  REQUIRE(back.audio_srtp.has_value());
  CHECK(back.audio_srtp->key == plan.audio_srtp->key);
  net::SessionPlan one_key = plan;
  one_key.audio_srtp.reset();
  CHECK_FALSE(Reparse(one_key).audio_srtp.has_value());
  // Audio first in the SDP changes nothing.
  const std::string swapped = std::string(text).substr(0, std::string(text).find("m=video")) +
                              std::string(text).substr(std::string(text).find("m=audio")) +
                              std::string(text).substr(std::string(text).find("m=video"),
                                                       std::string(text).find("m=audio") - std::string(text).find("m=video"));
  const net::SessionPlan plan2 = PlanFrom(swapped);
  CHECK(plan2.port == 5911);
  CHECK(plan2.audio_port == 5913);
}

TEST_CASE("unusable SDPs are rejected with a reason") {
  const char* head = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n";
  const char* bodies[] = {
      "m=video 5000 RTP/AVP 34\r\n",                                              // no VP8/VP9/Opus
      "m=video 5000 RTP/SAVP 96\r\na=rtpmap:96 VP8/90000\r\n",                    // SAVP without crypto
      // one port's RTCP (5001) is the other's RTP
      "m=video 5000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\nm=audio 5001 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n",
      // different addresses
      "m=video 5000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\nm=audio 5002 RTP/AVP 111\r\nc=IN IP4 127.0.0.2\r\n"
      "a=rtpmap:111 opus/48000/2\r\n",
      // one line under SRTP, the other in the clear
      "m=video 5000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 "
      "inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\r\nm=audio 5002 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n",
      // one port under two keys
      "m=video 5000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 "
      "inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\r\nm=audio 5000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n"
      "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:HRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgEA\r\n",
      "m=audio 0 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n",  // disabled
      "m=video 5000 RTP/SAVP 96\r\na=rtpmap:96 VP8/90000\r\na=crypto:1 NOT_A_SUITE inline:AAAA\r\n",
      "m=video 5000 RTP/AVP 96 97\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\n",  // rtx without apt
  };
  for (const char* body : bodies) {
    CAPTURE(body);
    auto sdp = SessionDescription::parse(std::string(head) + body);
    REQUIRE(sdp.ok());
    CHECK_FALSE(net::plan_from_sdp(sdp.value()).ok());
  }
}

TEST_CASE("a sender that takes only FIR (ccm fir, no nack pli) gets FIR keyframe requests") {
  const char* head =
      "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 5018 RTP/AVP 96\r\n"
      "a=rtpmap:96 VP8/90000\r\n";
  CHECK(PlanFrom(std::string(head) + "a=rtcp-fb:96 ccm fir\r\n").use_fir);
  CHECK_FALSE(PlanFrom(std::string(head) + "a=rtcp-fb:96 ccm fir\r\na=rtcp-fb:96 nack pli\r\n").use_fir);  // PLI preferred
  CHECK_FALSE(PlanFrom(head).use_fir);  // neither: PLI, as RFC 4585 receivers do
  // tern-send offers both.
  net::SessionPlan plan;
  plan.port = 5004;
  plan.video = tern::codecs::CodecType::kVp8;
  plan.video_ssrc = 11;
  plan.transport_cc = true;
  const std::string sdp = net::build_sdp(plan).to_string();
  CHECK(sdp.find("ccm fir") != std::string::npos);
  CHECK(sdp.find("nack pli") != std::string::npos);
  CHECK_FALSE(Reparse(plan).use_fir);
}

TEST_CASE("NACK stays on with an RTX payload type: RTX SSRC from ssrc-group:FID, or none to learn later") {
  const std::string head =
      "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 5004 RTP/AVPF 96 97\r\n"
      "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\na=rtcp-mux\r\n";
  // FID only: no a=ssrc line at all.
  net::SessionPlan plan = PlanFrom(head + "a=ssrc-group:FID 1111 2222\r\n");
  CHECK(plan.nack);
  CHECK(plan.video_ssrc == 1111u);
  CHECK(plan.video_rtx_ssrc == 2222u);
  CHECK(plan.warnings.empty());
  // FID names the pair even when the a=ssrc lines come in another order.
  plan = PlanFrom(head + "a=ssrc:2222 cname:x\r\na=ssrc:1111 cname:x\r\na=ssrc-group:FID 1111 2222\r\n");
  CHECK(plan.video_ssrc == 1111u);
  CHECK(plan.video_rtx_ssrc == 2222u);
  // No SSRC anywhere: NACK on, both SSRCs learned from the packets.
  plan = PlanFrom(head);
  CHECK(plan.nack);
  CHECK_FALSE(plan.video_ssrc.has_value());
  CHECK_FALSE(plan.video_rtx_ssrc.has_value());
  CHECK(plan.warnings.empty());
  // RED without ULPFEC cannot be received: FEC off, with a warning.
  std::string red_only = head + "a=rtpmap:100 red/90000\r\n";
  red_only.replace(red_only.find("96 97\r\n"), 7, "96 97 100\r\n");
  plan = PlanFrom(red_only);
  CHECK_FALSE(plan.fec);
  REQUIRE(plan.warnings.size() == 1);
  CHECK(plan.warnings[0] == "the SDP's video line has red without ulpfec: FEC is off");
}

TEST_CASE("FlexFEC is negotiated from flexfec-03 with ssrc-group:FEC-FR, and only then") {
  net::SessionPlan plan;
  plan.port = 5004;
  plan.video = tern::codecs::CodecType::kVp8;
  plan.video_ssrc = 11;
  plan.video_rtx_ssrc = 12;
  plan.video_fec_ssrc = 14;
  plan.nack = plan.flexfec = true;
  plan.payload_types.flexfec = 118;
  const std::string text = net::build_sdp(plan).to_string();
  CHECK(text.find("a=rtpmap:118 flexfec-03/90000\r\na=fmtp:118 repair-window=10000000\r\n") != std::string::npos);
  CHECK(text.find("a=ssrc-group:FID 11 12\r\na=ssrc-group:FEC-FR 11 14\r\n") != std::string::npos);
  const net::SessionPlan back = Reparse(plan);
  CHECK(back.flexfec);
  CHECK_FALSE(back.fec);
  CHECK(back.payload_types.flexfec == 118);
  CHECK(back.video_ssrc == 11u);
  CHECK(back.video_rtx_ssrc == 12u);
  CHECK(back.video_fec_ssrc == 14u);
  CHECK(back.warnings.empty());

  const std::string head =
      "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 5004 RTP/AVPF 96 97 120\r\n"
      "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
      "a=rtpmap:120 flexfec-03/90000\r\na=ssrc:1111 cname:x\r\na=ssrc:3333 cname:x\r\n";
  // Without FEC-FR the repair stream is unknown: off, with a warning.
  net::SessionPlan p = PlanFrom(head);
  CHECK_FALSE(p.flexfec);
  REQUIRE(p.warnings.size() == 1);
  CHECK(p.warnings[0] == "the SDP offers flexfec-03 without a=ssrc-group:FEC-FR <media> <fec>: FlexFEC is off");
  p = PlanFrom(head + "a=ssrc-group:FEC-FR 1111 3333\r\n");
  CHECK(p.flexfec);
  CHECK(p.video_fec_ssrc == 3333u);
  CHECK_FALSE(p.video_rtx_ssrc.has_value());  // the FlexFEC a=ssrc is not taken for RTX's
  // A FEC-FR group without the flexfec-03 payload type (the peer lacks FlexFEC): off, silently.
  std::string no_pt = head + "a=ssrc-group:FEC-FR 1111 3333\r\n";
  no_pt.erase(no_pt.find("a=rtpmap:120 flexfec-03/90000\r\n"), 31);
  p = PlanFrom(no_pt);
  CHECK_FALSE(p.flexfec);
  CHECK_FALSE(p.video_fec_ssrc.has_value());
  // Beside ULPFEC, FlexFEC is off.
  std::string both = head + "a=rtpmap:100 red/90000\r\na=rtpmap:101 ulpfec/90000\r\na=ssrc-group:FEC-FR 1111 3333\r\n";
  both.replace(both.find("96 97 120\r\n"), 11, "96 97 120 100 101\r\n");
  p = PlanFrom(both);
  CHECK(p.fec);
  CHECK_FALSE(p.flexfec);
  REQUIRE(p.warnings.size() == 1);
  CHECK(p.warnings[0] == "the SDP's video line has both ULPFEC and flexfec-03: FlexFEC is off");
}
