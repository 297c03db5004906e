#include <doctest/doctest.h>

#include <unordered_set>

#include "tern/core/ip_address.h"

using namespace tern;

TEST_CASE("IpAddress parses and prints IPv4 and RFC 5952 IPv6") {
  auto v4 = IpAddress::Parse("192.0.2.33");
  REQUIRE(v4.ok());
  CHECK(v4->is_v4());
  CHECK(v4->v4() == 0xC0000221u);
  CHECK(v4->to_string() == "192.0.2.33");
  CHECK(*v4 == IpAddress::V4(192, 0, 2, 33));

  const char* round_trips[] = {"2001:db8::1", "::1", "::", "fe80::1:2:3:4", "2001:db8:0:1:1:1:1:1", "1::"};
  for (const char* text : round_trips) {
    auto a = IpAddress::Parse(text);
    REQUIRE_MESSAGE(a.ok(), text);
    CHECK(a->to_string() == text);
  }
  CHECK(IpAddress::Parse("2001:0db8:0000:0000:0000:0000:0000:0001")->to_string() == "2001:db8::1");
  CHECK(IpAddress::Parse("[::ffff:192.0.2.1]")->to_string() == "::ffff:c000:201");
  CHECK(IpAddress::Parse("2001:db8:0:0:1:0:0:1")->to_string() == "2001:db8::1:0:0:1");  // first longest run

  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.x", "1::2::3", "12345::", ":1:2",
                          "1:2:3:4:5:6:7:8:9", "g::1", "1.2.3.4:"}) {
    CHECK_MESSAGE(!IpAddress::Parse(bad).ok(), bad);
  }
}

TEST_CASE("IpAddress classifies loopback and private ranges") {
  CHECK(IpAddress::Parse("127.0.0.1")->is_loopback());
  CHECK(IpAddress::Parse("::1")->is_loopback());
  CHECK(IpAddress::Parse("10.1.2.3")->is_private());
  CHECK(IpAddress::Parse("172.31.0.1")->is_private());
  CHECK(!IpAddress::Parse("172.32.0.1")->is_private());
  CHECK(IpAddress::Parse("192.168.0.1")->is_private());
  CHECK(IpAddress::Parse("fd00::1")->is_private());
  CHECK(IpAddress::Parse("fe80::1")->is_private());
  CHECK(!IpAddress::Parse("2001:db8::1")->is_private());
  CHECK(!IpAddress::Parse("8.8.8.8")->is_private());
}

TEST_CASE("TransportAddress round-trips, orders and hashes") {
  auto a = TransportAddress::Parse("192.0.2.1:3478");
  auto b = TransportAddress::Parse("[2001:db8::1]:3478");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->to_string() == "192.0.2.1:3478");
  CHECK(b->to_string() == "[2001:db8::1]:3478");
  CHECK(!TransportAddress::Parse("2001:db8::1:3478").ok());
  CHECK(!TransportAddress::Parse("192.0.2.1:65536").ok());
  CHECK(!TransportAddress::Parse("192.0.2.1").ok());
  CHECK(*a < *b);  // IPv4 orders before IPv6
  std::unordered_set<TransportAddress> set{*a, *b, *a};
  CHECK(set.size() == 2);
}
