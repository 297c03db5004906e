#include "tern/core/reason_text.h"

#include <doctest/doctest.h>

#include <string>

using namespace tern;

TEST_CASE("lasting reasons outlive the string they were built from and are shared") {
  const char* a = nullptr;
  {
    std::string built = "udp: bind(127.0.0.1:" + std::to_string(5004) + ") failed";
    a = lasting_reason(built, "fallback");
  }
  CHECK(std::string(a) == "udp: bind(127.0.0.1:5004) failed");
  CHECK(lasting_reason("udp: bind(127.0.0.1:5004) failed", "fallback") == a);
}

TEST_CASE("printable escapes control characters, non-ASCII bytes and backslashes") {
  CHECK(printable("127.0.0.1") == "127.0.0.1");
  CHECK(printable("127.0.0.1\r") == "127.0.0.1\\r");
  CHECK(printable("a\nb\tc\\d") == "a\\nb\\tc\\\\d");
  CHECK(printable(std::string_view("\x1b[2J\x00\xff", 6)) == "\\x1b[2J\\x00\\xff");
}
