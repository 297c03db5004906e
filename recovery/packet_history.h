// Sender-side packet history for retransmission (RFC 4585 generic NACK answered with RFC 4588 RTX).
//
// Keeps the packets sent on one media SSRC, keyed by RTP sequence number (wrap-aware), bounded
// both in count (when more than max_packets are held the one with the oldest sequence number is
// dropped) and in age (packets older than max_age are dropped as new ones arrive, oldest sequence
// number first, stopping at the first young one). The store is a SeqRing (core/seq_ring.h): one
// slot per sequence number, spanning at most 2 x max_packets sequence numbers (rounded up to a
// power of two), so with up to half the numbers missing (losses upstream of a forwarder) the count
// bound is the only one that bites; beyond that a packet more than that span behind the newest is
// dropped (or, put late, not kept). Slots keep their buffers: put(const&) copies into a reused one
// (no allocation once warm). on_nack() turns requested sequence numbers into RTX packets:
//  - a packet is retransmitted again only once `resend_guard` x RTT has passed since its last
//    retransmission (a NACK repeated sooner is refused: the previous copy is probably still in
//    flight). Not a whole RTT: the receiver times its retries by its own RTT estimate, which may
//    be lower than ours (libwebrtc's NackRequester retries after exactly one RTT; tern's after
//    1.25), and a guard of one RTT refused those retries (measured: 8% loss in bursts of 3, a
//    sender RTT of 167 ms against the receiver's 129 ms refused every retry sent 161 ms after the
//    first, so a lost retransmission cost 320 ms more instead of 160 ms);
//  - retransmissions are paced by a token bucket refilled at the rate the congestion controller
//    allows for retransmissions, holding at most `budget_window` worth of that rate; a packet that
//    does not fit is refused (and counted) rather than queued, so the receiver's next NACK decides.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/seq_ring.h"
#include "tern/core/seq_num.h"
#include "tern/core/units.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::recovery {

class PacketHistory {
 public:
  struct Config {
    size_t max_packets = 1024;
    TimeDelta max_age = TimeDelta::Seconds(2);
    uint32_t rtx_ssrc = 0;
    uint8_t rtx_payload_type = 0;
    // Media payload type -> RTX payload type (apt); media PTs not listed use rtx_payload_type.
    std::map<uint8_t, uint8_t> rtx_pt_for_media_pt;
    // Video RED (ULPFEC's wrapping, RFC 5109 10.2): a stored RED packet of this payload type whose
    // only block is the primary is retransmitted as that block, its media payload type and
    // payload, with the media payload type's RTX. A peer maps an RTX payload type to the one its
    // apt names: Chromium, given the codec's RTX with a RED payload inside, read the RED header as
    // VP8 and lost the frame (tern -> Chromium with ULPFEC: 30% of the frames undecoded, PLIs).
    std::optional<uint8_t> unwrap_red_payload_type;
    uint16_t first_rtx_sequence_number = 0;
    DataRate retransmission_rate = DataRate::KilobitsPerSec(500);
    TimeDelta budget_window = TimeDelta::Millis(500);
    // Least time between two retransmissions of one packet, as a share of the RTT (see above).
    double resend_guard = 0.5;
  };
  struct Stats {
    uint64_t nacked_sequence_numbers = 0;
    uint64_t retransmitted_packets_sent = 0;
    uint64_t retransmitted_bytes_sent = 0;
    uint64_t refused_too_soon = 0;    // within resend_guard x RTT of the previous retransmission
    uint64_t refused_rate_limit = 0;  // token bucket empty
    uint64_t not_found = 0;           // never sent, expired or evicted
  };

  // Rejects a zero max_packets, a non-positive max_age or budget_window, a negative rate, or a
  // resend_guard outside [0, 1].
  static Result<PacketHistory> Create(Config config);

  // Stores a packet as sent at `send_time` (a packet with the same sequence number is replaced).
  // The const& form copies into the slot's reused buffer; the && form takes the packet's.
  void put(const rtp::RtpPacket& packet, Timestamp send_time);
  void put(rtp::RtpPacket&& packet, Timestamp send_time);
  // The stored packet with this sequence number, if any.
  const rtp::RtpPacket* get(uint16_t seq) const;
  size_t size() const { return packets_.size(); }
  // Slots allocated (grows with the span of sequence numbers held, up to 2 x max_packets).
  size_t capacity() const { return packets_.capacity(); }

  // The rate the congestion controller allows for retransmissions from now on.
  void set_retransmission_rate(DataRate rate, Timestamp now);
  // RTX packets for the requested sequence numbers, in request order, within the rules above.
  std::vector<rtp::RtpPacket> on_nack(std::span<const uint16_t> seqs, Timestamp now, TimeDelta rtt);
  // The next sequence number of the RTX SSRC, for a packet built elsewhere (probe padding). The
  // RTX SSRC has this one counter for everything sent on it: with two, one kind of packet falls
  // behind the other by more than an SRTP replay window and the sender's SRTP refuses it.
  uint16_t take_rtx_sequence_number() { return next_rtx_seq_++; }

  const Stats& stats() const { return stats_; }

 private:
  struct Entry {
    rtp::RtpPacket packet;
    Timestamp send_time = Timestamp::MinusInfinity();
    Timestamp last_retransmit = Timestamp::MinusInfinity();
  };
  explicit PacketHistory(Config config);
  // The slot for `seq` (send time set, last_retransmit cleared) after the bounds are applied,
  // or nullptr when it is too old to keep.
  Entry* slot_for(uint16_t seq, Timestamp send_time);
  void trim(Timestamp now);
  void expire(Timestamp now);
  void refill(Timestamp now);
  DataSize bucket_capacity() const;

  Config config_;
  RtpSeqUnwrapper unwrapper_;
  SeqRing<Entry> packets_;  // by unwrapped sequence number
  uint16_t next_rtx_seq_;
  DataSize tokens_;
  std::optional<Timestamp> last_refill_;
  Stats stats_;
};

}  // namespace tern::recovery
