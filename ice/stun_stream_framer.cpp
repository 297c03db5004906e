#include "tern/ice/stun_stream_framer.h"

#include "tern/ice/channel_data.h"
#include "tern/ice/stun_message.h"

namespace tern::ice {

Status StunStreamFramer::push(std::span<const uint8_t> bytes) {
  if (failed()) return Error{error_};
  // Compact what was consumed before growing.
  if (start_ > 0) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
    start_ = 0;
  }
  if (buffer_.size() + bytes.size() > kMaxBuffered) {
    error_ = "stream buffer bound exceeded";
    return Error{error_};
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  return Status::Ok();
}

std::span<const uint8_t> StunStreamFramer::next() {
  if (failed()) return {};
  const std::span<const uint8_t> rest = std::span<const uint8_t>(buffer_).subspan(start_);
  if (rest.size() < 4) return {};
  size_t size = 0;
  if ((rest[0] & 0xC0) == 0) {
    size = stun_message_size(rest);
    if ((size & 3) != 0) {
      error_ = "STUN length not a multiple of 4 in stream";
      return {};
    }
  } else if (ChannelData::looks_like_channel_data(rest[0])) {
    // Framed by its length whatever the number: a reserved one is dropped by the parser, and the
    // stream stays in step.
    size = ChannelData::stream_size(rest);
  } else {
    error_ = "stream out of step (neither STUN nor ChannelData)";
    return {};
  }
  if (rest.size() < size) return {};
  start_ += size;
  return rest.first(size);
}

}  // namespace tern::ice
