// Test data for tests/sdp: the real offers captured once from Chromium 156, pion 3.1.56 and aiortc
// 1.4.0 (tests/sdp/data/README.md says how).
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace tern::test {

inline std::string read_sdp_data(const std::string& name) {
  std::ifstream in(std::string(TERN_SOURCE_DIR) + "/tests/sdp/data/" + name, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace tern::test
