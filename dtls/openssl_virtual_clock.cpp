// Built only into the tern_dtls_virtual_clock object library (dtls/CMakeLists.txt), never into
// tern_dtls: defining gettimeofday() is for simulation programs that opt in.
#include "tern/dtls/openssl_virtual_clock.h"

#include <sys/time.h>
#include <time.h>

namespace tern::dtls {
namespace {

thread_local const std::function<Timestamp()>* g_virtual_now = nullptr;

}  // namespace

ScopedOpenSslVirtualClock::ScopedOpenSslVirtualClock(std::function<Timestamp()> now)
    : now_(std::move(now)), previous_(g_virtual_now) {
  g_virtual_now = &now_;
}

ScopedOpenSslVirtualClock::~ScopedOpenSslVirtualClock() { g_virtual_now = previous_; }

}  // namespace tern::dtls

// glibc declares gettimeofday(struct timeval*, void*) with a nonnull first argument.
extern "C" int gettimeofday(struct timeval* tv, void* /*tz*/) noexcept {
  if (const auto* now = tern::dtls::g_virtual_now) {
    const int64_t us = (*now)().us();
    const int64_t total = tern::dtls::ScopedOpenSslVirtualClock::kVirtualEpochSeconds * 1000000 + us;
    tv->tv_sec = static_cast<time_t>(total / 1000000);
    tv->tv_usec = static_cast<suseconds_t>(total % 1000000);
    return 0;
  }
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tv->tv_sec = ts.tv_sec;
  tv->tv_usec = static_cast<suseconds_t>(ts.tv_nsec / 1000);
  return 0;
}
