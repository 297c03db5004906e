#include "tern/core/units.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>

using namespace tern;
using namespace tern::unit_literals;

TEST_CASE("TimeDelta conversions round to nearest") {
  CHECK(TimeDelta::Millis(20).us() == 20000);
  CHECK(TimeDelta::Micros(1499).ms() == 1);
  CHECK(TimeDelta::Micros(1500).ms() == 2);
  CHECK(TimeDelta::Micros(-1500).ms() == -2);
  CHECK(TimeDelta::Seconds(3).ms() == 3000);
  CHECK(TimeDelta::SecondsF(0.25).us() == 250000);
  CHECK(20_ms == TimeDelta::Millis(20));
  CHECK((1_s).seconds_f() == doctest::Approx(1.0));
}

TEST_CASE("TimeDelta arithmetic saturates instead of overflowing") {
  const TimeDelta big = TimeDelta::Micros(std::numeric_limits<int64_t>::max() - 5);
  CHECK((big + 10_us).is_plus_infinity());
  CHECK((-big - 10_us).is_minus_infinity());
  CHECK((big * 2).is_plus_infinity());
  CHECK((big * -2).is_minus_infinity());
  CHECK(TimeDelta::Millis(std::numeric_limits<int64_t>::max()).is_plus_infinity());
  CHECK((TimeDelta::PlusInfinity() - 5_s).is_plus_infinity());
  CHECK((TimeDelta::PlusInfinity() * 0).is_zero());
  CHECK((-TimeDelta::PlusInfinity()).is_minus_infinity());
  CHECK((5_ms / 0).is_plus_infinity());
  CHECK((TimeDelta::Zero() / 0).is_zero());
  CHECK((TimeDelta::Micros(7) / 2).us() == 3);
  CHECK((10_ms / 5_ms) == doctest::Approx(2.0));
}

TEST_CASE("TimeDelta ordering includes infinities") {
  CHECK(TimeDelta::MinusInfinity() < -1_s);
  CHECK(1_s < TimeDelta::PlusInfinity());
  CHECK(tern::max(1_ms, 2_ms) == 2_ms);
  CHECK(tern::clamp(5_s, 1_s, 2_s) == 2_s);
  CHECK((-3_ms).abs() == 3_ms);
}

TEST_CASE("Timestamp and TimeDelta combine") {
  const Timestamp t = Timestamp::Millis(1000);
  CHECK((t + 20_ms).ms() == 1020);
  CHECK((t - 20_ms).ms() == 980);
  CHECK((Timestamp::Millis(1500) - t) == 500_ms);
  CHECK((Timestamp::PlusInfinity() - t).is_plus_infinity());
  CHECK((Timestamp::Micros(std::numeric_limits<int64_t>::min() + 1) - t).is_minus_infinity());
}

TEST_CASE("DataRate, DataSize and TimeDelta cross arithmetic") {
  CHECK((300_kbps).bps() == 300000);
  CHECK((1_mbps * 1_s).bytes() == 125000);
  CHECK((DataSize::Bytes(125000) / 1_s) == 1_mbps);
  CHECK((DataSize::Bytes(1250) / 1_mbps) == 10_ms);
  CHECK((DataSize::Bytes(100) / DataRate::Zero()).is_plus_infinity());
  CHECK((DataSize::Bytes(100) / TimeDelta::Zero()).is_plus_infinity());
  CHECK((DataSize::Bytes(100) / TimeDelta::PlusInfinity()).is_zero());
  CHECK((DataRate::PlusInfinity() * 1_s).is_plus_infinity());
  CHECK((DataRate::PlusInfinity() * TimeDelta::Zero()).is_zero());
  CHECK((500_kbps * 0.85).bps() == 425000);
  CHECK((DataRate::KilobitsPerSecF(1.5)).bps() == 1500);
  CHECK(DataSize::Bits(12).bytes() == 2);
  CHECK((DataSize::Bytes(std::numeric_limits<int64_t>::max()) + 1_bytes).is_plus_infinity());
}

TEST_CASE("unit to_string") {
  CHECK(TimeDelta::Millis(2).to_string() == "2000 us");
  CHECK(DataRate::PlusInfinity().to_string() == "+inf bps");
  CHECK(DataSize::Bytes(3).to_string() == "3 bytes");
}
