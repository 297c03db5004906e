// SessionDescription: parses the SDP ffmpeg writes (captured samples; the live run is in
// interop_test.cpp), a WebRTC-style description with every modelled attribute, write -> parse
// round trips (also seeded random ones), tolerance of unknown lines and strictness with line
// numbers on malformed ones.
#include <doctest/doctest.h>

#include <string>

#include "tern/core/random.h"
#include "tern/transport/session_description.h"
#include "tern/transport/srtp_key.h"

using namespace tern;
using namespace tern::transport;

namespace {

// Written by `ffmpeg 5.1 ... -srtp_out_suite AES_CM_128_HMAC_SHA1_80 ... -f rtp ... -sdp_file`.
constexpr std::string_view kFfmpegSrtpVp8 =
    "v=0\r\n"
    "o=- 0 0 IN IP4 127.0.0.1\r\n"
    "s=No Name\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "a=tool:libavformat LIBAVFORMAT_VERSION\r\n"
    "m=video 5998 RTP/AVP 96\r\n"
    "b=AS:300\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\r\n";

constexpr std::string_view kFfmpegOpus =
    "v=0\n"
    "o=- 0 0 IN IP4 127.0.0.1\n"
    "s=No Name\n"
    "c=IN IP4 127.0.0.1\n"
    "t=0 0\n"
    "a=tool:libavformat LIBAVFORMAT_VERSION\n"
    "m=audio 5996 RTP/AVP 111\n"
    "b=AS:96\n"
    "a=rtpmap:111 opus/48000/2\n"
    "a=fmtp:111 sprop-stereo=1\n";

constexpr std::string_view kWebrtcLike =
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "a=msid-semantic: WMS\r\n"
    "m=audio 9 RTP/SAVPF 111 0\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:abcd\r\n"
    "a=mid:0\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level vad=on\r\n"
    "a=sendrecv\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=ssrc:1001 cname:audio@tern\r\n"
    "a=ssrc:1001 msid:stream track\r\n"
    "m=video 9 RTP/SAVPF 96 97\r\n"
    "c=IN IP6 ::1\r\n"
    "a=mid:1\r\n"
    "a=extmap:3/sendonly http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
    "a=recvonly\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtcp-fb:* nack\r\n"
    "a=rtcp-fb:96 nack pli\r\n"
    "a=rtcp-fb:96 ccm fir\r\n"
    "a=rtpmap:97 rtx/90000\r\n"
    "a=fmtp:97 apt=96\r\n"
    "a=crypto:1 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==\r\n"
    "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd|2^31\r\n"
    "a=ssrc:2002 cname:video@tern\r\n";

void CheckRoundTrip(const SessionDescription& sd) {
  const std::string text = sd.to_string();
  size_t line = 0;
  auto again = SessionDescription::parse(text, &line);
  REQUIRE_MESSAGE(again.ok(), again.error() << " at line " << line << "\n" << text);
  CHECK(*again == sd);
  CHECK(again->to_string() == text);
}

}  // namespace

TEST_CASE("sdp parses the SRTP VP8 description ffmpeg writes") {
  auto sd = SessionDescription::parse(kFfmpegSrtpVp8);
  REQUIRE_MESSAGE(sd.ok(), sd.error());
  CHECK(sd->session_name == "No Name");
  REQUIRE(sd->connection.has_value());
  CHECK(sd->connection->address == "127.0.0.1");
  REQUIRE(sd->media.size() == 1);
  const SdpMedia& m = sd->media[0];
  CHECK(m.media == "video");
  CHECK(m.port == 5998);
  CHECK(m.proto == "RTP/AVP");
  CHECK(m.bandwidth_as_kbps == 300u);
  REQUIRE(m.payload_types.size() == 1);
  CHECK(m.payload_types[0].payload_type == 96);
  CHECK(m.payload_types[0].encoding_name == "VP8");
  CHECK(m.payload_types[0].clock_rate == 90000);
  REQUIRE(m.cryptos.size() == 1);
  CHECK(m.cryptos[0].suite == "AES_CM_128_HMAC_SHA1_80");
  auto profile = srtp_profile_from_name(m.cryptos[0].suite);
  REQUIRE(profile.has_value());
  auto key = parse_sdes_key_params(m.cryptos[0].key_params, *profile);
  REQUIRE(key.ok());
  CHECK(hex_encode(*key) == "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d");
  CHECK(sd->other_lines == std::vector<std::string>{"a=tool:libavformat LIBAVFORMAT_VERSION"});
  CheckRoundTrip(*sd);
}

