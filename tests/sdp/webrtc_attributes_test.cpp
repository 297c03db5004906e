// The typed WebRTC attribute readings: values from the captured offers parse and write back the
// same; malformed ones are refused with a reason.
#include <doctest/doctest.h>

#include "tern/sdp/webrtc_attributes.h"

using namespace tern::sdp;

TEST_CASE("typed attributes parse, write back and refuse malformed values") {
  auto rtpmap = RtpMap::parse("111 opus/48000/2");
  REQUIRE(rtpmap.ok());
  CHECK(rtpmap->payload_type == 111);
  CHECK(rtpmap->encoding == "opus");
  CHECK(rtpmap->clock_rate == 48000);
  CHECK(rtpmap->channels == 2);
  CHECK(rtpmap->to_value() == "111 opus/48000/2");
  CHECK(RtpMap::parse("96 VP8/90000")->channels == 0);
  CHECK_FALSE(RtpMap::parse("128 VP8/90000").ok());
  CHECK_FALSE(RtpMap::parse("96 VP8").ok());
  CHECK_FALSE(RtpMap::parse("96 VP8/0").ok());

  auto fmtp = Fmtp::parse("102 level-asymmetry-allowed=1; packetization-mode=1;profile-level-id=42001f");
  REQUIRE(fmtp.ok());
  CHECK(fmtp->parameter("PACKETIZATION-MODE") == "1");
  CHECK(fmtp->parameter("profile-level-id") == "42001f");
  CHECK(fmtp->parameter("apt") == std::nullopt);
  CHECK(Fmtp::parse("97 apt=96")->parameter("apt") == "96");
  CHECK(Fmtp::parse("63 111/111")->parameters == "111/111");

  auto fb = RtcpFb::parse("111 transport-cc ");  // pion writes a trailing space
  REQUIRE(fb.ok());
  CHECK(fb->to_value() == "111 transport-cc");
  CHECK(RtcpFb::parse("96 nack pli")->parameter == "pli");
  CHECK(RtcpFb::parse("* ccm fir")->payload_type == std::nullopt);
  CHECK_FALSE(RtcpFb::parse("96").ok());

  auto ext = ExtMap::parse("5/recvonly http://example.com/x attr");
  REQUIRE(ext.ok());
  CHECK(ext->id == 5);
  CHECK(ext->direction == Direction::kRecvOnly);
  CHECK(ext->uri == "http://example.com/x");
  CHECK(ext->attributes == "attr");
  CHECK(ext->to_value() == "5/recvonly http://example.com/x attr");
  CHECK_FALSE(ExtMap::parse("0 urn:x").ok());
  CHECK_FALSE(ExtMap::parse("300 urn:x").ok());
  CHECK_FALSE(ExtMap::parse("5/sideways urn:x").ok());

  auto ssrc = SsrcAttribute::parse("602967719 msid:eea1 0b01");
  REQUIRE(ssrc.ok());
  CHECK(ssrc->ssrc == 602967719u);
  CHECK(ssrc->attribute == "msid");
  CHECK(ssrc->value == "eea1 0b01");
  CHECK_FALSE(SsrcAttribute::parse("4294967296 cname:x").ok());
  auto group = SsrcGroup::parse("FID 218064772 107134184");
  REQUIRE(group.ok());
  CHECK(group->ssrcs == std::vector<uint32_t>{218064772u, 107134184u});
  CHECK(group->to_value() == "FID 218064772 107134184");
  CHECK(Group::parse("BUNDLE 0 1 2")->mids.size() == 3);
  CHECK(Msid::parse("- track")->stream_id == "-");
  CHECK_FALSE(Msid::parse("a b c").ok());

  CHECK(direction_from_name("recvonly") == Direction::kRecvOnly);
  CHECK(make_direction(false, true) == Direction::kRecvOnly);
  CHECK(make_direction(true, false) == Direction::kSendOnly);

  // Candidates: Chromium's host UDP and TCP lines, a srflx with its base, an mDNS host.
  const char* host = "3333011353 1 udp 2122260223 127.0.0.1 37669 typ host generation 0 network-id 1 network-cost 50";
  auto c = SdpCandidate::parse(host);
  REQUIRE(c.ok());
  CHECK(c->candidate.foundation == "3333011353");
  CHECK(c->candidate.component == 1);
  CHECK(c->candidate.priority == 2122260223u);
  CHECK(c->candidate.address == tern::ice::TransportAddress::V4(127, 0, 0, 1, 37669));
  CHECK(c->candidate.type == tern::ice::CandidateType::kHost);
  CHECK(c->extension("network-cost") == "50");
  CHECK(c->to_value() == host);
  auto tcp = SdpCandidate::parse("3093714177 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0");
  REQUIRE(tcp.ok());
  CHECK(tcp->transport == "tcp");
  CHECK(tcp->extension("tcptype") == "active");
  const char* srflx = "842163049 1 udp 1677729535 2001:db8::5 61665 typ srflx raddr 2001:db8::1 rport 50000 generation 0";
  auto s = SdpCandidate::parse(srflx);
  REQUIRE(s.ok());
  CHECK(s->candidate.type == tern::ice::CandidateType::kServerReflexive);
  CHECK(s->candidate.related.port == 50000);
  CHECK(s->to_value() == srflx);
  auto mdns = SdpCandidate::parse("1 1 UDP 2122260223 1f4712db-ea17-4bcf-a596-105139dfd8bf.local 54400 typ host");
  REQUIRE(mdns.ok());
  CHECK(mdns->candidate.hostname == "1f4712db-ea17-4bcf-a596-105139dfd8bf.local");
  CHECK(mdns->candidate.address.port == 54400);
  CHECK_FALSE(SdpCandidate::parse("1 1 udp 1 example.com 5 typ host").ok());
  CHECK_FALSE(SdpCandidate::parse("1 1 sctp 1 1.2.3.4 5 typ host").ok());
  CHECK_FALSE(SdpCandidate::parse("1 1 udp 1 1.2.3.4 5 type host").ok());
  CHECK_FALSE(SdpCandidate::parse("1 1 udp 1 1.2.3.4 5 typ host generation").ok());
  CHECK_FALSE(SdpCandidate::parse("1 0 udp 1 1.2.3.4 5 typ host").ok());
}
