// Test support: moves the calling test process into a network namespace of its own, with only the
// loopback interface, up. Every process the test starts afterwards (a TURN server, a browser)
// inherits it, so fixed ports cannot collide with other tests or worktrees, and nothing the peers
// do can leave the machine. ctest runs each doctest case as its own process, so each case that
// calls this gets a fresh namespace. Needs CAP_SYS_ADMIN (root, as in CI).
#pragma once

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace tern::test {

// Enters a new network namespace and brings its `lo` up. Returns an empty string on success,
// otherwise what failed (the process stays in the namespace it was in when unshare fails).
inline std::string EnterFreshNetworkNamespace() {
  if (::unshare(CLONE_NEWNET) != 0) return std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("socket: ") + std::strerror(errno);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  std::string error;
  if (::ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
    error = std::string("SIOCGIFFLAGS lo: ") + std::strerror(errno);
  } else {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) error = std::string("SIOCSIFFLAGS lo: ") + std::strerror(errno);
  }
  ::close(fd);
  return error;
}

}  // namespace tern::test
