// Send-side history of packets carrying a transport-wide sequence number
// (draft-holmer-rmcat-transport-wide-cc-extensions-01): remembers when and how big each packet was
// so that feedback (sequence number + arrival time) can be turned into PacketResult, and tracks
// the data in flight (sent, not yet reported received or lost).
//
// Stored in a SeqRing (core/seq_ring.h), one slot per unwrapped sequence number, spanning at most
// 2 x max_packets numbers (rounded up to a power of two): a transport-wide sequence is consecutive,
// so the count and age bounds below are the ones that bite (the oldest sequence number goes first,
// as before); a number more than that span behind the newest is not kept. The memory follows the
// entries held (the ring doubles as needed), not the bound.
//
// Each entry also keeps what feedback already said about its packet (report()), so the transport
// feedback adapter needs no second per-packet table: one compact slot (32 bytes with its key) is
// written per packet sent, which matters on a forwarder's hop (one history per subscriber, each
// insert a cache miss on a slot not touched since the ring came round).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "tern/congestion/network_types.h"
#include "tern/core/seq_num.h"
#include "tern/core/seq_ring.h"
#include "tern/core/units.h"

namespace tern::congestion {

class SendTimeHistory {
 public:
  // The most packets a 16-bit sequence number can reach back (2^15): a larger max_packets keeps no
  // more (the transport feedback adapter bounds its own per-SSRC rings by it too).
  static constexpr size_t kMaxUsefulPackets = size_t{1} << 15;

  struct Config {
    // An endpoint's defaults (libwebrtc keeps 60 s). A forwarder's hop, whose feedback comes back
    // within an RTT, keeps a few seconds (pipeline::MediaRouter).
    TimeDelta max_age = TimeDelta::Seconds(60);  // entries older than this are forgotten
    size_t max_packets = 1 << 15;                // and never more than this many (oldest go first)
  };

  SendTimeHistory() : SendTimeHistory(Config{}) {}
  explicit SendTimeHistory(Config config);

  // Records a packet handed to the network. `seq` is the 16-bit wire value; the returned info
  // carries its unwrapped 64-bit sequence number. Old entries are pruned (see Config).
  SentPacketInfo on_sent(uint16_t seq, Timestamp send_time, DataSize size,
                         int probe_cluster_id = kNotAProbe, bool audio = false);

  // Matches one feedback entry. `receive_time` is PlusInfinity for a packet reported lost. A packet
  // reported twice (lost, then received) updates its result; it leaves the data in flight once.
  // Returns nullopt for unknown or already pruned sequence numbers.
  std::optional<PacketResult> on_feedback(uint16_t seq, Timestamp receive_time);

  // on_feedback(), and nullopt also when the report would repeat an earlier one: a packet is
  // reported received at most once, lost at most once, and never lost after it was reported
  // received (the data in flight is updated either way, as by on_feedback()). Resending a number
  // (on_sent) forgets what was reported about it. A receipt after a loss report is marked `late`.
  std::optional<PacketResult> report(uint16_t seq, Timestamp receive_time);

  // Feedback has reached `seq`: every earlier packet not yet covered leaves the data in flight
  // too (its report was lost, as in a feedback blackout), as libwebrtc does. The entries stay, so
  // a later report can still match them. Amortised O(1) per packet.
  void clear_in_flight_up_to(uint16_t seq);

  // Bytes sent and not yet covered by any feedback.
  DataSize data_in_flight() const { return in_flight_; }
  size_t size() const { return packets_.size(); }
  size_t capacity() const { return packets_.capacity(); }  // slots allocated

 private:
  enum class Reported : uint8_t { kNone, kLost, kReceived };
  // SentPacketInfo without its sequence number (the ring's key).
  struct Entry {
    Timestamp send_time = Timestamp::MinusInfinity();
    DataSize size = DataSize::Zero();
    int32_t probe_cluster_id = kNotAProbe;
    bool audio = false;
    bool reported = false;  // left the data in flight (covered by feedback)
    Reported state = Reported::kNone;  // what report() has returned for it
  };
  static PacketResult result_of(int64_t seq, const Entry& e, Timestamp receive_time);
  // The entry of `seq` (nullptr: unknown or pruned), out of the data in flight.
  Entry* covered(uint16_t seq, int64_t& unwrapped);
  void prune(Timestamp now);

  Config config_;
  RtpSeqUnwrapper unwrapper_;
  SeqRing<Entry> packets_;  // by unwrapped sequence number
  DataSize in_flight_ = DataSize::Zero();
  int64_t cleared_up_to_ = -1;  // every entry at or below this has left the data in flight
};

}  // namespace tern::congestion
