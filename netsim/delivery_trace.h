// DeliveryTrace: a mahimahi-style packet delivery-opportunity trace (Netravali et al., "Mahimahi:
// Accurate Record-and-Replay for HTTP", USENIX ATC 2015; the format of its mm-link traces).
//
// Text format: one integer millisecond timestamp per line, non-decreasing; each line is one
// opportunity to deliver up to kOpportunitySize bytes at that instant (a repeated timestamp means
// several opportunities in the same millisecond). The trace loops with a period equal to its last
// timestamp, which must be positive. '#' comments and blank lines are tolerated.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/units.h"

namespace tern::netsim {

class DeliveryTrace {
 public:
  static constexpr DataSize kOpportunitySize = DataSize::Bytes(1500);
  static constexpr size_t kMaxOpportunities = 10'000'000;

  // Builds a trace from opportunity offsets (non-decreasing, last one positive).
  static Result<DeliveryTrace> Create(std::vector<TimeDelta> opportunities);
  // Parses the text format above. On failure, *error_line (if given) receives the 1-based line.
  static Result<DeliveryTrace> Parse(std::string_view text, size_t* error_line = nullptr);
  // Whether `text` is in this format rather than RateTrace's: its first line that is not blank or
  // a comment holds a single field.
  static bool LooksLike(std::string_view text);

  const std::vector<TimeDelta>& opportunities() const { return opportunities_; }
  TimeDelta period() const { return opportunities_.back(); }
  // Long-run average capacity: opportunities x 1500 bytes per period.
  DataRate average_rate() const;
  // Mean capacity over [from, to) offsets from the origin (the trace looping), or zero for an
  // empty or reversed interval: opportunities in it x 1500 bytes / its length.
  DataRate mean_rate(TimeDelta from, TimeDelta to) const;

 private:
  explicit DeliveryTrace(std::vector<TimeDelta> o) : opportunities_(std::move(o)) {}
  std::vector<TimeDelta> opportunities_;
};

}  // namespace tern::netsim
