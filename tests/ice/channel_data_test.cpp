// TURN ChannelData framing (RFC 8656 12.4, 12.5): channel range, UDP padding tolerance, TCP padding.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tern/ice/channel_data.h"

using namespace tern;
using namespace tern::ice;

TEST_CASE("ChannelData round trip - padded and unpadded") {
  const std::vector<uint8_t> payload = {1, 2, 3, 4, 5};
  std::vector<uint8_t> udp;
  REQUIRE(ChannelData::write(0x4001, payload, false, udp).ok());
  CHECK(udp.size() == 4 + 5);
  CHECK(udp[0] == 0x40);
  std::vector<uint8_t> tcp;
  REQUIRE(ChannelData::write(0x4FFF, payload, true, tcp).ok());
  CHECK(tcp.size() == 4 + 8);
  CHECK(ChannelData::stream_size(tcp) == tcp.size());
  CHECK(ChannelData::stream_size(udp) == 12);
  for (const auto* bytes : {&udp, &tcp}) {
    auto c = ChannelData::parse(*bytes);
    REQUIRE(c.ok());
    CHECK(std::vector<uint8_t>(c->data.begin(), c->data.end()) == payload);
  }
  CHECK(ChannelData::parse(tcp)->channel == 0x4FFF);
}

TEST_CASE("ChannelData malformed input") {
  auto reason = [](std::vector<uint8_t> b) {
    auto c = ChannelData::parse(b);
    return c.ok() ? std::string("ok") : std::string(c.error());
  };
  CHECK(reason({0x40, 0x00, 0x00}) == "ChannelData too short");
  CHECK(reason({0x40, 0x00, 0x00, 0x00}) == "ok");  // empty data is allowed
  CHECK(reason({0x3F, 0xFF, 0x00, 0x00}) == "bad channel number");
  CHECK(reason({0x50, 0x00, 0x00, 0x00}) == "bad channel number");
  CHECK(reason({0x40, 0x00, 0x00, 0x02, 0x01}) == "ChannelData length exceeds packet");
  CHECK(reason({0x40, 0x00, 0x00, 0x01, 0x01, 0, 0, 0}) == "ok");
  CHECK(reason({0x40, 0x00, 0x00, 0x01, 0x01, 0, 0, 0, 0}) == "more than 3 bytes after ChannelData");
  std::vector<uint8_t> out;
  CHECK_FALSE(ChannelData::write(0x3000, {}, false, out).ok());
  CHECK(out.empty());
  std::vector<uint8_t> big(70000);
  CHECK_FALSE(ChannelData::write(0x4000, big, false, out).ok());
  CHECK(out.empty());
}
