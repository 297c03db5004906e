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
// (no allocation once warm). A forwarder's hop puts a packet by reference instead (put() with a
// StoredPacketRef, recovery/packet_store.h): the entry keeps the packet's header and the first
// kSharedPrefix payload bytes as sent (what the hop rewrote) and refers to the rest in the sender's
// shared store; the RTX packet is rebuilt from the two when a NACK asks (the same bytes as from a
// copy), and a packet the store dropped meanwhile is not found. The history pins (shared_ptr) the
// stores its entries refer to, and releases a store when its last entry leaves.
// on_nack() turns requested sequence numbers into RTX packets:
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

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/seq_ring.h"
#include "tern/core/seq_num.h"
#include "tern/core/units.h"
#include "tern/recovery/packet_store.h"
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
    // ULPFEC inside that RED: a stored packet whose primary block is of this payload type is a FEC
    // packet and is not retransmitted (libwebrtc keeps FEC out of its history too). It shares the
    // media's sequence numbers, so a receiver NACKs a lost one like media; resent, it repaired
    // nothing a retransmission of the media would not, and unwrapped as above it went out under
    // the codec's RTX type: the receiver took ULPFEC bytes for a VP8 packet of the frame (a
    // 240 ms, 5% loss call: 28 of 68 retransmissions were FEC packets, tests/pipeline).
    std::optional<uint8_t> fec_payload_type;
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
    uint64_t not_found = 0;           // never sent, expired or evicted (store_misses included)
    uint64_t store_misses = 0;        // kept by reference, and the shared store had dropped it
    uint64_t refused_fec = 0;         // a FEC packet (Config::fec_payload_type)
  };
  // Payload bytes an entry kept by reference holds as sent: a forwarder rewrites at most the
  // payload descriptor (VP8/VP9 picture id and TL0PICIDX, within the first 5 bytes); the rest must
  // be the stored packet's.
  static constexpr size_t kSharedPrefix = 8;

  // Rejects a zero max_packets, a non-positive max_age or budget_window, a negative rate, or a
  // resend_guard outside [0, 1].
  static Result<PacketHistory> Create(Config config);

  // Stores a packet as sent at `send_time` (a packet with the same sequence number is replaced).
  // The const& form copies into the slot's reused buffer; the && form takes the packet's.
  void put(const rtp::RtpPacket& packet, Timestamp send_time);
  void put(rtp::RtpPacket&& packet, Timestamp send_time);
  // `packet` as sent, whose bytes past its header and first kSharedPrefix payload bytes are those of
  // `stored` at the same payload offsets: kept by reference (header and prefix copied). Copied
  // instead when `stored` is null, no longer held, or of another payload size.
  void put(const rtp::RtpPacket& packet, const StoredPacketRef& stored, Timestamp send_time);
  // The stored packet with this sequence number, if any (one kept by reference is rebuilt: the
  // pointer is valid until the next call).
  const rtp::RtpPacket* get(uint16_t seq) const;
  // Stores the entries refer to now (pinned).
  size_t pinned_stores() const { return pins_.size(); }
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
  // Split for the forwarder's per-packet path (one history per subscriber-stream, each put lands
  // on a slot not touched since the ring last came round, a cache miss per line). The hot part,
  // what put, the count bound and expiry touch per packet (store reference, send time), is 24
  // bytes in the ring (32 with its key: two slots a cache line), so dropping the oldest entry
  // touches half a line. The cold part, what only a put writes and a NACK reads (the header and
  // prefix as sent, the last retransmission, a copy), is a parallel array of one line-aligned
  // 128-byte entry per ring slot (cold_[key mod capacity]): a put with a head of up to 47 bytes
  // writes one line of it. Header and prefix of up to kMaxHead bytes; a longer one is copied.
  static constexpr size_t kMaxHead = 96;
  struct Entry {
    const PacketStore* store = nullptr;  // kept by reference: the packet `number` there
    uint64_t number = 0;
    Timestamp send_time = Timestamp::MinusInfinity();
  };
  struct alignas(64) Cold {
    // Sets the fields at the front only: the array grows by doubling, and zeroing (or moving) the
    // whole head of every slot cost more than the puts' writes (measured: 3.5% of the router bench).
    Cold() {}  // NOLINT(modernize-use-equals-default): not value-initialised, see above
    Timestamp last_retransmit = Timestamp::MinusInfinity();
    std::unique_ptr<rtp::RtpPacket> copy;  // a copy (store == nullptr); kept for reuse otherwise
    uint8_t head_size = 0;
    std::array<uint8_t, kMaxHead> head;  // ... its header and first payload bytes as sent
  };
  struct Slot {
    Entry* hot = nullptr;
    Cold* cold = nullptr;
  };
  // A store entries refer to, and how many do.
  struct Pin {
    std::shared_ptr<PacketStore> store;
    size_t entries = 0;
  };
  explicit PacketHistory(Config config);
  // The slot for `seq` (send time set, last_retransmit cleared) after the bounds are applied,
  // or null parts when it is too old to keep.
  Slot slot_for(uint16_t seq, Timestamp send_time);
  // The cold part of the entry with this (unwrapped) key.
  Cold& cold_of(int64_t key) { return cold_[static_cast<size_t>(static_cast<uint64_t>(key)) & (cold_.size() - 1)]; }
  const Cold& cold_of(int64_t key) const { return const_cast<PacketHistory*>(this)->cold_of(key); }
  // The ring grew: the live entries' cold parts move to their new slots (but `fresh`'s, just
  // inserted, whose old slot may be another live entry's).
  void regrow_cold(int64_t fresh);
  // The entry leaves (dropped, or replaced): its store reference is released.
  void release(Entry& e);
  void drop_front();
  // The entry's packet: the copy, or rebuilt into `scratch` (nullptr: the store dropped it).
  const rtp::RtpPacket* packet_of(const Entry& e, const Cold& c, rtp::RtpPacket& scratch) const;
  void trim(Timestamp now);
  void expire(Timestamp now);
  void refill(Timestamp now);
  DataSize bucket_capacity() const;

  Config config_;
  RtpSeqUnwrapper unwrapper_;
  SeqRing<Entry> packets_;  // by unwrapped sequence number
  std::vector<Cold> cold_;  // packets_.capacity() entries, by key mod that
  std::vector<Pin> pins_;  // the stores entries refer to (few: a sender's, several over switches)
  mutable rtp::RtpPacket scratch_;  // get()'s rebuilt packet
  uint16_t next_rtx_seq_;
  DataSize tokens_;
  std::optional<Timestamp> last_refill_;
  Stats stats_;
};

}  // namespace tern::recovery
