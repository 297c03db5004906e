// StunStreamFramer: splits a byte stream to or from a TURN server over TCP or TLS (RFC 8656 3.1,
// RFC 8489 6.2.2) into whole messages. The stream carries STUN messages, framed by their own
// length field (20 + length), and ChannelData messages, framed by theirs padded to 4 bytes
// (RFC 8656 12.5). No other first bytes can occur: anything else means the stream is out of
// step, which is unrecoverable, so the framer stops (failed() and a reason) instead of guessing.
//
// Bounds: at most kMaxBuffered bytes are held (one maximal message plus a partial next one); a
// push() that would exceed it fails the framer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tern/core/result.h"

namespace tern::ice {

class StunStreamFramer {
 public:
  static constexpr size_t kMaxBuffered = 2 * (20 + 0xFFFF);

  // Appends received bytes. Fails (and stays failed) when the buffer bound is exceeded.
  Status push(std::span<const uint8_t> bytes);
  // The next whole message (STUN or ChannelData, padding included), valid until the next call to
  // next() or push(); empty when none is complete or the framer failed.
  std::span<const uint8_t> next();

  bool failed() const { return error_ != nullptr; }
  const char* error() const { return error_ ? error_ : ""; }
  size_t buffered() const { return buffer_.size() - start_; }

 private:
  std::vector<uint8_t> buffer_;
  size_t start_ = 0;  // bytes before start_ were handed out already
  const char* error_ = nullptr;
};

}  // namespace tern::ice
