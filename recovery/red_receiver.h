// Receive side of RED (RFC 2198) for one stream: splits RED packets into per-block packets (see
// decode_red()) and passes on only blocks whose sequence numbers were not delivered before, so a
// redundant copy is used exactly when its original was lost, and counts those recoveries.
//
// Bounded: remembers the last `history` delivered sequence numbers; a redundant block older than
// that window is dropped (too late to matter to a playout buffer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <vector>

#include "tern/core/seq_num.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::recovery {

class RedReceiver {
 public:
  struct Config {
    size_t history = 512;
  };
  struct Stats {
    uint64_t red_packets = 0;
    uint64_t malformed = 0;
    uint64_t packets_recovered = 0;  // redundant blocks that stood in for lost packets
    uint64_t duplicates_dropped = 0;
  };

  explicit RedReceiver(Config config) : config_(config) {}

  // The new packets carried by `red`, oldest first; empty for malformed input or duplicates.
  std::vector<rtp::RtpPacket> on_packet(const rtp::RtpPacket& red);
  const Stats& stats() const { return stats_; }

 private:
  bool deliver(uint16_t seq);  // false when already delivered or too old

  Config config_;
  RtpSeqUnwrapper unwrapper_;
  std::set<int64_t> delivered_;
  Stats stats_;
};

}  // namespace tern::recovery
