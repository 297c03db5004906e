#include "tern/rtp/payload/frame_assembler.h"

#include <utility>

namespace tern::rtp {

Status FrameAssembler::add(std::span<const uint8_t> part, bool first, bool last) {
  if (first) {
    buffer_.clear();
    started_ = true;
    complete_ = false;
  } else if (!started_ || complete_) {
    return Error{started_ ? "assembler: part after the frame ended" : "assembler: part without a frame start"};
  }
  if (part.size() > max_frame_size_ - buffer_.size()) {
    reset();
    return Error{"assembler: frame exceeds the size limit"};
  }
  buffer_.insert(buffer_.end(), part.begin(), part.end());
  complete_ = last;
  return Status::Ok();
}

std::vector<uint8_t> FrameAssembler::take() {
  std::vector<uint8_t> out = std::move(buffer_);
  reset();
  return out;
}

void FrameAssembler::reset() {
  buffer_.clear();
  started_ = false;
  complete_ = false;
}

}  // namespace tern::rtp
