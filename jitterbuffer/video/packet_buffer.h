// The video packet buffer and frame assembler: holds RTP packets by sequence number until every
// packet of a frame (first packet to marker, one RTP timestamp) is present, then joins their codec
// bytes into an EncodedVideoFrame. Packets may arrive in any order, duplicated or late.
//
// Memory: a ring of slots indexed by sequence number that starts at `start_capacity` and doubles
// on collision up to `max_capacity`. When full at the largest size the whole buffer is cleared and
// the caller is told to ask for a keyframe (the libwebrtc policy: a stream that far behind cannot
// be repaired by retransmission). A run of packets from further behind than `max_capacity` makes
// it start over too (InsertResult::resynced): the newest number it had was a jump the stream never
// made.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/seq_num.h"
#include "tern/core/units.h"
#include "tern/jitterbuffer/video/encoded_video_frame.h"
#include "tern/jitterbuffer/video/video_header.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::jitterbuffer {

struct PacketBufferConfig {
  size_t start_capacity = 512;   // packets; a power of two
  size_t max_capacity = 2048;    // packets; a power of two >= start_capacity
  size_t max_frame_size = 4 * 1024 * 1024;  // bytes; larger frames are dropped

  // Fails on capacities that are zero, not powers of two, or out of order.
  Status validate() const;
};

struct PacketBufferStats {
  uint64_t packets_inserted = 0;
  uint64_t duplicates = 0;        // same sequence number already held
  uint64_t too_old = 0;           // at or before clear_to(), or older than the buffer reaches
  uint64_t frames_assembled = 0;
  uint64_t frames_too_large = 0;
  uint64_t buffer_clears = 0;     // full at max_capacity
  uint64_t resyncs = 0;           // started over behind a sequence-number jump (see insert())
};

class PacketBuffer {
 public:
  struct InsertResult {
    std::vector<EncodedVideoFrame> frames;  // completed by this packet, in sequence order
    bool buffer_cleared = false;            // was full: every packet dropped, ask for a keyframe
    // Started over at this packet: kResyncRun packets in a row came from further behind the
    // newest (or cleared-to) number than max_capacity, so that number was a jump the stream never
    // made (a corrupt or forged packet) or the sender restarted its numbering. Every packet was
    // dropped and numbers are accepted from here; ask for a keyframe, forget the frame history.
    bool resynced = false;
  };

  // `config` must validate(); an invalid one is replaced by the defaults.
  explicit PacketBuffer(const PacketBufferConfig& config = {});

  // Takes ownership of `packet` whose video header and codec-byte range are given in `parsed`.
  InsertResult insert(rtp::RtpPacket packet, const ParsedVideoPacket& parsed, Timestamp now);
  // Drops every packet up to and including `seq` (unwrapped) and refuses such packets from now on:
  // called once the frame ending there has left the jitter buffer.
  void clear_to(int64_t seq);
  // Drops every packet held.
  void clear();

  // Packets held with their bytes (waiting for the rest of their frame).
  size_t size() const { return held_; }
  size_t capacity() const { return slots_.size(); }
  const PacketBufferStats& stats() const { return stats_; }

 private:
  struct Slot {
    bool used = false;
    bool continuous = false;  // this and every earlier packet of its frame are present
    bool out_of_order = false;
    bool assembled = false;   // tombstone: its frame went out, only the number is kept
    int64_t seq = 0;          // unwrapped
    rtp::RtpPacket packet;
    VideoHeader header;
    uint32_t payload_offset = 0;
    uint32_t payload_size = 0;
    Timestamp arrival = Timestamp::MinusInfinity();
  };

  Slot* find(int64_t seq);
  bool grow();
  bool potential_new_frame(int64_t seq);
  void assemble(int64_t last_seq, Timestamp now, std::vector<EncodedVideoFrame>& out);
  void free_slot(Slot& slot);
  void mark_assembled(Slot& slot);

  static constexpr int kResyncRun = 16;

  PacketBufferConfig config_;
  std::vector<Slot> slots_;
  int behind_run_ = 0;  // packets in a row further behind than the buffer reaches
  size_t held_ = 0;
  RtpSeqUnwrapper unwrapper_;
  std::optional<int64_t> newest_;
  std::optional<int64_t> cleared_to_;
  PacketBufferStats stats_;
};

}  // namespace tern::jitterbuffer
