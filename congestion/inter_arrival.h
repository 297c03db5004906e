// Groups packets into send-time bursts and measures how the spacing of consecutive groups changed
// on the way to the receiver (draft-ietf-rmcat-gcc-02 section 5.2, pre-filtering; libwebrtc's
// InterArrivalDelta). A group is all packets sent within `send_time_group_length` of the first;
// packets that arrive in a burst behind a queue are merged into the previous group.
#pragma once

#include <optional>

#include "tern/core/units.h"

namespace tern::congestion {

class InterArrival {
 public:
  struct Config {
    TimeDelta send_time_group_length = TimeDelta::Millis(5);
    TimeDelta burst_delta_threshold = TimeDelta::Millis(5);   // arrival gap that still is a burst
    TimeDelta max_burst_duration = TimeDelta::Millis(100);
    TimeDelta arrival_time_offset_threshold = TimeDelta::Seconds(3);  // clock jump -> reset
    int reordered_reset_threshold = 3;  // consecutive negative arrival deltas -> reset
  };

  struct Deltas {
    TimeDelta send_delta;
    TimeDelta arrival_delta;
    DataSize size_delta;  // size of the newer group minus size of the older one
  };

  InterArrival() : InterArrival(Config{}) {}
  explicit InterArrival(Config config) : config_(config) {}

  // Feeds one received packet (in arrival order); `now` is the local time the feedback was
  // processed. Returns the deltas between the two last complete groups when a group completes.
  // Packets sent before the current group (reordered) are ignored.
  std::optional<Deltas> compute_deltas(Timestamp send_time, Timestamp arrival_time, Timestamp now,
                                       DataSize size);

  void reset();

 private:
  struct Group {
    Timestamp first_send = Timestamp::MinusInfinity();
    Timestamp send = Timestamp::MinusInfinity();  // latest send time in the group
    Timestamp first_arrival = Timestamp::MinusInfinity();
    Timestamp complete = Timestamp::MinusInfinity();  // arrival of the last packet
    Timestamp last_system = Timestamp::MinusInfinity();
    DataSize size = DataSize::Zero();
    bool valid() const { return first_send.is_finite(); }
  };
  bool new_group(Timestamp arrival, Timestamp send) const;
  bool belongs_to_burst(Timestamp arrival, Timestamp send) const;

  Config config_;
  Group current_;
  Group prev_;
  int reordered_ = 0;
};

}  // namespace tern::congestion
