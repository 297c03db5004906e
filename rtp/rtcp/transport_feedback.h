// Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01,
// section 3.1): RTPFB FMT 15. The receiver reports, for a range of transport-wide sequence numbers,
// which packets arrived and when, as deltas from a 64 ms-resolution reference time.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P|  FMT=15 |    PT=205     |           length              |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                     SSRC of packet sender                     |
//  |                      SSRC of media source                     |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |      base sequence number     |      packet status count      |
//  |                 reference time                | fb pkt. count |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |          packet chunk         |         packet chunk          |
//  .                                                               .
//  |         packet chunk          |  recv delta   |  recv delta   |
//  .                                                               .
//  |           recv delta          |  recv delta   | zero padding  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Packet chunks (16 bits each) carry one status symbol per packet: 0 not received, 1 received with
// a 1-byte delta (0..63.75 ms in 250 us units), 2 received with a signed 2-byte delta, 3 reserved.
//   run length:    |0| S |      run length (13)     |   one symbol repeated
//   status vector: |1|0| 14 one-bit symbols (0/1)   |
//                  |1|1| 7 two-bit symbols          |
// Each receive delta is relative to the previous received packet (the first: to the reference
// time), so arrival times are the reference time plus the running sum of deltas.
//
// Building picks chunks greedily the way browsers do: a status vector while the symbols vary, a run
// length once the same symbol repeats past what a vector holds. Building is bounded: add_* refuses
// a packet once the feedback would exceed kMaxSizeBytes, and the caller starts a new feedback.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tern/core/units.h"
#include "tern/rtp/rtcp/common_header.h"

namespace tern::rtcp {

class TransportFeedback {
 public:
  static constexpr uint8_t kPacketType = kPtRtpfb;
  static constexpr uint8_t kFormat = 15;
  // Feedback grows one packet at a time up to this size on the wire (headers and padding included),
  // small enough for one UDP datagram next to other RTCP in a compound packet.
  static constexpr size_t kMaxSizeBytes = 1200;
  static constexpr size_t kMaxStatusCount = 0xFFFF;
  static constexpr TimeDelta kBaseTimeTick = TimeDelta::Millis(64);
  static constexpr TimeDelta kDeltaTick = TimeDelta::Micros(250);
  // The 24-bit reference time wraps after 2^24 ticks (about 12.4 days).
  static constexpr TimeDelta kBaseTimeWrapPeriod = TimeDelta::Millis(64 * (int64_t{1} << 24));

  // One packet in the reported range, received or not.
  struct PacketResult {
    uint16_t sequence_number = 0;
    // Arrival time minus base_time(); nullopt when the packet was not received.
    std::optional<TimeDelta> receive_delta_from_base;

    bool received() const { return receive_delta_from_base.has_value(); }
    friend bool operator==(const PacketResult&, const PacketResult&) = default;
  };

  // One received packet as carried on the wire: its delta from the previous received packet.
  struct ReceivedPacket {
    uint16_t sequence_number = 0;
    int16_t delta_ticks = 0;  // in kDeltaTick units

    TimeDelta delta() const { return kDeltaTick * delta_ticks; }
    friend bool operator==(const ReceivedPacket&, const ReceivedPacket&) = default;
  };

  TransportFeedback() = default;
  TransportFeedback(uint32_t sender_ssrc, uint32_t media_ssrc)
      : sender_ssrc_(sender_ssrc), media_ssrc_(media_ssrc) {}

  // --- Building ---

