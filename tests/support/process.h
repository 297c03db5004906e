// Test support: runs an external tool (tshark, gst-launch-1.0, ffmpeg) under `timeout` and
// captures its standard output, and finds whether a tool is installed. Interop tests use this.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <sstream>
#include <vector>

namespace tern::test {

struct ProcessResult {
  int exit_code = -1;
  std::string out;  // stdout (and stderr when merged)
};

// Runs `command` through /bin/sh under `timeout -k 3 <seconds>`; stderr is merged into out when
// merge_stderr is set.
inline ProcessResult run_command(const std::string& command, int timeout_seconds = 60, bool merge_stderr = false) {
  ProcessResult r;
  const std::string full = "timeout -k 3 " + std::to_string(timeout_seconds) + " " + command +
                           (merge_stderr ? " 2>&1" : " 2>/dev/null");
  std::FILE* p = popen(full.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline bool have_tool(const std::string& name) {
  return run_command("sh -c 'command -v " + name + "'", 10).exit_code == 0;
}

// Interop tests skip when a peer is missing on a developer machine, but must not skip in CI,
// where scripts/install-deps.sh installed every peer: there TERN_REQUIRE_INTEROP=1 makes a
// missing tool a failure.
inline bool interop_required() {
  const char* v = std::getenv("TERN_REQUIRE_INTEROP");
  return v != nullptr && std::string(v) == "1";
}

// A CI run (CI=true, as CI services set it, or TERN_REQUIRE_INTEROP=1): there a missing facility of
// the machine (IPv6 loopback, a peer) is a failure, not a skip.
inline bool ci_run() {
  const char* ci = std::getenv("CI");
  return interop_required() || (ci != nullptr && std::string(ci) == "true");
}

inline std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(cur);
  return parts;
}

// A scratch directory under the build tree for one test's files.
inline std::string scratch_dir(const std::string& name) {
  const std::string dir = std::string(TERN_BINARY_DIR) + "/test_scratch/" + name;
  run_command("mkdir -p '" + dir + "'", 10);
  return dir;
}

}  // namespace tern::test
