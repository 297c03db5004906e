#include "tern/jitterbuffer/video/packet_buffer.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace tern::jitterbuffer {
namespace {

bool power_of_two(size_t v) { return v != 0 && (v & (v - 1)) == 0; }

size_t index_of(int64_t seq, size_t capacity) {
  return static_cast<size_t>(static_cast<uint64_t>(seq) & (capacity - 1));
}

}  // namespace

Status PacketBufferConfig::validate() const {
  if (!power_of_two(start_capacity) || !power_of_two(max_capacity))
    return Error{"packet buffer: capacities must be powers of two"};
  if (start_capacity > max_capacity) return Error{"packet buffer: start_capacity above max_capacity"};
  if (max_capacity > 32768) return Error{"packet buffer: max_capacity above half the sequence space"};
  if (max_frame_size == 0) return Error{"packet buffer: max_frame_size is zero"};
  return Status::Ok();
}

PacketBuffer::PacketBuffer(const PacketBufferConfig& config)
    : config_(config.validate().ok() ? config : PacketBufferConfig{}) {
  slots_.resize(config_.start_capacity);
}

PacketBuffer::Slot* PacketBuffer::find(int64_t seq) {
  Slot& s = slots_[index_of(seq, slots_.size())];
  return s.used && s.seq == seq ? &s : nullptr;
}

void PacketBuffer::free_slot(Slot& slot) {
  if (!slot.assembled) --held_;
  slot.used = false;
  slot.assembled = false;
  slot.continuous = false;
  slot.packet = rtp::RtpPacket();
}

void PacketBuffer::mark_assembled(Slot& slot) {
  // The sequence number stays as a tombstone so that a late duplicate is recognised.
  slot.assembled = true;
  slot.continuous = false;
  slot.packet = rtp::RtpPacket();
  --held_;
}

bool PacketBuffer::grow() {
  if (slots_.size() >= config_.max_capacity) return false;
  std::vector<Slot> bigger(slots_.size() * 2);
  for (Slot& s : slots_) {
    if (s.used) bigger[index_of(s.seq, bigger.size())] = std::move(s);
  }
  slots_ = std::move(bigger);
  return true;
}

PacketBuffer::InsertResult PacketBuffer::insert(rtp::RtpPacket packet, const ParsedVideoPacket& parsed,
                                                Timestamp now) {
  InsertResult result;
  ++stats_.packets_inserted;
  const int64_t seq = unwrapper_.unwrap(packet.sequence_number());
  // Further behind than the buffer reaches: a stale packet, or the stream itself is behind a jump
  // that one corrupt or forged packet (a sequence number far ahead) made. Left alone, that jump
  // would have every later packet refused until the stream catches up with it (thousands of
  // packets); a run of such packets shows the stream is here, so the buffer starts over from it.
  const std::optional<int64_t> front = newest_ && cleared_to_ ? std::max(*newest_, *cleared_to_)
                                                               : (newest_ ? newest_ : cleared_to_);
  if (front && seq <= *front - static_cast<int64_t>(config_.max_capacity)) {
    if (++behind_run_ < kResyncRun) {
      ++stats_.too_old;
      return result;
    }
    clear();
    newest_.reset();
    cleared_to_.reset();
    ++stats_.resyncs;
    result.resynced = true;
  } else if (cleared_to_ && seq <= *cleared_to_) {
    behind_run_ = 0;
    ++stats_.too_old;
    return result;
  }
  behind_run_ = 0;
  Slot* slot = &slots_[index_of(seq, slots_.size())];
  while (slot->used) {
    if (slot->seq == seq) {
      ++stats_.duplicates;  // also a late copy of a packet whose frame was already assembled
      return result;
    }
    if (slot->assembled) break;  // only a marker that its frame went out: reuse it
    if (!grow()) {
      // Full at the largest size: start over and let the caller ask for a keyframe.
      clear();
      ++stats_.buffer_clears;
      result.buffer_cleared = true;
      slot = &slots_[index_of(seq, slots_.size())];
      break;
    }
    slot = &slots_[index_of(seq, slots_.size())];
  }
  if (slot->used) free_slot(*slot);
  slot->used = true;
  slot->assembled = false;
  slot->continuous = false;
  slot->seq = seq;
  slot->out_of_order = newest_.has_value() && seq < *newest_;
  slot->header = parsed.header;
  slot->payload_offset = static_cast<uint32_t>(parsed.payload_offset);
  slot->payload_size = static_cast<uint32_t>(parsed.payload_size);
  slot->arrival = now;
  slot->packet = std::move(packet);
  ++held_;
  if (!newest_ || seq > *newest_) newest_ = seq;

  // Mark continuity forward from this packet; every frame whose last packet becomes continuous is
  // complete. Bounded by the ring size.
  int64_t cur = seq;
  for (size_t n = 0; n < slots_.size(); ++n, ++cur) {
    if (!potential_new_frame(cur)) break;
    Slot* s = find(cur);
    s->continuous = true;
    if (s->header.last_packet_in_frame) assemble(cur, now, result.frames);
  }
  return result;
}

