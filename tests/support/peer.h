// Test support: peers (gst-launch-1.0, ffmpeg) run in the background for interop tests, the check
// that they are installed, and a bounded wait for a peer to bind its UDP port.
#pragma once

#include <doctest/doctest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <thread>

#include "support/process.h"

extern char** environ;

namespace tern::test {

// True when every tool is installed. Otherwise the test fails under TERN_REQUIRE_INTEROP=1 (CI)
// and is skipped with a message elsewhere.
inline bool HavePeers(std::initializer_list<const char*> tools) {
  for (const char* t : tools) {
    if (have_tool(t)) continue;
    if (interop_required()) FAIL(t << " is not installed");
    MESSAGE(t << " is not installed: skipped");
    return false;
  }
  return true;
}

// A peer (gst-launch-1.0, ffmpeg) running in the background as
//   timeout --foreground -k 3 -s INT <seconds> <command>   with stdout+stderr in a log file,
// in a process group of its own. SIGINT makes `gst-launch-1.0 -e` send EOS, so files are
// finalised; `timeout` forwards it. --foreground matters: without it `timeout` also signals its
// whole group, the peer gets SIGINT twice and gst-launch dies on the second one mid-EOS.
// The destructor kills the group if the peer still runs, so nothing outlives the test.
class BackgroundPeer {
 public:
  BackgroundPeer(const std::string& command, int timeout_seconds, const std::string& log_path) : log_(log_path) {
    const std::string sh = "exec timeout --foreground -k 3 -s INT " + std::to_string(timeout_seconds) + " " + command + " > '" +
                           log_path + "' 2>&1 < /dev/null";
    const char* argv[] = {"/bin/sh", "-c", sh.c_str(), nullptr};
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);  // a new group led by the child: pgid == pid
    if (posix_spawn(&pid_, "/bin/sh", nullptr, &attr, const_cast<char* const*>(argv), environ) != 0) pid_ = -1;
    posix_spawnattr_destroy(&attr);
  }
  ~BackgroundPeer() {
    if (running()) {
      ::kill(-pid_, SIGKILL);  // `timeout` and the peer: the whole group
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  BackgroundPeer(const BackgroundPeer&) = delete;
  BackgroundPeer& operator=(const BackgroundPeer&) = delete;

  bool started() const { return pid_ > 0; }
  bool running() {
    if (pid_ <= 0 || exited_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return false;
    }
    return true;
  }
  // Asks the peer to finish (EOS for gst-launch -e).
  void interrupt() { send_signal(SIGINT); }
  void send_signal(int sig) {
    if (running()) ::kill(pid_, sig);
  }
  // Waits at most `max_ms` for the peer to exit; true when it did.
  bool wait(int max_ms) {
    for (int waited = 0; waited <= max_ms; waited += 20) {
      if (!running()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return !running();
  }
  // Waits at most `max_ms` for `text` in the peer's output (its first 1 MiB; log() keeps only the
  // tail); false when it did not come, or the peer exited without printing it.
  bool wait_for_output(const std::string& text, int max_ms) {
    for (int waited = 0; waited <= max_ms; waited += 20) {
      const bool was_running = running();
      if (output_contains(text)) return true;
      if (!was_running) return false;  // read after it exited: nothing more will come
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  int exit_code() const { return exit_code_; }
  std::string log() const {
    std::ifstream in(log_);
    std::stringstream s;
    s << in.rdbuf();
    std::string out = s.str();
    return out.size() > 4000 ? out.substr(out.size() - 4000) : out;
  }

 private:
  bool output_contains(const std::string& text) const {
    std::ifstream in(log_, std::ios::binary);
    std::string out(size_t{1} << 20, '\0');
    in.read(out.data(), static_cast<std::streamsize>(out.size()));
    out.resize(static_cast<size_t>(in.gcount()));
    return out.find(text) != std::string::npos;
  }

  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_code_ = -1;
  std::string log_;
};

// Bounded start-up wait: polls /proc/net/udp until some socket is bound to local `port`.
inline bool WaitForUdpPort(uint16_t port, int max_ms) {
  char needle[8];
  std::snprintf(needle, sizeof(needle), ":%04X", port);
  for (int waited = 0; waited <= max_ms; waited += 20) {
    for (const char* table : {"/proc/net/udp", "/proc/net/udp6"}) {
      std::ifstream in(table);
      std::string line;
      for (int lines = 0; lines < 100000 && std::getline(in, line); ++lines) {
        // "  sl  local_address rem_address ...": local address is the second field.
        std::istringstream fields(line);
        std::string sl, local;
        fields >> sl >> local;
        if (local.size() > 5 && local.compare(local.size() - 5, 5, needle) == 0) return true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace tern::test
