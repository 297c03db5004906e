// a=rid / a=simulcast (RFC 8851, 8853): typed readings and their bounds, and the answer to a
// Chromium-form simulcast offer (tests/sdp/data/chromium156_simulcast_offer.sdp: Chromium 156's
// offer with its video SSRC lines replaced by the rid lines sendEncodings with three rids write).
#include <doctest/doctest.h>

#include <string>

#include "sdp_test_data.h"
#include "tern/rtp/header_extensions.h"
#include "tern/sdp/jsep_negotiator.h"
#include "tern/sdp/webrtc_attributes.h"

using namespace tern;
using namespace tern::sdp;

TEST_CASE("sdp simulcast: a=rid and a=simulcast parse, write back and refuse what the RFCs do not allow") {
  auto r = Rid::parse("hi-res_1 send pt=96;max-width=1280");
  REQUIRE(r.ok());
  CHECK(r->id == "hi-res_1");
  CHECK(r->send);
  CHECK(r->restrictions == "pt=96;max-width=1280");
  CHECK(r->to_value() == "hi-res_1 send pt=96;max-width=1280");
  CHECK(Rid::parse("q recv")->to_value() == "q recv");
  CHECK(!Rid::parse("q").ok());
  CHECK(!Rid::parse("q both").ok());
  CHECK(!Rid::parse("a.b send").ok());                   // not ALPHA DIGIT - _
  CHECK(!Rid::parse("abcdefghijklmnopq send").ok());     // 17 > kMaxRidLength
  CHECK(Rid::parse("abcdefghijklmnop send").ok());

  auto s = Simulcast::parse("send q;~h,h2;f recv x");
  REQUIRE(s.ok());
  REQUIRE(s->send.size() == 3);
  CHECK(s->send[1].size() == 2);
  CHECK(s->send[1][0].paused);
  CHECK(s->send[1][0].rid == "h");
  CHECK(!s->send[1][1].paused);
  CHECK(s->recv.size() == 1);
  CHECK(s->to_value() == "send q;~h,h2;f recv x");
  CHECK(Simulcast::parse(s->to_value())->send == s->send);
  CHECK(!Simulcast::parse("send").ok());
  CHECK(!Simulcast::parse("send a;b;c;d;e").ok());  // more than kMaxRids streams
  CHECK(!Simulcast::parse("send a,b,c,d,e").ok());  // more than kMaxRids alternatives
  CHECK(!Simulcast::parse("send a;;b").ok());        // an empty rid
  CHECK(!Simulcast::parse("send a recv b send c").ok());
  CHECK(!Simulcast::parse("send a send b").ok());
  CHECK(!Simulcast::parse("sendrecv a").ok());
  CHECK(!Simulcast::parse("send ~").ok());
  CHECK(Simulcast::parse("recv a;b;c;d").ok());
}

TEST_CASE("sdp simulcast: the answer to a three-rid offer receives it, keeps the rid extensions and says which rids") {
  auto offer = SessionDescription::parse(test::read_sdp_data("chromium156_simulcast_offer.sdp"));
  REQUIRE_MESSAGE(offer.ok(), offer.error());
  LocalCapabilities local;
  local.ice_ufrag = "abcd";
  local.ice_pwd = "0123456789012345678901";
  local.fingerprint.algorithm = "sha-256";
  local.fingerprint.digest.assign(32, 0xAB);
  local.send_audio = false;
  local.send_video = false;

  // Without simulcast_receive: no rid lines, no rid extensions, no remote rids.
  auto plain = create_answer(*offer, local);
  REQUIRE_MESSAGE(plain.ok(), plain.error());
  const std::string plain_sdp = plain->description.to_string();
  CHECK(plain_sdp.find("a=simulcast") == std::string::npos);
  CHECK(plain_sdp.find("rtp-stream-id") == std::string::npos);
  REQUIRE(plain->negotiated.find(MediaKind::kVideo) != nullptr);
  CHECK(plain->negotiated.find(MediaKind::kVideo)->remote_rids.empty());

  local.simulcast_receive = true;
  auto a = create_answer(*offer, local);
  REQUIRE_MESSAGE(a.ok(), a.error());
  const std::string sdp = a->description.to_string();
  CHECK(sdp.find("a=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\na=simulcast:recv q;h;f\r\n") != std::string::npos);
  CHECK(sdp.find("a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n") != std::string::npos);
  CHECK(sdp.find("a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n") != std::string::npos);
  CHECK(sdp.find("a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n") != std::string::npos);
  const NegotiatedMedia* video = a->negotiated.find(MediaKind::kVideo);
  REQUIRE(video != nullptr);
  CHECK(video->remote_rids == std::vector<std::string>{"q", "h", "f"});
  CHECK(!video->remote_ssrc);
  // The audio section (no simulcast) is answered as before.
  const NegotiatedMedia* audio = a->negotiated.find(MediaKind::kAudio);
  REQUIRE(audio != nullptr);
  CHECK(audio->remote_rids.empty());
  // The offerer reads the answer back: it sends q, h and f.
  auto back = apply_answer(*offer, a->description);
  REQUIRE_MESSAGE(back.ok(), back.error());

  // Paused alternatives count as present; a stream whose rid has no a=rid line, and the lines
  // beyond the bounds, are left out; a simulcast line that does not parse is ignored whole.
  auto edit = [&](const std::string& from, const std::string& to) {
    std::string text = test::read_sdp_data("chromium156_simulcast_offer.sdp");
    const size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    auto o = SessionDescription::parse(text);
    REQUIRE(o.ok());
    auto r = create_answer(*o, local);
    REQUIRE(r.ok());
    return r->negotiated.find(MediaKind::kVideo)->remote_rids;
  };
  CHECK(edit("a=simulcast:send q;h;f", "a=simulcast:send ~q;h,x;f") == std::vector<std::string>{"q", "h", "f"});
  CHECK(edit("a=simulcast:send q;h;f", "a=simulcast:send q;zz;f") == std::vector<std::string>{"q", "f"});
  CHECK(edit("a=simulcast:send q;h;f", "a=simulcast:send q;h;f;a;b").empty());
  CHECK(edit("a=simulcast:send q;h;f", "a=simulcast:send q;h!;f").empty());
  CHECK(edit("a=rid:h send", "a=rid:h recv") == std::vector<std::string>{"q", "f"});
}
