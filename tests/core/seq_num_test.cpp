#include "tern/core/seq_num.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <map>

#include "tern/core/random.h"

using namespace tern;

TEST_CASE("seq_newer handles wraparound and the half-way case") {
  CHECK(seq_newer<uint16_t>(1, 0));
  CHECK_FALSE(seq_newer<uint16_t>(0, 1));
  CHECK(seq_newer<uint16_t>(0, 65535));
  CHECK(seq_newer<uint16_t>(5, 65530));
  CHECK_FALSE(seq_newer<uint16_t>(7, 7));
  // Exactly half apart: the numerically larger one is newer, so the relation stays antisymmetric.
  CHECK(seq_newer<uint16_t>(32768, 0));
  CHECK_FALSE(seq_newer<uint16_t>(0, 32768));
  CHECK(seq_newer<uint32_t>(0, 0xFFFFFFFFu));
  CHECK(seq_newer<uint32_t>(0x80000000u, 0));
  CHECK(seq_latest<uint16_t>(65535, 2) == 2);
}

TEST_CASE("seq_diff is the signed shortest distance") {
  CHECK(seq_diff<uint16_t>(2, 65534) == 4);
  CHECK(seq_diff<uint16_t>(65534, 2) == -4);
  CHECK(seq_diff<uint16_t>(32768, 0) == 32768);
  CHECK(seq_diff<uint16_t>(0, 32768) == -32768);
  CHECK(seq_diff<uint32_t>(5, 0xFFFFFFFBu) == 10);
}

TEST_CASE("seq_newer is antisymmetric for every 16-bit pair distance") {
  for (uint32_t d = 1; d < 65536; ++d) {
    const uint16_t a = static_cast<uint16_t>(1000 + d);
    CHECK_MESSAGE(seq_newer<uint16_t>(a, 1000) != seq_newer<uint16_t>(1000, a), d);
  }
}

TEST_CASE("SeqUnwrapper unwraps forward wraps and reordering") {
  RtpSeqUnwrapper u;
  CHECK(u.unwrap(65534) == 65534);
  CHECK(u.unwrap(65535) == 65535);
  CHECK(u.unwrap(0) == 65536);
  CHECK(u.unwrap(1) == 65537);
  CHECK(u.unwrap(65535) == 65535);  // reordered, older
  CHECK(u.peek(2) == 65538);
  CHECK(u.last() == 65535);
  RtpSeqUnwrapper v;
  CHECK(v.unwrap(0) == 0);
  CHECK(v.unwrap(65535) == -1);  // older than the first packet
  RtpTimestampUnwrapper ts;
  CHECK(ts.unwrap(0xFFFFFF00u) == 0xFFFFFF00ll);
  CHECK(ts.unwrap(0x100u) == 0x100000100ll);
}

TEST_CASE("SeqUnwrapper property: random walks with reordering match a 64-bit reference") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Random rng(seed);
    int64_t truth = static_cast<int64_t>(rng.uniform_int(0, 65535));
    RtpSeqUnwrapper u;
    int64_t max_seen = truth;
    CHECK(u.unwrap(static_cast<uint16_t>(truth)) == truth);
    for (int i = 0; i < 5000; ++i) {
      // Mostly forward steps, sometimes jumps back (reordering) by up to 100.
      int64_t next = rng.bernoulli(0.1) ? max_seen - rng.uniform_int(1, 100)
                                        : max_seen + rng.uniform_int(1, 300);
      if (next > max_seen) max_seen = next;
      INFO("seed=" << seed << " i=" << i);
      REQUIRE(u.unwrap(static_cast<uint16_t>(next & 0xFFFF)) == next);
      truth = next;
    }
  }
}

TEST_CASE("SeqOlder orders a map across the wrap") {
  std::map<uint16_t, int, SeqOlder<uint16_t>> m;
  m[65534] = 0;
  m[65535] = 1;
  m[0] = 2;
  m[1] = 3;
  int expect = 0;
  for (auto& [k, v] : m) CHECK(v == expect++);
}
