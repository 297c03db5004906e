#include "tern/core/ntp_time.h"

#include <doctest/doctest.h>

using namespace tern;
using namespace tern::unit_literals;

TEST_CASE("NtpTime splits seconds and fraction") {
  const NtpTime t(0x12345678u, 0x80000000u);
  CHECK(t.seconds() == 0x12345678u);
  CHECK(t.fraction() == 0x80000000u);
  CHECK(t.compact() == 0x56788000u);
  CHECK(t.to_micros() == 0x12345678ll * 1000000 + 500000);
}

TEST_CASE("NtpTime from micros round-trips within a microsecond") {
  for (int64_t us : {int64_t{1}, int64_t{999999}, int64_t{1234567890123}, int64_t{3900000000000000}}) {
    const NtpTime t = NtpTime::FromMicros(us);
    CHECK(t.to_micros() == us);
  }
  CHECK(NtpTime::FromUnixMicros(0).seconds() == 2208988800u);
  CHECK(NtpTime::FromUnixMicros(0).to_unix_micros() == 0);
  CHECK(NtpTime::FromMicros(-5).value() == 0);
}

TEST_CASE("compact NTP converts to durations (RFC 3550 6.4.1 example)") {
  // RFC 3550: DLSR of 5.250 s is 0x00054000.
  CHECK(compact_ntp_to_delta(0x00054000u) == TimeDelta::Millis(5250));
  CHECK(delta_to_compact_ntp(TimeDelta::Millis(5250)) == 0x00054000u);
  CHECK(delta_to_compact_ntp(-1_ms) == 0u);
  CHECK(delta_to_compact_ntp(TimeDelta::PlusInfinity()) == 0xFFFFFFFFu);
  // RFC 3550 example: A=0xb710:8000 (46864.500 s), LSR=0xb705:2000 (46853.125 s), DLSR=0x0005:4000
  // (5.250 s) -> RTT 6.125 s.
  const uint32_t rtt = 0xb7108000u - 0xb7052000u - 0x00054000u;
  CHECK(compact_ntp_to_delta(rtt) == TimeDelta::Millis(6125));
}

TEST_CASE("NtpClock maps timestamps linearly") {
  const NtpClock clock(NtpTime(3900000000u, 0));
  CHECK(clock.to_ntp(Timestamp::Zero()).seconds() == 3900000000u);
  CHECK(clock.to_ntp(Timestamp::Millis(1500)).seconds() == 3900000001u);
  CHECK(clock.to_ntp(Timestamp::Millis(1500)).fraction() == 0x80000000u);
  CHECK(clock.from_ntp(clock.to_ntp(Timestamp::Micros(123456))) == Timestamp::Micros(123456));
}
