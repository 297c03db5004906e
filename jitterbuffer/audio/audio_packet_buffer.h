// AudioPacketBuffer: the encoded side of the audio jitter buffer. Holds received Opus packets
// (RFC 7587: one Opus packet per RTP packet) ordered by unwrapped RTP timestamp, drops duplicates,
// and stays within a packet count and byte budget.
//
// Policy when full: the oldest packet is dropped to make room (the newest audio is what playout
// will need; a buffer this full is far behind anyway), and the drop is counted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "tern/core/units.h"

namespace tern::jitterbuffer {

struct BufferedAudioPacket {
  int64_t timestamp = 0;  // unwrapped RTP timestamp (48 kHz ticks for Opus)
  int64_t duration = 0;   // ticks
  std::vector<uint8_t> payload;
  Timestamp arrival;
  bool marker = false;
};

class AudioPacketBuffer {
 public:
  AudioPacketBuffer(size_t max_packets, size_t max_bytes) : max_packets_(max_packets), max_bytes_(max_bytes) {}

  enum class InsertResult { kInserted, kDuplicate, kTooLarge };
  // Stores the packet unless one with the same timestamp is present. `dropped` counts packets
  // evicted to respect the bounds.
  InsertResult insert(BufferedAudioPacket packet, int& dropped);
  // Earliest packet, or null.
  const BufferedAudioPacket* front() const { return packets_.empty() ? nullptr : &packets_.begin()->second; }
  // The packet whose timestamp is exactly `timestamp`, or null.
  const BufferedAudioPacket* find(int64_t timestamp) const;
  // The first packet after the earliest one, or null.
  const BufferedAudioPacket* second() const;
  BufferedAudioPacket pop_front();
  // Drops every packet that starts before `timestamp`; returns how many.
  int drop_before(int64_t timestamp);
  // Drops everything; returns how many.
  int clear();
  // End (timestamp + duration) of the latest packet, if any.
  std::optional<int64_t> end_timestamp() const;

  size_t size() const { return packets_.size(); }
  bool empty() const { return packets_.empty(); }
  size_t bytes() const { return bytes_; }
  size_t max_packets() const { return max_packets_; }
  size_t max_bytes() const { return max_bytes_; }

 private:
  size_t max_packets_;
  size_t max_bytes_;
  size_t bytes_ = 0;
  std::map<int64_t, BufferedAudioPacket> packets_;
};

}  // namespace tern::jitterbuffer
