#include "tern/netsim/delivery_trace.h"

#include <algorithm>

#include "tern/netsim/trace_lines.h"

namespace tern::netsim {

Result<DeliveryTrace> DeliveryTrace::Create(std::vector<TimeDelta> opportunities) {
  if (opportunities.empty()) return Error{"delivery trace has no opportunities"};
  if (opportunities.size() > kMaxOpportunities) return Error{"delivery trace has too many opportunities"};
  for (size_t i = 0; i < opportunities.size(); ++i) {
    if (!opportunities[i].is_finite() || opportunities[i] < TimeDelta::Zero())
      return Error{"delivery trace time negative or infinite"};
    if (i > 0 && opportunities[i] < opportunities[i - 1]) return Error{"delivery trace times decreasing"};
  }
  if (opportunities.back() <= TimeDelta::Zero()) return Error{"delivery trace period must be positive"};
  return DeliveryTrace(std::move(opportunities));
}

Result<DeliveryTrace> DeliveryTrace::Parse(std::string_view text, size_t* error_line) {
  using namespace trace_internal;
  std::vector<TimeDelta> opportunities;
  auto on_line = [&](std::string_view rest) -> const char* {
    const auto ms = parse_int(take_token(rest));
    if (!ms) return "delivery trace: bad time (want integer ms)";
    if (!rest.empty()) return "delivery trace: extra fields on line";
    if (*ms > 1'000'000'000'000) return "delivery trace: time too large";
    const TimeDelta t = TimeDelta::Millis(*ms);
    if (!opportunities.empty() && t < opportunities.back()) return "delivery trace times decreasing";
    if (opportunities.size() >= kMaxOpportunities) return "delivery trace has too many opportunities";
    opportunities.push_back(t);
    return nullptr;
  };
  return parse_lines<DeliveryTrace>(text, error_line, on_line, [&] { return Create(std::move(opportunities)); });
}

bool DeliveryTrace::LooksLike(std::string_view text) {
  trace_internal::LineWalker lines(text);
  // Bounded by the text: each next() consumes a line.
  while (auto line = lines.next()) {
    if (!line->empty()) return line->find_first_of(" \t\r\v\f") == std::string_view::npos;
  }
  return false;
}

DataRate DeliveryTrace::average_rate() const {
  return (kOpportunitySize * static_cast<int64_t>(opportunities_.size())) / period();
}

namespace {
// Opportunities before offset t: those at cycle * period + o[i] < t, as Link serves them.
int64_t opportunities_before(const std::vector<TimeDelta>& o, TimeDelta period, TimeDelta t) {
  if (t <= TimeDelta::Zero()) return 0;
  const TimeDelta last = t - TimeDelta::Micros(1);  // at or before: offsets are whole microseconds
  const int64_t cycles = last.us() / period.us();
  const TimeDelta within = last - period * cycles;
  const auto in_cycle = std::upper_bound(o.begin(), o.end(), within) - o.begin();
  return cycles * static_cast<int64_t>(o.size()) + in_cycle;
}
}  // namespace

DataRate DeliveryTrace::mean_rate(TimeDelta from, TimeDelta to) const {
  from = std::max(from, TimeDelta::Zero());
  if (!(to > from) || !to.is_finite()) return DataRate::Zero();
  const int64_t n = opportunities_before(opportunities_, period(), to) -
                    opportunities_before(opportunities_, period(), from);
  return (kOpportunitySize * n) / (to - from);
}

}  // namespace tern::netsim
