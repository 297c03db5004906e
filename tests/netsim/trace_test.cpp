#include <doctest/doctest.h>

#include <string>

#include "tern/core/random.h"
#include "tern/netsim/delivery_trace.h"
#include "tern/netsim/link.h"
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
  // The format is told by the first line with content: one field, not "<ms> <kbps>".
  CHECK(DeliveryTrace::LooksLike("# mahimahi\n\n  12\r\n13\n"));
  CHECK_FALSE(DeliveryTrace::LooksLike("# ms kbps\n0 800\n"));
  CHECK_FALSE(DeliveryTrace::LooksLike("0\t800\n"));
  CHECK_FALSE(DeliveryTrace::LooksLike("# nothing\n\n"));
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

TEST_CASE("Trace mean rates integrate over an interval, a delivery trace looping as the link serves it") {
  auto r = RateTrace::Parse("0 1000\n1000 0\n1500 500\n");
  REQUIRE(r.ok());
  CHECK(r->mean_rate(0_ms, 1000_ms) == 1000_kbps);
  CHECK(r->mean_rate(500_ms, 1500_ms) == 500_kbps);     // half at 1000, half outage
  CHECK(r->mean_rate(0_ms, 2000_ms) == 625_kbps);       // (1000 + 0 + 250) kbit / 2 s
  CHECK(r->mean_rate(1500_ms, 100_s) == 500_kbps);      // the last rate holds
  CHECK(r->mean_rate(700_ms, 700_ms) == DataRate::Zero());

  // Opportunities at 2, 4, 4, 10 ms, then 12, 14, 14, 20 ms, ...: each 1500 bytes = 12000 bits.
  auto d = DeliveryTrace::Parse("2\n4\n4\n10\n");
  REQUIRE(d.ok());
  CHECK(d->mean_rate(0_ms, 10_ms) == DataRate::BitsPerSec(3 * 12000 * 100));   // 2, 4, 4 (10 is not < 10)
  CHECK(d->mean_rate(0_ms, 11_ms).bps_f() == doctest::Approx(4 * 12000 / 0.011).epsilon(1e-6));  // 10 included
  CHECK(d->mean_rate(10_ms, 20_ms) == DataRate::BitsPerSec(4 * 12000 * 100));  // 10, 12, 14, 14
  CHECK(d->mean_rate(1_ms, 1001_ms) == d->average_rate());  // 100 whole periods
  CHECK(d->mean_rate(5_ms, 4_ms) == DataRate::Zero());
  // A link config's mean capacity follows whichever capacity model it has.
  LinkConfig c;
  c.capacity = 2000_kbps;
  CHECK(mean_capacity(c, 0_ms, 1_s) == 2000_kbps);
  c.rate_trace = std::make_shared<const RateTrace>(*r);
  CHECK(mean_capacity(c, 0_ms, 1_s) == 1000_kbps);
  c.delivery_trace = std::make_shared<const DeliveryTrace>(*d);
  CHECK(mean_capacity(c, 1_ms, 1001_ms) == d->average_rate());
}
