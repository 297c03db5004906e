// The guard on the virtual-clock override: OpenSSL's DTLS retransmission timer must follow the
// virtual clock when ScopedOpenSslVirtualClock is in place (libssl's gettimeofday import resolves
// to this program's definition), and must not without it. If a future OpenSSL reads another clock
// (clock_gettime, as 3.2's ossl_time_now may on some builds), the first case fails here.
#include <doctest/doctest.h>

#include <sys/time.h>

#include <chrono>

#include "support/dtls_pair.h"
#include "tern/dtls/openssl_virtual_clock.h"

using namespace tern;
using namespace tern::dtls;

namespace {

// Starts a client at `now`, loses its ClientHello, moves `now` 1 s on (no real time passes) and
// reports whether OpenSSL retransmitted.
bool RetransmitsAfterVirtualSecond(Timestamp& now) {
  auto client = DtlsTransport::Create(tern::test::PairConfigs().first).value();
  client->start(now);
  if (!client->pop_outgoing()) return false;
  now += TimeDelta::Seconds(1);
  client->process(now);
  return client->has_outgoing() && client->counters().retransmissions == 1;
}

}  // namespace

TEST_CASE("ScopedOpenSslVirtualClock: gettimeofday returns the virtual time while in scope, the real time after") {
  Timestamp now = Timestamp::Millis(1234);
  {
    ScopedOpenSslVirtualClock clock([&] { return now; });
    timeval tv{};
    REQUIRE(gettimeofday(&tv, nullptr) == 0);
    CHECK(tv.tv_sec == ScopedOpenSslVirtualClock::kVirtualEpochSeconds + 1);
    CHECK(tv.tv_usec == 234000);
    {
      Timestamp inner = Timestamp::Seconds(50);
      ScopedOpenSslVirtualClock nested([&] { return inner; });
      REQUIRE(gettimeofday(&tv, nullptr) == 0);
      CHECK(tv.tv_sec == ScopedOpenSslVirtualClock::kVirtualEpochSeconds + 50);
    }
    REQUIRE(gettimeofday(&tv, nullptr) == 0);
    CHECK(tv.tv_sec == ScopedOpenSslVirtualClock::kVirtualEpochSeconds + 1);
  }
  timeval tv{};
  REQUIRE(gettimeofday(&tv, nullptr) == 0);
  const auto real = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(tv.tv_sec >= real - 2);
  CHECK(tv.tv_sec <= real + 2);
}

TEST_CASE("ScopedOpenSslVirtualClock: OpenSSL's DTLS timer follows the virtual clock, and only through it") {
  Timestamp now = Timestamp::Seconds(1);
  {
    ScopedOpenSslVirtualClock clock([&] { return now; });
    CHECK(RetransmitsAfterVirtualSecond(now));  // fails if libssl stops reading our gettimeofday
  }
  // The control: without the override OpenSSL reads the wall clock, on which no second has passed.
  CHECK_FALSE(RetransmitsAfterVirtualSecond(now));
}
