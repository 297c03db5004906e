// Tests of FragmentPlan (balanced fragment split) and FrameAssembler.
#include "tern/rtp/payload/payload_limits.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <vector>

#include "tern/core/random.h"
#include "tern/rtp/payload/frame_assembler.h"

using namespace tern;
using namespace tern::rtp;

namespace {

size_t reduction_of(const FragmentPlan& plan, size_t i, const PayloadLimits& l) {
  if (plan.count() == 1) return l.single_packet_reduction;
  if (i == 0) return l.first_packet_reduction;
  if (i + 1 == plan.count()) return l.last_packet_reduction;
  return 0;
}

}  // namespace

TEST_CASE("payload: fragment plan keeps a fitting frame in one packet") {
  FragmentPlan plan;
  PayloadLimits l{.max_payload_size = 100, .single_packet_reduction = 10};
  REQUIRE(plan.plan(90, l).ok());
  CHECK(plan.count() == 1);
  CHECK(plan.size(0) == 90);
  REQUIRE(plan.plan(91, l).ok());  // 91 + 10 > 100: two packets, 45 + 46
  CHECK(plan.count() == 2);
  CHECK(plan.size(0) == 45);
  CHECK(plan.size(1) == 46);
}

TEST_CASE("payload: fragment plan splits evenly instead of leaving a runt") {
  FragmentPlan plan;
  PayloadLimits l{.max_payload_size = 1000};
  REQUIRE(plan.plan(2001, l).ok());  // greedy would give 1000, 1000, 1
  REQUIRE(plan.count() == 3);
  CHECK(plan.size(0) == 667);
  CHECK(plan.size(1) == 667);
  CHECK(plan.size(2) == 667);
  REQUIRE(plan.plan(2002, l).ok());
  CHECK(plan.size(0) + plan.size(1) + plan.size(2) == 2002);
  CHECK(plan.size(2) == 668);
}

TEST_CASE("payload: fragment plan honours first and last reductions") {
  FragmentPlan plan;
  PayloadLimits l{.max_payload_size = 100, .first_packet_reduction = 20, .last_packet_reduction = 10};
  REQUIRE(plan.plan(250, l).ok());  // occupancy 280 over 3 packets: 93, 93, 94
  REQUIRE(plan.count() == 3);
  CHECK(plan.size(0) == 73);
  CHECK(plan.size(1) == 93);
  CHECK(plan.size(2) == 84);
  // A reduction larger than the even share clamps that fragment to one byte.
  PayloadLimits big{.max_payload_size = 100, .first_packet_reduction = 99, .single_packet_reduction = 99};
  REQUIRE(plan.plan(150, big).ok());
  CHECK(plan.size(0) == 1);
  CHECK(plan.offset(plan.count()) == 150);
}

TEST_CASE("payload: fragment plan rejects impossible limits") {
  FragmentPlan plan;
  CHECK_FALSE(plan.plan(0, PayloadLimits{}).ok());
  CHECK_FALSE(plan.plan(10, PayloadLimits{.max_payload_size = 0}).ok());
  CHECK_FALSE(plan.plan(500, PayloadLimits{.max_payload_size = 100, .first_packet_reduction = 100}).ok());
  CHECK_FALSE(plan.plan(500, PayloadLimits{.max_payload_size = 100, .last_packet_reduction = 150}).ok());
  // One byte cannot fill two packets.
  CHECK_FALSE(plan.plan(1, PayloadLimits{.max_payload_size = 10, .single_packet_reduction = 10}).ok());
  CHECK_FALSE(plan.plan(1'000'000, PayloadLimits{.max_payload_size = 10}).ok());  // > kMaxFragments
  CHECK(plan.count() == 0);
}

TEST_CASE("payload: fragment plan property: minimal, fitting, balanced") {
  Random rng(0x5eed01);
  FragmentPlan plan;
  for (int iter = 0; iter < 3000; ++iter) {
    PayloadLimits l;
    l.max_payload_size = static_cast<size_t>(rng.uniform_int(2, 1500));
    const bool reductions = rng.bernoulli(0.5);
    if (reductions) {
      l.first_packet_reduction = static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(l.max_payload_size) - 1));
      l.last_packet_reduction = static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(l.max_payload_size) - 1));
      l.single_packet_reduction = static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(l.max_payload_size)));
    }
    const size_t length = static_cast<size_t>(rng.uniform_int(2, 30000));
    INFO("seed 0x5eed01 iter " << iter << " len " << length << " max " << l.max_payload_size);
    Status s = plan.plan(length, l);
    if (!s) {
      CHECK(plan.count() == 0);
      continue;
    }
    const size_t n = plan.count();
    size_t sum = 0, lo = SIZE_MAX, hi = 0;
    bool clamped = false;
    for (size_t i = 0; i < n; ++i) {
      const size_t occupancy = plan.size(i) + reduction_of(plan, i, l);
      REQUIRE(plan.size(i) >= 1);
      REQUIRE(occupancy <= l.max_payload_size);
      CHECK(plan.offset(i) == sum);
      sum += plan.size(i);
      if (plan.size(i) == 1 && reduction_of(plan, i, l) > 0) clamped = true;
      lo = std::min(lo, occupancy);
      hi = std::max(hi, occupancy);
    }
    CHECK(sum == length);
    if (n > 1) {
      const size_t total = length + l.first_packet_reduction + l.last_packet_reduction;
      CHECK(n == std::max<size_t>(2, (total + l.max_payload_size - 1) / l.max_payload_size));
      if (!clamped) CHECK(hi - lo <= 1);
    }
  }
}

TEST_CASE("payload: frame assembler joins parts and enforces start, end and size") {
  const std::array<uint8_t, 3> a{1, 2, 3};
  const std::array<uint8_t, 2> b{4, 5};
  FrameAssembler fa(5);
  CHECK_FALSE(fa.add(a, false, false).ok());  // no start
  REQUIRE(fa.add(a, true, false).ok());
  CHECK_FALSE(fa.complete());
  REQUIRE(fa.add(b, false, true).ok());
  CHECK(fa.complete());
  CHECK(std::vector<uint8_t>(fa.frame().begin(), fa.frame().end()) == std::vector<uint8_t>{1, 2, 3, 4, 5});
  CHECK_FALSE(fa.add(b, false, false).ok());  // after the end
  REQUIRE(fa.add(a, true, false).ok());       // a new start discards and restarts
  CHECK_FALSE(fa.add(a, false, true).ok());   // 6 > 5 bytes
  CHECK(fa.frame().empty());
  REQUIRE(fa.add(b, true, true).ok());
  CHECK(fa.take() == std::vector<uint8_t>{4, 5});
  CHECK_FALSE(fa.complete());
}
