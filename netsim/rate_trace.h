// RateTrace: a piecewise-constant link capacity over time, e.g. a measured cellular uplink.
//
// Text format, one point per line: "<time_ms> <capacity_kbps>", blank-separated, '#' starts a
// comment. Times are offsets from the trace origin (the link decides where that is), in integer
// milliseconds, strictly increasing; capacities are decimal kbps (0 allowed: an outage). The rate
// of a point holds until the next point; before the first point the first rate applies and after
// the last point the last rate holds forever (the trace does not loop).
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/units.h"

namespace tern::netsim {

class RateTrace {
 public:
  struct Point {
    TimeDelta offset;  // from the trace origin
    DataRate rate;
  };
  static constexpr size_t kMaxPoints = 1'000'000;

  // Builds a trace from points; rejects an empty list, decreasing/equal offsets, negative rates.
  static Result<RateTrace> Create(std::vector<Point> points);
  // Parses the text format above. On failure, *error_line (if given) receives the 1-based line.
  static Result<RateTrace> Parse(std::string_view text, size_t* error_line = nullptr);

  // Capacity at `offset` from the origin (the first rate for negative offsets).
  DataRate rate_at(TimeDelta offset) const;
  // Mean capacity over [from, to) (zero for an empty or reversed interval).
  DataRate mean_rate(TimeDelta from, TimeDelta to) const;
  // Index of the point in force at `offset` (0 for offsets before the first point).
  size_t index_at(TimeDelta offset) const;
  // Offset at which point `i + 1` starts, or +infinity for the last point.
  TimeDelta segment_end(size_t i) const;
  const std::vector<Point>& points() const { return points_; }

 private:
  explicit RateTrace(std::vector<Point> points) : points_(std::move(points)) {}
  std::vector<Point> points_;
};

}  // namespace tern::netsim