  // Starts the reported range at `base_seq` with reference time `ref_time` (rounded down to 64 ms,
  // kept modulo the 24-bit wrap). Clears any packets added before.
  void set_base(uint16_t base_seq, Timestamp ref_time);
  // The 8-bit feedback packet count, letting the media sender detect lost feedback.
  void set_feedback_sequence(uint8_t count) { feedback_sequence_ = count; }
  // Records `seq` as received at `arrival` (same clock as set_base's ref_time); sequence numbers
  // skipped since the previous call are reported as not received. Returns false, changing nothing,
  // when seq is not newer than every packet already covered (or lies half the sequence space or
  // more ahead, which cannot be told from a late packet), when the delta from the previous
  // arrival does not fit 16 bits of 250 us (-8.192 s..8.19175 s), or when the packet would grow past
  // kMaxSizeBytes or kMaxStatusCount.
  bool add_received_packet(uint16_t seq, Timestamp arrival);

  // --- Reading ---

  uint32_t sender_ssrc() const { return sender_ssrc_; }
  uint32_t media_ssrc() const { return media_ssrc_; }
  uint16_t base_sequence() const { return base_seq_; }
  uint8_t feedback_sequence() const { return feedback_sequence_; }
  // Number of packets covered (received and not), starting at base_sequence().
  size_t packet_status_count() const { return status_count_; }
  // The reference time: the signed 24-bit field times 64 ms (in the feedback sender's clock).
  Timestamp base_time() const { return Timestamp::Micros(int64_t{base_ticks_} * kBaseTimeTick.us()); }
  // base_time() minus `earlier`'s base time, modulo the 24-bit wrap, in [-wrap/2, wrap/2).
  TimeDelta base_time_delta_since(const TransportFeedback& earlier) const;
  // Every covered packet in sequence order, received or not (packet_status_count() entries).
  std::vector<PacketResult> packets() const;
  // Only the received packets, in sequence order, with their wire deltas (no allocation).
  std::span<const ReceivedPacket> received_packets() const { return received_; }

  // --- Wire format ---

  // Reads header.payload. Rejects, with a reason: a wrong type, a zero status count, chunks or
  // deltas running past the end, reserved symbols for covered packets, more than 3 trailing bytes.
  static Result<TransportFeedback> parse(const CommonHeader& header);
  // Bytes on the wire, common header and zero padding included.
  size_t size() const;
  // Writes exactly size() bytes (chunks re-encoded the canonical way, whatever the parsed input used).
  // With no packets added the status count is 0, which parse() rejects: send only non-empty ones.
  void write(ByteWriter& out) const;

  friend bool operator==(const TransportFeedback&, const TransportFeedback&) = default;

 private:
  // Symbols of the packet chunks.
  enum Symbol : uint8_t { kNotReceived = 0, kSmallDelta = 1, kLargeDelta = 2 };

  // The chunk being filled; once it cannot take another symbol, the encoder emits one finished chunk
  // from its front. Kept canonical (unused slots zero) so that equal feedbacks compare equal.
  struct OpenChunk {
    static constexpr size_t kVectorCapacity = 14;
    std::array<uint8_t, kVectorCapacity> symbols{};  // the first min(size, 14) symbols
    uint16_t size = 0;
    bool all_same = true;
    bool has_large = false;
    friend bool operator==(const OpenChunk&, const OpenChunk&) = default;
  };

  void add_symbols(Symbol symbol, size_t count);
  void add_symbol(Symbol symbol);
  void emit_front();
  static uint16_t encode_vector(const OpenChunk& c, size_t n, bool two_bit);
  size_t unpadded_size() const;
  void clear_packets();

  uint32_t sender_ssrc_ = 0;
  uint32_t media_ssrc_ = 0;
  uint16_t base_seq_ = 0;
  int32_t base_ticks_ = 0;  // sign-extended 24-bit reference time
  uint8_t feedback_sequence_ = 0;
  uint32_t status_count_ = 0;
  int64_t delta_sum_ticks_ = 0;  // sum of all receive deltas: last arrival minus base_time()
  size_t delta_bytes_ = 0;
  std::vector<ReceivedPacket> received_;
  std::vector<uint16_t> chunks_;  // finished chunks, in wire order
  OpenChunk open_;
};

}  // namespace tern::rtcp
