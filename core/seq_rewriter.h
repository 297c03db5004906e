// SeqRewriter: a forwarder's own RTP sequence numbering for one outgoing stream (the role of
// mediasoup's SeqManager). Output = (unwrapped input + offset) mod 2^16, so gaps and reordering
// pass through as they came and a receiver's NACKs name real losses; a window of recently
// forwarded inputs catches duplicates (an RTX copy after its original, a network duplicate).
// switch_source() starts a new input stream (another sender, a simulcast layer) whose first packet
// follows the last number sent, so the output never jumps or repeats.
//
// Bounded: the duplicate window holds kWindow input numbers; an input more than kWindow behind a
// newer one that shared its slot is forwarded again (too old for a jitter buffer to keep).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>

#include "tern/core/seq_num.h"

namespace tern {

class SeqRewriter {
 public:
  static constexpr size_t kWindow = 2048;

  // `offset`: added to the unwrapped input numbers of the first source (a random start, RFC 3550
  // 5.1). Only its low 16 bits matter.
  explicit SeqRewriter(uint16_t offset = 0) : offset_(offset) { forwarded_.fill(kNone); }

  // The output number of input `seq`, or nullopt when `seq` was forwarded already.
  std::optional<uint16_t> rewrite(uint16_t seq) {
    const int64_t unwrapped = unwrapper_.unwrap(seq);
    if (switching_) {
      switching_ = false;
      offset_ = (highest_output_ ? *highest_output_ + 1 : 0) - unwrapped;
    }
    int64_t& slot = forwarded_[static_cast<size_t>(((unwrapped % kSlots) + kSlots) % kSlots)];
    if (slot == unwrapped) return std::nullopt;
    slot = unwrapped;
    const int64_t out = unwrapped + offset_;
    if (!highest_output_ || out > *highest_output_) highest_output_ = out;
    return static_cast<uint16_t>(out & 0xFFFF);
  }

  // The next input comes from a new source: its first packet gets the number after the highest
  // sent, later ones follow its numbering; the old source's duplicates are forgotten.
  void switch_source() {
    unwrapper_.reset();
    forwarded_.fill(kNone);
    switching_ = true;
  }

 private:
  static constexpr int64_t kSlots = static_cast<int64_t>(kWindow);
  static constexpr int64_t kNone = std::numeric_limits<int64_t>::min();  // no unwrapped input is this

  RtpSeqUnwrapper unwrapper_;
  int64_t offset_;
  std::optional<int64_t> highest_output_;  // unwrapped output space
  bool switching_ = false;
  std::array<int64_t, kWindow> forwarded_;
};

}  // namespace tern