TEST_CASE("sdp parses the Opus description ffmpeg writes with LF endings") {
  auto sd = SessionDescription::parse(kFfmpegOpus);
  REQUIRE_MESSAGE(sd.ok(), sd.error());
  const SdpPayloadType* opus = sd->media.at(0).find_payload_type(111);
  REQUIRE(opus != nullptr);
  CHECK(opus->encoding_name == "opus");
  CHECK(opus->clock_rate == 48000);
  CHECK(opus->channels == 2);
  CHECK(opus->fmtp == "sprop-stereo=1");
  CheckRoundTrip(*sd);
}

TEST_CASE("sdp parses every modelled attribute") {
  size_t line = 0;
  auto sd = SessionDescription::parse(kWebrtcLike, &line);
  REQUIRE_MESSAGE(sd.ok(), sd.error() << " at line " << line);
  CHECK(sd->origin.session_id == 4611731400430051336ull);
  CHECK(sd->origin.session_version == 2);
  CHECK_FALSE(sd->connection.has_value());
  REQUIRE(sd->media.size() == 2);
  const SdpMedia& a = sd->media[0];
  CHECK(a.is_secure());
  CHECK(a.mid == std::optional<std::string>("0"));
  CHECK(a.rtcp_port == std::optional<uint16_t>(9));
  CHECK(a.rtcp_mux);
  CHECK(a.direction == SdpDirection::kSendRecv);
  REQUIRE(a.extmaps.size() == 1);
  CHECK(a.extmaps[0].id == 1);
  CHECK(a.extmaps[0].uri == "urn:ietf:params:rtp-hdrext:ssrc-audio-level");
  CHECK(a.extmaps[0].attributes == "vad=on");
  CHECK(a.find_payload_type(111)->rtcp_fb == std::vector<std::string>{"transport-cc"});
  CHECK(a.find_payload_type(111)->fmtp == "minptime=10;useinbandfec=1");
  CHECK(a.find_payload_type(0)->encoding_name == "PCMU");
  REQUIRE(a.ssrcs.size() == 1);
  CHECK(a.ssrcs[0].ssrc == 1001);
  CHECK(a.ssrcs[0].cname == "audio@tern");
  const SdpMedia& v = sd->media[1];
  CHECK(v.connection->address_type == "IP6");
  CHECK(v.direction == SdpDirection::kRecvOnly);
  CHECK(v.extmaps[0].direction == "sendonly");
  CHECK(v.find_payload_type(96)->rtcp_fb == std::vector<std::string>{"nack", "nack pli", "ccm fir"});
  CHECK(v.find_payload_type(97)->rtcp_fb == std::vector<std::string>{"nack"});
  CHECK(v.find_payload_type(97)->fmtp == "apt=96");
  REQUIRE(v.cryptos.size() == 2);
  CHECK(parse_sdes_key_params(v.cryptos[0].key_params, SrtpProfile::kAeadAes128Gcm).ok());
  CHECK(parse_sdes_key_params(v.cryptos[1].key_params, SrtpProfile::kAesCm128HmacSha1_80).ok());
  // "a=rtcp-fb:*" is expanded per payload type, so the written form differs from the input, but it
  // must parse back to the same description.
  const std::string text = sd->to_string();
  auto again = SessionDescription::parse(text);
  REQUIRE(again.ok());
  CHECK(*again == *sd);
}

