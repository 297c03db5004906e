// SeqRing<T>: one slot per sequence number, for the send-side histories on the per-packet path
// (packets kept for RTX, send times and report states for transport feedback), in place of a
// std::map<int64_t, T> (a node allocation, a tree walk and a free per packet).
//
// Keys are unwrapped (64-bit, possibly negative) sequence numbers. The ring holds the window
// [front_key(), end_key()) of keys; key k lives in slot k mod capacity(). A slot is empty or holds
// exactly its key. capacity() is a power of two that doubles as the window widens (the live
// entries are moved), up to max_span() (the requested span rounded up to a power of two), and never
// shrinks, so the memory follows what the owner actually keeps. An emptied slot keeps its T: a T
// that owns a buffer (an RtpPacket) is reused by a later key when the owner assigns into it.
//
// Full policy: the window never spans more than max_span() keys.
//  - insert() of a key at or past front_key() + max_span() first drops the oldest entries (through
//    the owner's callback) until the key fits;
//  - insert() of a key at or below end_key() - 1 - max_span() is refused (nullptr): too old to keep.
// Any other bound (a count, an age) is the owner's, through front() and pop_front().
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace tern {

template <typename T>
class SeqRing {
 public:
  // `max_span` (at least 1) is rounded up to a power of two; `initial` slots are allocated now.
  explicit SeqRing(size_t max_span, size_t initial = 16)
      : max_span_(std::bit_ceil(std::max<size_t>(max_span, 1))),
        slots_(std::min(std::bit_ceil(std::max<size_t>(initial, 1)), max_span_)) {}

  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  size_t capacity() const { return slots_.size(); }
  size_t max_span() const { return max_span_; }
  // The oldest (smallest) key held and one past the newest; only meaningful when !empty().
  int64_t front_key() const { return begin_; }
  int64_t end_key() const { return end_; }
  T& front() { return slots_[index(begin_)].value; }
  const T& front() const { return slots_[index(begin_)].value; }

  T* find(int64_t key) {
    if (count_ == 0 || key < begin_ || key >= end_) return nullptr;
    Slot& s = slots_[index(key)];
    return s.key == key ? &s.value : nullptr;
  }
  const T* find(int64_t key) const { return const_cast<SeqRing*>(this)->find(key); }

  // The slot of `key` and whether it was empty before (its T then holds whatever an earlier key
  // left: assign every field). nullptr when refused (see the full policy). `on_drop(key, T&)` sees
  // each entry dropped to make room, oldest first.
  template <typename OnDrop>
  std::pair<T*, bool> insert(int64_t key, OnDrop&& on_drop) {
    if (count_ > 0 && key >= end_) {
      while (count_ > 0 && key - begin_ >= static_cast<int64_t>(max_span_)) {
        on_drop(begin_, front());
        pop_front();
      }
    }
    if (count_ == 0) {
      begin_ = key;
      end_ = key + 1;
    } else if (key >= end_) {
      grow(static_cast<size_t>(key + 1 - begin_));
      end_ = key + 1;
    } else if (key < begin_) {
      if (end_ - key > static_cast<int64_t>(max_span_)) return {nullptr, false};
      grow(static_cast<size_t>(end_ - key));
      begin_ = key;
    } else if (Slot& s = slots_[index(key)]; s.key == key) {
      return {&s.value, false};
    }
    Slot& s = slots_[index(key)];
    s.key = key;
    ++count_;
    return {&s.value, true};
  }
  std::pair<T*, bool> insert(int64_t key) {
    return insert(key, [](int64_t, T&) {});
  }

  // Empties the oldest entry's slot (no-op when empty).
  void pop_front() {
    if (count_ == 0) return;
    slots_[index(begin_)].key = kEmpty;
    if (--count_ == 0) {
      begin_ = end_;
      return;
    }
    do {
      ++begin_;
    } while (slots_[index(begin_)].key != begin_);  // bounded: an entry below end_ remains
  }

  // Calls f(key, T&) for every entry with a key in [from, to], in key order. O(to - from + 1)
  // clipped to the window, so at most max_span() steps.
  template <typename F>
  void for_each_in(int64_t from, int64_t to, F&& f) {
    if (count_ == 0) return;
    for (int64_t k = std::max(from, begin_), last = std::min(to, end_ - 1); k <= last; ++k) {
      Slot& s = slots_[index(k)];
      if (s.key == k) f(k, s.value);
    }
  }

 private:
  static constexpr int64_t kEmpty = std::numeric_limits<int64_t>::min();
  struct Slot {
    int64_t key = kEmpty;
    T value{};
  };
  size_t index(int64_t key) const { return static_cast<size_t>(static_cast<uint64_t>(key)) & (slots_.size() - 1); }
  // Makes room for a window of `span` keys (span <= max_span_).
  void grow(size_t span) {
    if (span <= slots_.size()) return;
    std::vector<Slot> bigger(std::bit_ceil(span));
    const size_t mask = bigger.size() - 1;
    for (Slot& s : slots_) {
      if (s.key != kEmpty) bigger[static_cast<size_t>(static_cast<uint64_t>(s.key)) & mask] = std::move(s);
    }
    slots_ = std::move(bigger);
  }

  size_t max_span_;
  std::vector<Slot> slots_;
  size_t count_ = 0;
  int64_t begin_ = 0;  // smallest key held (its slot is occupied) when count_ > 0
  int64_t end_ = 0;    // one past the largest
};

}  // namespace tern
