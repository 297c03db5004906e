#include "tern/netsim/rate_trace.h"

#include <algorithm>

#include "tern/netsim/trace_lines.h"

namespace tern::netsim {

Result<RateTrace> RateTrace::Create(std::vector<Point> points) {
  if (points.empty()) return Error{"rate trace has no points"};
  if (points.size() > kMaxPoints) return Error{"rate trace has too many points"};
  for (size_t i = 0; i < points.size(); ++i) {
    if (!points[i].offset.is_finite() || points[i].offset < TimeDelta::Zero())
      return Error{"rate trace offset negative or infinite"};
    if (!points[i].rate.is_finite() || points[i].rate < DataRate::Zero())
      return Error{"rate trace capacity negative or infinite"};
    if (i > 0 && points[i].offset <= points[i - 1].offset) return Error{"rate trace times not increasing"};
  }
  return RateTrace(std::move(points));
}

Result<RateTrace> RateTrace::Parse(std::string_view text, size_t* error_line) {
  using namespace trace_internal;
  std::vector<Point> points;
  auto on_line = [&](std::string_view rest) -> const char* {
    const auto time_ms = parse_int(take_token(rest));
    if (!time_ms) return "rate trace: bad time (want integer ms)";
    if (*time_ms > 1'000'000'000'000) return "rate trace: time too large";
    const auto kbps = parse_decimal(take_token(rest));
    if (!kbps) return "rate trace: bad capacity (want decimal kbps)";
    if (!rest.empty()) return "rate trace: extra fields on line";
    const TimeDelta offset = TimeDelta::Millis(*time_ms);
    if (!points.empty() && offset <= points.back().offset) return "rate trace times not increasing";
    if (points.size() >= kMaxPoints) return "rate trace has too many points";
    points.push_back({offset, DataRate::KilobitsPerSecF(*kbps)});
    return nullptr;
  };
  return parse_lines<RateTrace>(text, error_line, on_line, [&] { return Create(std::move(points)); });
}

size_t RateTrace::index_at(TimeDelta offset) const {
  // First point strictly after offset; the one before it is in force.
  const auto it = std::upper_bound(points_.begin(), points_.end(), offset,
                                   [](TimeDelta t, const Point& p) { return t < p.offset; });
  return it == points_.begin() ? 0 : static_cast<size_t>(it - points_.begin()) - 1;
}

DataRate RateTrace::rate_at(TimeDelta offset) const { return points_[index_at(offset)].rate; }

DataRate RateTrace::mean_rate(TimeDelta from, TimeDelta to) const {
  if (!(to > from) || !to.is_finite() || !from.is_finite()) return DataRate::Zero();
  // Bounded by the number of points: each iteration moves to the next segment.
  double bits = 0;
  TimeDelta at = from;
  for (size_t i = index_at(from); at < to; ++i) {
    const TimeDelta end = std::min(segment_end(i), to);
    bits += points_[i].rate.bps_f() * (end - at).seconds_f();
    at = end;
  }
  return DataRate::BitsPerSec(static_cast<int64_t>(bits / (to - from).seconds_f() + 0.5));
}

TimeDelta RateTrace::segment_end(size_t i) const {
  return i + 1 < points_.size() ? points_[i + 1].offset : TimeDelta::PlusInfinity();
}

}  // namespace tern::netsim