TEST_CASE("sdp written by tern round trips") {
  SessionDescription sd;
  sd.origin.session_id = 42;
  sd.session_name = "tern-send";
  sd.connection = SdpConnection{"IP4", "127.0.0.1"};
  SdpMedia m;
  m.media = "video";
  m.port = 5020;
  m.proto = "RTP/SAVPF";
  SdpPayloadType vp8;
  vp8.payload_type = 96;
  vp8.encoding_name = "VP8";
  vp8.clock_rate = 90000;
  vp8.rtcp_fb = {"nack", "nack pli", "goog-remb"};
  m.payload_types.push_back(vp8);
  SdpPayloadType flexfec;
  flexfec.payload_type = 120;
  flexfec.encoding_name = "flexfec-03";
  flexfec.clock_rate = 90000;
  flexfec.fmtp = "repair-window=10000000";
  m.payload_types.push_back(flexfec);
  m.extmaps.push_back(SdpExtmap{3, "", "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", ""});
  m.cryptos.push_back(SdpCrypto{1, "AES_CM_128_HMAC_SHA1_80", "inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd", ""});
  m.ssrcs.push_back(SdpSsrc{287454020, "tern"});
  m.ssrcs.push_back(SdpSsrc{287454021, "tern"});
  m.ssrc_groups.push_back(SdpSsrcGroup{"FEC-FR", {287454020, 287454021}});
  m.rtcp_mux = true;
  m.direction = SdpDirection::kSendOnly;
  sd.media.push_back(m);
  CheckRoundTrip(sd);
  const std::string text = sd.to_string();
  CHECK(text.find("m=video 5020 RTP/SAVPF 96 120\r\n") != std::string::npos);
  CHECK(text.find("a=rtpmap:96 VP8/90000\r\n") != std::string::npos);
  CHECK(text.find("a=rtpmap:120 flexfec-03/90000\r\na=fmtp:120 repair-window=10000000\r\n") != std::string::npos);
  CHECK(text.find("a=ssrc:287454020 cname:tern\r\n") != std::string::npos);
  CHECK(text.find("a=ssrc:287454021 cname:tern\r\na=ssrc-group:FEC-FR 287454020 287454021\r\n") != std::string::npos);
  // Groups parse into their semantics and SSRCs (FID and FEC-FR side by side, as libwebrtc offers).
  auto parsed = SessionDescription::parse("v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nt=0 0\nm=video 5000 RTP/AVPF 96 97 120\n"
                                          "a=ssrc-group:FID 1 2\na=ssrc-group:FEC-FR 1 3\n");
  REQUIRE_MESSAGE(parsed.ok(), parsed.error());
  const SdpMedia& pm = parsed->media[0];
  CHECK(pm.other_lines.empty());
  REQUIRE(pm.find_ssrc_group("FEC-FR") != nullptr);
  CHECK(pm.find_ssrc_group("FEC-FR")->ssrcs == std::vector<uint32_t>{1, 3});
  CHECK(pm.find_ssrc_group("FID")->ssrcs == std::vector<uint32_t>{1, 2});
  CHECK(pm.find_ssrc_group("SIM") == nullptr);
}

TEST_CASE("sdp random descriptions survive write then parse") {
  Random rng(2024);
  for (int iter = 0; iter < 200; ++iter) {
    SessionDescription sd;
    sd.origin.session_id = rng.next_u64();
    sd.origin.session_version = static_cast<uint64_t>(rng.uniform_int(0, 1000));
    if (rng.bernoulli(0.5)) sd.connection = SdpConnection{"IP4", "10.0.0." + std::to_string(rng.uniform_int(1, 254))};
    const int media = static_cast<int>(rng.uniform_int(0, 3));
    for (int k = 0; k < media; ++k) {
      SdpMedia m;
      m.media = rng.bernoulli(0.5) ? "audio" : "video";
      m.port = static_cast<uint16_t>(rng.uniform_int(0, 65535));
      m.proto = rng.bernoulli(0.5) ? "RTP/AVP" : "RTP/SAVPF";
      const int pts = static_cast<int>(rng.uniform_int(1, 4));
      for (int j = 0; j < pts; ++j) {
        SdpPayloadType p;
        p.payload_type = static_cast<uint8_t>(96 + k * 8 + j);
        if (rng.bernoulli(0.8)) {
          p.encoding_name = "X" + std::to_string(j);
          p.clock_rate = static_cast<uint32_t>(rng.uniform_int(1, 96000));
          p.channels = static_cast<uint16_t>(rng.uniform_int(0, 2));
        }
        if (rng.bernoulli(0.3)) p.fmtp = "a=" + std::to_string(rng.uniform_int(0, 9));
        if (rng.bernoulli(0.3)) p.rtcp_fb = {"nack"};
        m.payload_types.push_back(p);
      }
      if (rng.bernoulli(0.5)) m.ssrcs.push_back(SdpSsrc{rng.next_u32(), "c" + std::to_string(k)});
      if (rng.bernoulli(0.5)) m.extmaps.push_back(SdpExtmap{static_cast<uint8_t>(rng.uniform_int(1, 255)), "", "urn:x", ""});
      m.rtcp_mux = rng.bernoulli(0.5);
      if (rng.bernoulli(0.5)) m.bandwidth_as_kbps = static_cast<uint32_t>(rng.uniform_int(0, 100000));
      sd.media.push_back(m);
    }
    CheckRoundTrip(sd);
  }
}

