// SlidingExtremum: the minimum (or maximum) of the values pushed over a sliding time window, in
// amortised O(1) per push (a monotonic deque: an entry that a newer, at least as extreme, value
// outlives can never be the answer again and is dropped at once; a tie keeps the newer).
//
// The jitter buffers' base delays (the smallest transit over a window), the audio delay manager's
// calm level (the largest relative delay over its release window) and the loss-based estimator's
// base rate (the smallest rate over an interval) all read one.
//
// Bounded: at most `max_entries` are kept; when full the oldest is dropped (the answer then covers
// a shorter window than asked: a stream that never repeats its extreme for max_entries values).
// Time only ever moves forward here: push() times are non-decreasing.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>

#include "tern/core/units.h"

namespace tern {

template <typename T, typename Compare = std::less<T>>  // std::less: minimum; std::greater: maximum
class SlidingExtremum {
 public:
  explicit SlidingExtremum(size_t max_entries) : max_entries_(max_entries < 1 ? 1 : max_entries) {}

  // Drops what was pushed before `t` (the window's start).
  void expire_before(Timestamp t) {
    while (!entries_.empty() && entries_.front().time < t) entries_.pop_front();
  }
  // Adds `value` at `time`.
  void push(Timestamp time, const T& value) {
    while (!entries_.empty() && !Compare{}(entries_.back().value, value)) entries_.pop_back();
    if (entries_.size() >= max_entries_) entries_.pop_front();
    entries_.push_back({time, value});
  }
  // The extreme of the window; requires !empty().
  const T& value() const { return entries_.front().value; }
  // When that extreme was pushed.
  Timestamp time() const { return entries_.front().time; }
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  void clear() { entries_.clear(); }

 private:
  struct Entry {
    Timestamp time;
    T value;
  };
  size_t max_entries_;
  std::deque<Entry> entries_;
};

}  // namespace tern
