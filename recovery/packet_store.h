// PacketStore: one sender's recent RTP packets, shared by the packet histories of every hop that
// forwards them (a media server's subscribers), so that each subscriber's RTX history keeps a
// reference and the few bytes it sent differently (its header, the payload descriptor a layer
// selector rewrote) instead of a copy of the whole packet (mediasoup keeps one shared packet per
// publisher packet for its consumers' retransmission buffers likewise). A subscriber's RTX packet
// is rebuilt from the two only when a NACK asks for it (PacketHistory::on_nack).
//
// Packets are numbered by the store in the order put (1, 2, ...); a number is looked up while the
// packet is held. Bounds and the policy when full: at most `max_packets` are held (a put beyond
// drops the oldest), and a packet older than `max_age` is dropped at the next put (the oldest
// first). A history entry whose packet left the store answers its NACK as not found, exactly as an
// expired entry (PacketHistory::Stats::not_found, and store_misses). Slots keep their buffers: a
// put copies into a reused one (no allocation once warm); the slot count follows what is held,
// up to max_packets rounded up to a power of two (core/seq_ring.h).
//
// Owned through std::shared_ptr (Create): a history pins the stores its entries refer to, so a
// store outlives its sender's leg while a subscriber still holds entries of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/seq_ring.h"
#include "tern/core/units.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::recovery {

class PacketStore {
 public:
  struct Config {
    size_t max_packets = 2048;
    TimeDelta max_age = TimeDelta::Seconds(1);
  };
  // One held packet: its bytes and where its payload starts (the header's size).
  struct Stored {
    std::span<const uint8_t> bytes;
    size_t payload_offset = 0;
  };

  // Rejects a zero max_packets or a non-positive max_age.
  static Result<std::shared_ptr<PacketStore>> Create(const Config& config);

  // Keeps a copy of `packet` (put at `now`); returns its number (the first is 1).
  uint64_t put(const rtp::RtpPacket& packet, Timestamp now);
  // Packet `number` while held; nullopt once dropped (or never put).
  std::optional<Stored> get(uint64_t number) const;

  size_t size() const { return packets_.size(); }
  // Slots allocated (follows what is held, up to max_packets rounded up to a power of two).
  size_t capacity() const { return packets_.capacity(); }
  // Packets dropped by the count bound (the store was full), and by age.
  uint64_t dropped_full() const { return dropped_full_; }
  uint64_t dropped_age() const { return dropped_age_; }

  explicit PacketStore(const Config& config);  // use Create (a shared_ptr is what histories pin)

 private:
  struct Slot {
    std::vector<uint8_t> bytes;
    uint16_t payload_offset = 0;
    Timestamp put_time = Timestamp::MinusInfinity();
  };
  Config config_;
  SeqRing<Slot> packets_;  // by number
  uint64_t next_number_ = 1;
  uint64_t dropped_full_ = 0;
  uint64_t dropped_age_ = 0;
};

// A packet's place in a store, carried beside a forwarded packet to its hop's history (the
// pointer only for the call: the history pins the store itself when it keeps an entry of it).
struct StoredPacketRef {
  const std::shared_ptr<PacketStore>* store = nullptr;  // null: no shared copy, the history copies
  uint64_t number = 0;
};

}  // namespace tern::recovery
