// Fuzzes tern-loopback's scorecard matrix parser (tools/loopback/scorecard.h): any text gives a
// matrix within its bounds or a reason, never both, never neither.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tern/tools/loopback/scorecard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tern::tools::Matrix;
  const tern::tools::MatrixParse p = tern::tools::parse_matrix(std::string_view(reinterpret_cast<const char*>(data), size));
  if (p.matrix.has_value() == !p.error.empty()) std::abort();
  if (p.matrix) {
    const Matrix& m = *p.matrix;
    if (m.seeds.empty() || m.seeds.size() > Matrix::kMaxSeeds || m.scenarios.empty() ||
        m.scenarios.size() > Matrix::kMaxScenarios || m.name.size() > Matrix::kMaxNameLength) {
      std::abort();
    }
    for (const auto& s : m.scenarios) {
      if (s.args.size() > Matrix::kMaxArgs || s.goals.size() > Matrix::kMaxGoals) std::abort();
      for (const auto& g : s.goals) {
        if (!g.min && !g.max) std::abort();
        if (g.min && g.max && *g.min > *g.max) std::abort();
      }
    }
  }
  return 0;
}
