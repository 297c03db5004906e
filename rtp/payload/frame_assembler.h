// Joins the codec bytes of one frame's RTP packets, in order, into one contiguous frame: the last
// step between a depacketizer and a decoder. The packets must already be ordered and complete
// (that is the jitter buffer's job); this only checks that the parts start and end a frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tern/core/result.h"

namespace tern::rtp {

class FrameAssembler {
 public:
  static constexpr size_t kDefaultMaxFrameSize = 4 * 1024 * 1024;

  // Frames larger than `max_frame_size` bytes are refused and dropped (bounded memory).
  explicit FrameAssembler(size_t max_frame_size = kDefaultMaxFrameSize) : max_frame_size_(max_frame_size) {}

  // Appends one packet's codec bytes. `first` starts a new frame (dropping an unfinished one);
  // a part with no frame started, or after the frame was completed by `last`, is refused.
  Status add(std::span<const uint8_t> part, bool first, bool last);
  bool complete() const { return complete_; }
  // The frame so far; valid until the next add(), take() or reset().
  std::span<const uint8_t> frame() const { return buffer_; }
  // Hands over the frame and starts afresh.
  std::vector<uint8_t> take();
  void reset();

 private:
  size_t max_frame_size_;
  std::vector<uint8_t> buffer_;
  bool started_ = false;
  bool complete_ = false;
};

// Parses each payload of one frame with `Depacketizer::parse` and joins their codec bytes. The
// first payload must start a frame and no later one may; any parse error is returned as is.
template <typename Depacketizer>
Result<std::vector<uint8_t>> assemble_frame(std::span<const std::span<const uint8_t>> rtp_payloads,
                                            size_t max_frame_size = FrameAssembler::kDefaultMaxFrameSize) {
  if (rtp_payloads.empty()) return Error{"assembler: no packets"};
  FrameAssembler assembler(max_frame_size);
  for (size_t i = 0; i < rtp_payloads.size(); ++i) {
    auto parsed = Depacketizer::parse(rtp_payloads[i]);
    if (!parsed) return Error{parsed.error()};
    if (parsed->is_first_packet_in_frame != (i == 0))
      return Error{i == 0 ? "assembler: first packet does not start a frame"
                          : "assembler: frame start inside the frame"};
    Status s = assembler.add(parsed->payload, i == 0, i + 1 == rtp_payloads.size());
    if (!s) return Error{s.error()};
  }
  return assembler.take();
}

}  // namespace tern::rtp
