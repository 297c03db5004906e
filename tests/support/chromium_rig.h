// Test support for the headless-Chromium cases (tests/turn, tests/sdp): where puppeteer-core is
// (scripts/install-deps.sh puts it in out/node; TERN_NODE_DIR overrides), and entering the rig:
// chromium and node present (coturn too when asked), puppeteer-core installed, then this process
// moved into a fresh network namespace. Missing pieces skip the case, or fail it when
// TERN_REQUIRE_INTEROP=1 (CI).
#pragma once

#include <cstdlib>
#include <fstream>
#include <string>

#include "support/netns.h"
#include "support/peer.h"
#include "support/process.h"

namespace tern::test {

inline std::string chromium_node_dir() {
  const char* env = std::getenv("TERN_NODE_DIR");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string(TERN_SOURCE_DIR) + "/out/node";
}

// True when the case can run (and now runs in its own network namespace).
inline bool EnterChromiumRig(bool with_coturn) {
  if (!HavePeers({"chromium", "node"})) return false;
  if (with_coturn && !HavePeers({"turnserver"})) return false;
  if (!std::ifstream(chromium_node_dir() + "/node_modules/puppeteer-core/package.json").good()) {
    const std::string what = "puppeteer-core is not installed in " + chromium_node_dir() + " (scripts/install-deps.sh)";
    if (interop_required()) FAIL(what);
    MESSAGE(what << ": skipped");
    return false;
  }
  const std::string error = EnterFreshNetworkNamespace();
  if (!error.empty()) {
    if (interop_required()) FAIL("no network namespace: " << error);
    MESSAGE("no network namespace (" << error << "): skipped");
    return false;
  }
  return true;
}

}  // namespace tern::test
