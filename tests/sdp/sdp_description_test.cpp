// The SDP model: real offers round-trip byte for byte, unknown attributes survive, malformed input
// is refused with a reason and a line number, and the documented bounds hold.
#include <doctest/doctest.h>

#include <string>

#include "sdp_test_data.h"
#include "tern/sdp/sdp_description.h"

using tern::sdp::Limits;
using tern::sdp::SessionDescription;

namespace {

std::string lf_only(std::string s) {
  std::string out;
  for (char c : s)
    if (c != '\r') out += c;
  return out;
}

constexpr const char* kHeader = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

}  // namespace

TEST_CASE("real offers round-trip byte for byte, from CRLF and from LF") {
  for (const char* name : {"chromium156_offer.sdp", "pion3_offer.sdp", "aiortc14_offer.sdp"}) {
    INFO(name);
    const std::string text = tern::test::read_sdp_data(name);
    REQUIRE(text.size() > 1000);
    size_t line = 0;
    auto sd = SessionDescription::parse(text, &line);
    REQUIRE_MESSAGE(sd.ok(), sd.error() << " at line " << line);
    CHECK(sd->media.size() == 3);
    CHECK(sd->to_string() == text);
    auto lf = SessionDescription::parse(lf_only(text));
    REQUIRE(lf.ok());
    CHECK(*lf == *sd);
  }
  auto sd = SessionDescription::parse(tern::test::read_sdp_data("chromium156_offer.sdp"));
  REQUIRE(sd.ok());
  CHECK(sd->origin.session_id == "7476808138667585991");
  CHECK(sd->value("group") == "BUNDLE 0 1 2");
  CHECK(sd->value("extmap-allow-mixed") == "");
  const auto& video = sd->media[1];
  CHECK(video.media == "video");
  CHECK(video.port == 55929);
  CHECK(video.proto == "UDP/TLS/RTP/SAVPF");
  CHECK(video.formats.size() == 23);
  CHECK(video.line('c')->value == "IN IP4 127.0.0.1");
  CHECK(video.values("candidate").size() == 2);
  CHECK(sd->media[2].formats == std::vector<std::string>{"webrtc-datachannel"});
}

TEST_CASE("unknown attributes and lines are kept in place") {
  const std::string text = std::string(kHeader) +
                           "a=x-session-thing:1 2 3\r\n"
                           "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
                           "c=IN IP4 0.0.0.0\r\n"
                           "b=AS:64\r\n"
                           "a=mid:0\r\n"
                           "a=x-tern-private:a:b:c\r\n"
                           "a=x-flag\r\n"
                           "a=rtpmap:111 opus/48000/2\r\n";
  auto sd = SessionDescription::parse(text);
  REQUIRE(sd.ok());
  CHECK(sd->to_string() == text);
  const auto& m = sd->media[0];
  REQUIRE(m.attributes.size() == 4);
  CHECK(m.attributes[1].name == "x-tern-private");
  CHECK(m.attributes[1].value == "a:b:c");  // split at the first colon only
  CHECK(m.attributes[2].value == std::nullopt);
  CHECK(m.line('b')->value == "AS:64");
  CHECK(sd->value("x-session-thing") == "1 2 3");
}

TEST_CASE("malformed descriptions are refused with a reason and the line") {
  struct Case {
    std::string text;
    const char* reason;
    size_t line;
  };
  const std::string h(kHeader);
  const Case cases[] = {
      {"", "ends before", 0},
      {"o=- 1 2 IN IP4 1.2.3.4\r\n", "first line is not v=", 1},
      {"v=1\r\n", "v= is not 0", 1},
      {"v=0\r\ns=-\r\n", "second line is not o=", 2},
      {"v=0\r\no=- x 2 IN IP4 1.2.3.4\r\ns=-\r\n", "digits", 2},
      {"v=0\r\no=- 1 2 IN IP4\r\ns=-\r\n", "6 fields", 2},
      {"v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=\r\n", "s= is empty", 3},
      {"v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\n", "ends before", 2},
      {h + "x=1\r\n", "unknown line type", 5},
      {h + "a\r\n", "not <type>=<value>", 5},
      {h + "\r\na=mid:0\r\n", "empty line", 5},
      {h + "a=:x\r\n", "no attribute name", 5},
      {h + "a=bad name:x\r\n", "outside token", 5},
      {h + "a=mid:0\x01\r\n", "control character", 5},
      {h + "m=audio 9 RTP/AVP\r\n", "at least one format", 5},
      {h + "m=audio 70000 RTP/AVP 0\r\n", "port is not", 5},
      {h + "m=audio 9/0 RTP/AVP 0\r\n", "number of ports", 5},
      {h + "m=audio 9  RTP/AVP 0\r\n", "at least one format", 5},
      {h + "m=audio 9 RTP/AVP 0\r\nt=0 0\r\n", "not allowed in a media section", 6},
      {h + "v=0\r\n", "v= repeated", 5},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    size_t line = 99;
    auto sd = SessionDescription::parse(c.text, &line);
    REQUIRE_FALSE(sd.ok());
    CHECK(std::string(sd.error()).find(c.reason) != std::string::npos);
    CHECK(line == c.line);
  }
  // A trailing blank line is tolerated; LF and CRLF may even mix.
  CHECK(SessionDescription::parse(h + "a=mid:0\n\r\n").ok());
}

TEST_CASE("bounds: size, lines, line length, sections, attributes, formats") {
  const std::string h(kHeader);
  auto refused = [](const std::string& text, const char* reason) {
    auto sd = SessionDescription::parse(text);
    REQUIRE_FALSE(sd.ok());
    CHECK(std::string(sd.error()).find(reason) != std::string::npos);
  };
  refused(h + "a=x:" + std::string(Limits::kMaxLineLength, 'y') + "\r\n", "line longer");
  CHECK(SessionDescription::parse(h + "a=x:" + std::string(Limits::kMaxLineLength - 4, 'y') + "\r\n").ok());
  refused(std::string(Limits::kMaxBytes + 1, 'a'), "larger than the limit");
  std::string many_lines = h;  // sections of 1000 attributes each, so only the line bound applies
  for (size_t i = 0; i < Limits::kMaxLines; ++i) many_lines += i % 1000 == 0 ? "m=audio 0 RTP/AVP 0\r\n" : "a=x\r\n";
  refused(many_lines, "more lines than the limit (8192)");
  std::string sections = h;
  for (size_t i = 0; i <= Limits::kMaxMediaSections; ++i) sections += "m=audio 0 RTP/AVP 0\r\n";
  refused(sections, "more media sections");
  std::string attrs = h + "m=audio 0 RTP/AVP 0\r\n";
  for (size_t i = 0; i <= Limits::kMaxAttributesPerSection; ++i) attrs += "a=x\r\n";
  refused(attrs, "more attributes");
  std::string formats = h + "m=video 9 RTP/AVP";
  for (size_t i = 0; i <= Limits::kMaxFormatsPerMedia; ++i) formats += " 96";
  refused(formats + "\r\n", "more formats");
}
