// TURN ChannelData framing (RFC 8656 12.4, 12.5): channel range, UDP padding tolerance, TCP padding.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tern/ice/channel_data.h"
#include "tern/ice/stun_stream_framer.h"

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
  CHECK(reason({0x3F, 0xFF, 0x00, 0x00}) == "not a channel number");
  CHECK(reason({0x50, 0x00, 0x00, 0x00}) == "reserved channel number");
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

TEST_CASE("ChannelData golden bytes (RFC 8656 12.4 layout): channel, length, data, TCP padding with zeros") {
  const std::vector<uint8_t> abc = {'a', 'b', 'c'};
  std::vector<uint8_t> udp, tcp;
  REQUIRE(ChannelData::write(0x4001, abc, false, udp).ok());
  REQUIRE(ChannelData::write(0x4001, abc, true, tcp).ok());
  CHECK(udp == std::vector<uint8_t>{0x40, 0x01, 0x00, 0x03, 'a', 'b', 'c'});
  CHECK(tcp == std::vector<uint8_t>{0x40, 0x01, 0x00, 0x03, 'a', 'b', 'c', 0x00});
  // The length field counts the data only, never the padding.
  const std::vector<uint8_t> four = {1, 2, 3, 4};
  std::vector<uint8_t> exact;
  REQUIRE(ChannelData::write(0x4FFF, four, true, exact).ok());
  CHECK(exact == std::vector<uint8_t>{0x4F, 0xFF, 0x00, 0x04, 1, 2, 3, 4});
}

TEST_CASE("ChannelData channel range, every number: 0x4000-0x4FFF valid, 0x5000-0xFFFF reserved and dropped") {
  // RFC 8656 12; with kMaxChannelRfc5766 (a server serving RFC 5766 clients) up to 0x7FFF.
  int accepted = 0, accepted_5766 = 0, written = 0;
  for (uint32_t c = 0; c <= 0xFFFF; ++c) {
    const auto n = static_cast<uint16_t>(c);
    const std::vector<uint8_t> msg = {static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n), 0x00, 0x01, 0x7A};
    const bool ok = ChannelData::parse(msg).ok();
    const bool ok_5766 = ChannelData::parse(msg, ChannelData::kMaxChannelRfc5766).ok();
    CHECK(ok == (n >= 0x4000 && n <= 0x4FFF));
    CHECK(ok_5766 == (n >= 0x4000 && n <= 0x7FFF));
    accepted += ok;
    accepted_5766 += ok_5766;
    std::vector<uint8_t> out;
    if (ChannelData::write(n, std::vector<uint8_t>{0x7A}, false, out, ChannelData::kMaxChannelRfc5766).ok()) {
      ++written;
      CHECK(out == msg);  // write and parse agree byte for byte
    }
    CHECK(ChannelData::looks_like_channel_data(msg[0]) == (n >= 0x4000 && n <= 0x7FFF));
  }
  CHECK(accepted == 0x1000);
  CHECK(accepted_5766 == 0x4000);
  CHECK(written == 0x4000);
}

TEST_CASE("A reserved channel number in a TCP stream is framed by its length, then dropped, the stream stays in step") {
  std::vector<uint8_t> stream;
  REQUIRE(ChannelData::write(0x4000, std::vector<uint8_t>{1}, true, stream).ok());
  REQUIRE(ChannelData::write(0x5ABC, std::vector<uint8_t>{2, 2}, true, stream, ChannelData::kMaxChannelRfc5766).ok());
  REQUIRE(ChannelData::write(0x4001, std::vector<uint8_t>{3, 3, 3}, true, stream).ok());
  StunStreamFramer framer;
  REQUIRE(framer.push(stream).ok());
  std::vector<uint16_t> kept;
  int dropped = 0;
  for (auto m = framer.next(); !m.empty(); m = framer.next()) {
    auto cd = ChannelData::parse(m);
    if (cd) {
      kept.push_back(cd->channel);
    } else {
      ++dropped;
      CHECK(std::string(cd.error()) == "reserved channel number");
    }
  }
  CHECK_FALSE(framer.failed());
  CHECK(kept == std::vector<uint16_t>{0x4000, 0x4001});
  CHECK(dropped == 1);
}