bool PacketBuffer::potential_new_frame(int64_t seq) {
  Slot* s = find(seq);
  if (s == nullptr || s->assembled) return false;
  if (s->header.first_packet_in_frame) return true;
  Slot* prev = find(seq - 1);
  if (prev == nullptr || !prev->continuous) return false;
  // A frame never spans two timestamps; the previous packet must belong to this frame.
  return prev->packet.timestamp() == s->packet.timestamp() && !prev->header.last_packet_in_frame;
}

void PacketBuffer::assemble(int64_t last_seq, Timestamp now, std::vector<EncodedVideoFrame>& out) {
  // Walk back to the first packet (all present: they are continuous).
  int64_t first_seq = last_seq;
  size_t total = 0;
  for (size_t n = 0; n < slots_.size(); ++n) {
    Slot* s = find(first_seq);
    total += s->payload_size;
    if (s->header.first_packet_in_frame) break;
    --first_seq;
  }
  Slot* first = find(first_seq);
  EncodedVideoFrame frame;
  const bool too_large = total > config_.max_frame_size;
  if (!too_large) frame.data.resize(total);
  frame.header = first->header;
  frame.header.num_p_diffs = 0;
  frame.rtp_timestamp = first->packet.timestamp();
  frame.keyframe = first->header.keyframe;
  frame.first_seq = first_seq;
  frame.last_seq = last_seq;
  frame.num_packets = static_cast<size_t>(last_seq - first_seq + 1);
  frame.first_receive_time = Timestamp::PlusInfinity();
  frame.receive_time = now;
  size_t pos = 0;
  for (int64_t q = first_seq; q <= last_seq; ++q) {
    Slot* s = find(q);
    const VideoHeader& h = s->header;
    if (!too_large && s->payload_size > 0) {
      std::memcpy(frame.data.data() + pos, s->packet.data().data() + s->payload_offset, s->payload_size);
      pos += s->payload_size;
    }
    // References of every spatial layer, so that the picture waits for all it needs.
    if (h.layer_start) {
      for (size_t i = 0; i < h.num_p_diffs; ++i) {
        auto& m = frame.header;
        const auto end = m.p_diff.begin() + m.num_p_diffs;
        if (std::find(m.p_diff.begin(), end, h.p_diff[i]) == end && m.num_p_diffs < m.p_diff.size())
          m.p_diff[m.num_p_diffs++] = h.p_diff[i];
      }
      if (h.width != 0) {
        frame.width = h.width;
        frame.height = h.height;
      }
    }
    frame.retransmitted = frame.retransmitted || s->out_of_order;
    frame.first_receive_time = std::min(frame.first_receive_time, s->arrival);
    mark_assembled(*s);
  }
  if (too_large) {
    ++stats_.frames_too_large;
    return;
  }
  ++stats_.frames_assembled;
  out.push_back(std::move(frame));
}

void PacketBuffer::clear_to(int64_t seq) {
  if (cleared_to_ && seq <= *cleared_to_) return;
  const int64_t from = cleared_to_ ? *cleared_to_ + 1 : seq - static_cast<int64_t>(slots_.size()) + 1;
  // Only the last slots_.size() numbers can be held; older ones were overwritten or never held.
  for (int64_t q = std::max(from, seq - static_cast<int64_t>(slots_.size()) + 1); q <= seq; ++q) {
    if (Slot* s = find(q)) free_slot(*s);
  }
  cleared_to_ = seq;
}

void PacketBuffer::clear() {
  for (Slot& s : slots_) {
    if (s.used) free_slot(s);
  }
  // The unwrapper and clear_to() point stay: frame ids downstream must keep increasing.
}

}  // namespace tern::jitterbuffer
