// BufferPool: datagram buffers handed back after they were sent, for the next packets to be built
// in (a media server copies every forwarded packet once per subscriber; a 1 KB+ allocation is above
// glibc's tcache, so each copy's malloc and, after sendmmsg, its free went through the main arena).
//
// Bounds and the policy when full: at most `max_buffers` are kept; give() of one more, or of a
// buffer whose capacity is under `buffer_size` or above 4 x buffer_size, frees it instead. take()
// returns a kept buffer (emptied, capacity >= buffer_size) or, the pool empty, a new one of
// buffer_size. Single-threaded, like the worker that owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tern {

class BufferPool {
 public:
  BufferPool(size_t buffer_size, size_t max_buffers) : buffer_size_(buffer_size), max_buffers_(max_buffers) {}

  // An empty buffer with capacity for at least buffer_size() bytes.
  std::vector<uint8_t> take() {
    if (free_.empty()) {
      ++allocated_;
      std::vector<uint8_t> fresh;
      fresh.reserve(buffer_size_);
      return fresh;
    }
    std::vector<uint8_t> b = std::move(free_.back());
    free_.pop_back();
    b.clear();
    return b;
  }
  // A buffer done with (sent): kept for a later take(), or freed (see the policy above).
  void give(std::vector<uint8_t>&& buffer) {
    if (free_.size() >= max_buffers_ || buffer.capacity() < buffer_size_ || buffer.capacity() > 4 * buffer_size_) {
      std::vector<uint8_t>().swap(buffer);
      return;
    }
    free_.push_back(std::move(buffer));
  }

  size_t buffer_size() const { return buffer_size_; }
  size_t size() const { return free_.size(); }
  // Buffers take() had to allocate (the pool was empty).
  uint64_t allocated() const { return allocated_; }

 private:
  size_t buffer_size_;
  size_t max_buffers_;
  std::vector<std::vector<uint8_t>> free_;  // at most max_buffers_
  uint64_t allocated_ = 0;
};

}  // namespace tern