TEST_CASE("sdp malformed lines are rejected with their line number") {
  struct Case {
    std::string text;
    size_t line;
  };
  const std::string head = "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nt=0 0\n";
  const Case cases[] = {
      {"", 0},
      {"o=- 0 0 IN IP4 1.2.3.4\n", 1},                         // v= must come first
      {"v=1\n", 1},
      {"v=0\nv=0\n", 2},
      {"v=0\no=- x 0 IN IP4 1.2.3.4\n", 2},
      {head + "c=IN IP4\n", 5},
      {head + "m=video\n", 5},
      {head + "m=video 70000 RTP/AVP 96\n", 5},
      {head + "m=video 5000 RTP/AVP 128\n", 5},
      {head + "m=video 5000 RTP/AVP vp8\n", 5},
      {head + "m=video 5000 RTP/AVP 96 96\n", 5},
      {head + "m=video 5000 RTP/AVP 96\na=rtpmap:96 VP8\n", 6},
      {head + "m=video 5000 RTP/AVP 96\na=rtpmap:96 VP8/0\n", 6},
      {head + "m=video 5000 RTP/AVP 96\na=rtpmap:96 opus/48000/0\n", 6},
      {head + "m=video 5000 RTP/AVP 96\na=rtpmap:300 VP8/90000\n", 6},
      {head + "m=video 5000 RTP/AVP 96\na=extmap:0 urn:x\n", 6},
      {head + "m=video 5000 RTP/AVP 96\na=extmap:1/sideways urn:x\n", 6},
      {head + "m=video 5000 RTP/AVP 96\na=extmap:1 urn:x\na=extmap:1 urn:y\n", 7},
      {head + "m=video 5000 RTP/AVP 96\na=crypto:1 AES_CM_128_HMAC_SHA1_80\n", 6},
      {head + "m=video 5000 RTP/AVP 96\na=ssrc:abc cname:x\n", 6},
      {head + "m=video 5000 RTP/AVP 96\na=ssrc-group:FEC-FR\n", 6},
      {head + "m=video 5000 RTP/AVP 96\na=ssrc-group:FEC-FR 1 x\n", 6},
      {head + "m=video 5000 RTP/AVP 96\na=ssrc-group:SIM 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n", 6},
      {head + "m=video 5000 RTP/AVP 96\nb=AS:fast\n", 6},
      {head + "m=video 5000 RTP/AVP 96\nbogus\n", 6},
      {head + "m=video 5000 RTP/AVP 96\ns=again\n", 6},
      {head + "Q=upper\n", 5},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    size_t line = 999;
    auto sd = SessionDescription::parse(c.text, &line);
    CHECK_FALSE(sd.ok());
    CHECK(line == c.line);
    CHECK(std::string(sd.error()).rfind("sdp: ", 0) == 0);
  }
}

TEST_CASE("sdp addresses with control characters are rejected and shown escaped") {
  // A stray '\r' (CR CR LF line end) must not become part of the address, nor reach a terminal raw.
  const std::string text = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\r\nt=0 0\r\n"
                           "m=video 5000 RTP/AVP 96\r\n";
  size_t line = 0;
  auto sd = SessionDescription::parse(text, &line);
  REQUIRE_FALSE(sd.ok());
  CHECK(line == 4);
  const std::string reason = sd.error();
  CHECK(reason == "sdp: malformed c= line: address '127.0.0.1\\r' has a control character");
  CHECK(reason.find('\r') == std::string::npos);
  auto origin = SessionDescription::parse("v=0\no=- 0 0 IN IP4 10.0.0.1\x1b[2J\ns=x\nt=0 0\n", &line);
  REQUIRE_FALSE(origin.ok());
  CHECK(std::string(origin.error()) == "sdp: malformed o= line: address '10.0.0.1\\x1b[2J' has a control character");
}

TEST_CASE("sdp tolerates unknown lines and attributes") {
  const std::string text =
      "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\ni=info\nu=http://x\nt=0 0\nr=7d 1h 0 25h\nz=0 0\n"
      "a=recvonly\n\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\na=sctp-port:5000\n"
      "m=video 5000 RTP/AVP 96\na=framerate:30\na=rtpmap:99 H264/90000\na=fmtp:98 x=1\n"
      "a=rtcp-fb:97 nack\na=ssrc:5 msid:a b\nk=clear:x\n";
  auto sd = SessionDescription::parse(text);
  REQUIRE_MESSAGE(sd.ok(), sd.error());
  CHECK(sd->direction == SdpDirection::kRecvOnly);
  REQUIRE(sd->media.size() == 2);
  CHECK(sd->media[0].payload_types.empty());
  CHECK(sd->media[1].other_lines.size() == 6);
  CHECK(sd->media[1].find_payload_type(96)->encoding_name.empty());
  CheckRoundTrip(*sd);
  CHECK_FALSE(SessionDescription::parse(std::string(SessionDescription::kMaxSize + 1, 'a')).ok());
}
