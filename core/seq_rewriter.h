// SeqRewriter: a forwarder's own RTP sequence numbering for one outgoing stream (the role of
// mediasoup's SeqManager). Output = (unwrapped input + offset) mod 2^16, so gaps and reordering
// pass through as they came and a receiver's NACKs name real losses; a window of recently
// forwarded inputs catches duplicates (an RTX copy after its original, a network duplicate).
// switch_source() starts a new input stream (another sender, a simulcast layer) whose first packet
// follows the last number sent, so the output never jumps or repeats.
//
// drop() takes an input out of the numbering (a packet of a temporal layer the receiver does not
// get): inputs after it are numbered one lower, so the output stays contiguous and a receiver
// never NACKs a packet that was never sent. Only an input newer than every input seen can be
// dropped that way (with, optionally, the unseen inputs just before it, lost on the way in and
// known to belong to the same dropped frame); an older one leaves a hole where its number was
// already implied (counted in late_drops()). A dropped input is remembered like a forwarded one:
// its retransmission is refused by rewrite().
//
// Bounded: the duplicate window holds kWindow input numbers; an input more than kWindow behind a
// newer one that shared its slot is forwarded again (too old for a jitter buffer to keep). The
// offset history holds at most kMaxOffsetChanges entries (the oldest go: an input older than every
// change kept is numbered with the oldest offset kept, as a too-late packet).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <optional>

#include "tern/core/seq_num.h"

namespace tern {

class SeqRewriter {
 public:
  static constexpr size_t kWindow = 2048;
  static constexpr size_t kMaxOffsetChanges = 256;

  // `offset`: added to the unwrapped input numbers of the first source (a random start, RFC 3550
  // 5.1). Only its low 16 bits matter.
  explicit SeqRewriter(uint16_t offset = 0) : offset_(offset) { forwarded_.fill(kNone); }

  // The output number of input `seq`, or nullopt when `seq` was forwarded (or dropped) already.
  std::optional<uint16_t> rewrite(uint16_t seq) {
    const int64_t unwrapped = unwrap(seq);
    int64_t& slot = slot_of(unwrapped);
    if (slot == unwrapped) return std::nullopt;
    slot = unwrapped;
    const int64_t out = unwrapped + offset_at(unwrapped);
    if (!highest_output_ || out > *highest_output_) highest_output_ = out;
    if (!highest_input_ || unwrapped > *highest_input_) highest_input_ = unwrapped;
    return static_cast<uint16_t>(out & 0xFFFF);
  }

  // Input `seq` is not forwarded. `with_gap`: nor are the inputs between the newest seen and it
  // (they were lost upstream inside the same dropped frame; their retransmissions are refused).
  // Returns false when `seq` was seen already (forwarded or dropped: nothing changes).
  bool drop(uint16_t seq, bool with_gap = false) {
    const int64_t unwrapped = unwrap(seq);
    int64_t& slot = slot_of(unwrapped);
    if (slot == unwrapped) return false;
    slot = unwrapped;
    if (highest_input_ && unwrapped <= *highest_input_) {
      ++late_drops_;  // its number is implied by the newer inputs already numbered: a hole
      return true;
    }
    int64_t count = 1;
    if (with_gap && highest_input_) {
      for (int64_t s = *highest_input_ + 1; s < unwrapped && count <= static_cast<int64_t>(kWindow); ++s, ++count) {
        slot_of(s) = s;
      }
    }
    highest_input_ = unwrapped;
    changes_.push_back({unwrapped + 1, offset_, offset_ - count});
    offset_ -= count;
    while (changes_.size() > kMaxOffsetChanges) changes_.pop_front();
    return true;
  }

  // The next input comes from a new source: its first packet gets the number after the highest
  // sent, later ones follow its numbering; the old source's duplicates are forgotten.
  void switch_source() {
    unwrapper_.reset();
    forwarded_.fill(kNone);
    changes_.clear();
    highest_input_.reset();
    switching_ = true;
  }

  uint64_t late_drops() const { return late_drops_; }

 private:
  static constexpr int64_t kSlots = static_cast<int64_t>(kWindow);
  static constexpr int64_t kNone = std::numeric_limits<int64_t>::min();  // no unwrapped input is this
  struct OffsetChange {
    int64_t from;    // first unwrapped input numbered with `after`
    int64_t before;  // the offset of the inputs before `from`
    int64_t after;
  };

  int64_t unwrap(uint16_t seq) {
    const int64_t unwrapped = unwrapper_.unwrap(seq);
    if (switching_) {
      switching_ = false;
      offset_ = (highest_output_ ? *highest_output_ + 1 : 0) - unwrapped;
    }
    return unwrapped;
  }
  int64_t& slot_of(int64_t unwrapped) { return forwarded_[static_cast<size_t>(((unwrapped % kSlots) + kSlots) % kSlots)]; }
  // The offset in force for `unwrapped`: that of the latest change at or before it, else the one
  // before the oldest change kept.
  int64_t offset_at(int64_t unwrapped) const {
    for (auto it = changes_.rbegin(); it != changes_.rend(); ++it) {
      if (it->from <= unwrapped) return it->after;
    }
    return changes_.empty() ? offset_ : changes_.front().before;
  }

  RtpSeqUnwrapper unwrapper_;
  int64_t offset_;
  std::optional<int64_t> highest_output_;  // unwrapped output space
  std::optional<int64_t> highest_input_;   // unwrapped input space
  bool switching_ = false;
  uint64_t late_drops_ = 0;
  std::deque<OffsetChange> changes_;
  std::array<int64_t, kWindow> forwarded_;
};

}  // namespace tern
