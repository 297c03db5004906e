// String forms of the unit types, for logs, test failures and reports.
#include "tern/core/units.h"

#include <cstdio>

namespace tern {
namespace {

std::string format(int64_t v, const char* unit, bool finite) {
  if (!finite) return v > 0 ? std::string("+inf ") + unit : std::string("-inf ") + unit;
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%lld %s", static_cast<long long>(v), unit);
  return buf;
}

}  // namespace

std::string TimeDelta::to_string() const { return format(us(), "us", is_finite()); }
std::string Timestamp::to_string() const { return format(us(), "us", is_finite()); }
std::string DataSize::to_string() const { return format(bytes(), "bytes", is_finite()); }
std::string DataRate::to_string() const { return format(bps(), "bps", is_finite()); }

}  // namespace tern
