// The virtual clock OpenSSL reads in a simulation. OpenSSL's DTLS retransmission timer compares its
// deadline with gettimeofday() (libssl 3.0 calls it directly: `nm -D libssl.so.3` lists
// gettimeofday and time as its only clock imports). openssl_virtual_clock.cpp defines
// gettimeofday() in the program itself; the dynamic linker binds libssl's call to that definition
// (an executable's symbols come first), and it returns the installed virtual time on the thread
// that installed it, or the real time otherwise.
//
// Opt-in: only programs that link the CMake target tern::dtls_virtual_clock (simulations, tests)
// get the override; the library never does. One virtual clock per thread (thread_local), so that
// simulations on several threads do not see each other's time. time() is not overridden: OpenSSL
// uses it for session lifetimes and certificate dates only, which DTLS-SRTP does not depend on.
#pragma once

#include <functional>

#include "tern/core/units.h"

namespace tern::dtls {

// While alive, gettimeofday() on this thread returns kVirtualEpoch + now() (now() is usually the
// event loop's clock). Nests: the innermost one on a thread wins, and ending it restores the one
// before (the real clock after the outermost).
class ScopedOpenSslVirtualClock {
 public:
  // A virtual Timestamp of zero maps to this wall-clock instant (2023-11-14T22:13:20Z), so that
  // OpenSSL never sees the zero time it reads as "no timer".
  static constexpr int64_t kVirtualEpochSeconds = 1'700'000'000;

  explicit ScopedOpenSslVirtualClock(std::function<Timestamp()> now);
  ~ScopedOpenSslVirtualClock();
  ScopedOpenSslVirtualClock(const ScopedOpenSslVirtualClock&) = delete;
  ScopedOpenSslVirtualClock& operator=(const ScopedOpenSslVirtualClock&) = delete;

 private:
  std::function<Timestamp()> now_;
  const std::function<Timestamp()>* previous_;
};

}  // namespace tern::dtls
