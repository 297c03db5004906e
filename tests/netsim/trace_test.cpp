#include <doctest/doctest.h>

#include <string>

#include "tern/core/random.h"
#include "tern/netsim/delivery_trace.h"
#include "tern/netsim/rate_trace.h"

using namespace tern;
using namespace tern::netsim;
using namespace tern::unit_literals;

TEST_CASE("RateTrace parses time/capacity lines with comments and CRLF") {
  size_t line = 0;
  auto t = RateTrace::Parse("# cellular uplink\r\n0 1000\r\n\r\n1500 250.5  # dip\n3000\t0\n", &line);
  REQUIRE(t.ok());
  REQUIRE(t->points().size() == 3);
  CHECK(t->points()[1].offset == 1500_ms);
  CHECK(t->points()[1].rate == DataRate::BitsPerSec(250500));
  CHECK(t->rate_at(-5_ms) == 1000_kbps);
  CHECK(t->rate_at(1499_ms) == 1000_kbps);
  CHECK(t->rate_at(1500_ms) == DataRate::BitsPerSec(250500));
  CHECK(t->rate_at(1000_s) == DataRate::Zero());
  CHECK(t->segment_end(0) == 1500_ms);
  CHECK(t->segment_end(2).is_plus_infinity());
}

TEST_CASE("RateTrace rejects malformed lines and reports the line") {
  struct Case {
    const char* text;
    size_t line;
  };
  const Case cases[] = {
      {"0 100\nabc 100\n", 2},  {"0 100\n10\n", 2},         {"0 100\n10 -5\n", 2},
      {"0 100\n10 1x\n", 2},    {"0 100\n10 100 7\n", 2},   {"0 100\n0 200\n", 2},
      {"5 100\n3 100\n", 2},    {"", 0},                    {"# only a comment\n", 1},
      {"-1 100\n", 1},          {"99999999999999999999 1\n", 1}, {"1 .\n", 1},
  };
  for (const Case& c : cases) {
    size_t line = 12345;
    auto t = RateTrace::Parse(c.text, &line);
    CAPTURE(std::string(c.text));
    CHECK_FALSE(t.ok());
    CHECK(std::string(t.error()).size() > 0);
    CHECK(line == c.line);
  }
}

TEST_CASE("RateTrace.Create validates points") {
  CHECK_FALSE(RateTrace::Create({}).ok());
  CHECK_FALSE(RateTrace::Create({{0_ms, 100_kbps}, {0_ms, 100_kbps}}).ok());
  CHECK_FALSE(RateTrace::Create({{0_ms, DataRate::BitsPerSec(-1)}}).ok());
  CHECK(RateTrace::Create({{0_ms, 100_kbps}, {1_ms, 0_kbps}}).ok());
}

TEST_CASE("DeliveryTrace parses mahimahi opportunities and repeated timestamps allowed") {
  auto t = DeliveryTrace::Parse("1\n1\n2\n# x\n5\n");
  REQUIRE(t.ok());
  CHECK(t->opportunities().size() == 4);
  CHECK(t->period() == 5_ms);
  // 4 x 1500 bytes per 5 ms = 9.6 Mbps.
  CHECK(t->average_rate() == DataRate::KilobitsPerSec(9600));
}

TEST_CASE("DeliveryTrace rejects malformed input") {
  const char* bad[] = {"", "0\n", "0\n0\n", "3\n2\n", "1\nx\n", "1 2\n", "1.5\n", "-3\n"};
  for (const char* text : bad) {
    CAPTURE(std::string(text));
    size_t line = 0;
    CHECK_FALSE(DeliveryTrace::Parse(text, &line).ok());
  }
  size_t line = 0;
  CHECK_FALSE(DeliveryTrace::Parse("1\n2\n\n1\n", &line).ok());
  CHECK(line == 4);
}

TEST_CASE("Trace parsers survive random garbage and mutated valid traces") {
  Random rng(20240601);
  const std::string alphabet = "0123456789 .\t\r\n#-x";
  for (int i = 0; i < 2000; ++i) {
    std::string text;
    const int64_t n = rng.uniform_int(0, 80);
    for (int64_t k = 0; k < n; ++k) text += alphabet[static_cast<size_t>(rng.uniform_int(0, alphabet.size() - 1))];
    size_t line = 0;
    auto r = RateTrace::Parse(text, &line);
    if (r.ok()) {
      for (size_t k = 1; k < r->points().size(); ++k) CHECK(r->points()[k].offset > r->points()[k - 1].offset);
    }
    auto d = DeliveryTrace::Parse(text, &line);
    if (d.ok()) CHECK(d->period() > TimeDelta::Zero());
  }
}
