#include <doctest/doctest.h>

#include <cmath>

#include "tern/netsim/loss_model.h"

using namespace tern;
using namespace tern::netsim;

TEST_CASE("Random loss rate is within a binomial tolerance") {
  for (uint64_t seed : {1u, 2u, 3u}) {
    auto m = LossModel::Create(LossConfig::Random(0.1), seed);
    REQUIRE(m.ok());
    const int n = 20000;
    int lost = 0;
    for (int i = 0; i < n; ++i) lost += m->next_lost() ? 1 : 0;
    const double sigma = std::sqrt(n * 0.1 * 0.9);
    CAPTURE(seed);
    CHECK(std::abs(lost - n * 0.1) < 4 * sigma);
  }
}

TEST_CASE("Gilbert-Elliott gives the configured average loss and mean burst length") {
  struct Case {
    double p, burst;
  };
  for (const Case c : {Case{0.05, 4.0}, Case{0.2, 2.0}, Case{0.01, 1.0}}) {
    auto m = LossModel::Create(LossConfig::GilbertElliott(c.p, c.burst), 7);
    REQUIRE(m.ok());
    const int n = 400000;
    int lost = 0, bursts = 0;
    bool prev = false;
    for (int i = 0; i < n; ++i) {
      const bool l = m->next_lost();
      lost += l ? 1 : 0;
      if (l && !prev) ++bursts;
      prev = l;
    }
    CAPTURE(c.p);
    CAPTURE(c.burst);
    CHECK(static_cast<double>(lost) / n == doctest::Approx(c.p).epsilon(0.08));
    REQUIRE(bursts > 0);
    CHECK(static_cast<double>(lost) / bursts == doctest::Approx(c.burst).epsilon(0.08));
  }
}

TEST_CASE("Loss configs are validated") {
  CHECK_FALSE(LossModel::Create(LossConfig::Random(1.0), 1).ok());
  CHECK_FALSE(LossModel::Create(LossConfig::Random(-0.1), 1).ok());
  CHECK_FALSE(LossModel::Create(LossConfig::GilbertElliott(0.1, 0.5), 1).ok());
  // p = 0.9 with bursts of 1 would need P(good->bad) = 9.
  CHECK_FALSE(LossModel::Create(LossConfig::GilbertElliott(0.9, 1.0), 1).ok());
  auto none = LossModel::Create(LossConfig::None(), 1);
  REQUIRE(none.ok());
  for (int i = 0; i < 100; ++i) CHECK_FALSE(none->next_lost());
}
