// A bounded FIFO ring with a fixed capacity chosen at construction. Policy when full is the
// caller's: push() refuses (returns false), push_overwrite() drops the oldest element.
#pragma once

#include <cassert>
#include <cstddef>
#include <optional>
#include <vector>

namespace tern {

template <typename T>
class RingBuffer {
 public:
  explicit RingBuffer(size_t capacity) : slots_(capacity == 0 ? 1 : capacity) {}

  size_t capacity() const { return slots_.size(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  bool full() const { return size_ == slots_.size(); }

  // Appends; returns false (and changes nothing) when full.
  bool push(T v) {
    if (full()) return false;
    slots_[(head_ + size_) % slots_.size()] = std::move(v);
    ++size_;
    return true;
  }
  // Appends, dropping the oldest element when full; returns the dropped element if any.
  std::optional<T> push_overwrite(T v) {
    std::optional<T> dropped;
    if (full()) dropped = pop();
    push(std::move(v));
    return dropped;
  }
  std::optional<T> pop() {
    if (empty()) return std::nullopt;
    T v = std::move(slots_[head_]);
    head_ = (head_ + 1) % slots_.size();
    --size_;
    return v;
  }
  // i-th oldest element, 0 <= i < size().
  T& operator[](size_t i) { assert(i < size_); return slots_[(head_ + i) % slots_.size()]; }
  const T& operator[](size_t i) const { assert(i < size_); return slots_[(head_ + i) % slots_.size()]; }
  T& front() { return (*this)[0]; }
  T& back() { return (*this)[size_ - 1]; }
  void clear() { head_ = 0; size_ = 0; }

 private:
  std::vector<T> slots_;
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace tern
