// Big-endian (network order) readers and writers over spans, which fail safely: a read past the end
// or a write past the capacity never touches memory outside the span; it sets a sticky error flag
// and yields zeros, so a parser can read a whole header and check ok() once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace tern {

// Unchecked loads/stores for code that has already checked the bounds.
inline constexpr uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline constexpr uint32_t load_be24(const uint8_t* p) {
  return (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2];
}
inline constexpr uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
inline constexpr uint64_t load_be64(const uint8_t* p) {
  return (uint64_t{load_be32(p)} << 32) | load_be32(p + 4);
}
inline constexpr void store_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline constexpr void store_be24(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 16);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v);
}
inline constexpr void store_be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
inline constexpr void store_be64(uint8_t* p, uint64_t v) {
  store_be32(p, static_cast<uint32_t>(v >> 32));
  store_be32(p + 4, static_cast<uint32_t>(v));
}

// Reads big-endian integers and byte ranges from a span. After the first failed read every
// later read fails too and returns 0 / an empty span; ok() tells whether all reads succeeded.
class ByteReader {
 public:
  constexpr explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}

  constexpr bool ok() const { return ok_; }
  constexpr size_t position() const { return pos_; }
  constexpr size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
  constexpr bool has(size_t n) const { return ok_ && data_.size() - pos_ >= n; }
  // The unread rest of the input.
  constexpr std::span<const uint8_t> rest() const { return ok_ ? data_.subspan(pos_) : std::span<const uint8_t>(); }

  constexpr uint8_t u8() { return take(1) ? data_[pos_ - 1] : 0; }
  constexpr uint16_t u16() { return take(2) ? load_be16(&data_[pos_ - 2]) : 0; }
  constexpr uint32_t u24() { return take(3) ? load_be24(&data_[pos_ - 3]) : 0; }
  constexpr uint32_t u32() { return take(4) ? load_be32(&data_[pos_ - 4]) : 0; }
  constexpr uint64_t u64() { return take(8) ? load_be64(&data_[pos_ - 8]) : 0; }
  // A view of the next n bytes (no copy); empty and a failure if fewer remain.
  constexpr std::span<const uint8_t> bytes(size_t n) {
    return take(n) ? data_.subspan(pos_ - n, n) : std::span<const uint8_t>();
  }
  constexpr bool skip(size_t n) { return take(n); }
  // Marks the reader failed (e.g. a field value is invalid) so later reads fail too.
  constexpr void fail() { ok_ = false; }

 private:
  constexpr bool take(size_t n) {
    if (!ok_ || data_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    pos_ += n;
    return true;
  }
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Writes big-endian integers into a fixed span. A write that does not fit is dropped whole and
// sets the sticky error; ok() and position() tell what was written.
class ByteWriter {
 public:
  constexpr explicit ByteWriter(std::span<uint8_t> out) : out_(out) {}

  constexpr bool ok() const { return ok_; }
  constexpr size_t position() const { return pos_; }
  constexpr size_t remaining() const { return out_.size() - pos_; }
  constexpr std::span<uint8_t> written() const { return out_.first(pos_); }

  constexpr void u8(uint8_t v) { if (reserve(1)) out_[pos_++] = v; }
  constexpr void u16(uint16_t v) { if (reserve(2)) { store_be16(&out_[pos_], v); pos_ += 2; } }
  constexpr void u24(uint32_t v) { if (reserve(3)) { store_be24(&out_[pos_], v); pos_ += 3; } }
  constexpr void u32(uint32_t v) { if (reserve(4)) { store_be32(&out_[pos_], v); pos_ += 4; } }
  constexpr void u64(uint64_t v) { if (reserve(8)) { store_be64(&out_[pos_], v); pos_ += 8; } }
  void bytes(std::span<const uint8_t> b) {
    if (!reserve(b.size())) return;
    if (!b.empty()) std::memcpy(&out_[pos_], b.data(), b.size());
    pos_ += b.size();
  }
  constexpr void zeros(size_t n) {
    if (!reserve(n)) return;
    for (size_t i = 0; i < n; ++i) out_[pos_ + i] = 0;
    pos_ += n;
  }
  // Back-patches a 16-bit value at an earlier offset (e.g. a length field).
  constexpr void put_u16_at(size_t offset, uint16_t v) {
    if (offset + 2 <= pos_) store_be16(&out_[offset], v); else ok_ = false;
  }
  constexpr void put_u8_at(size_t offset, uint8_t v) {
    if (offset < pos_) out_[offset] = v; else ok_ = false;
  }

 private:
  constexpr bool reserve(size_t n) {
    if (!ok_ || out_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  std::span<uint8_t> out_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Appends big-endian integers to a growing vector (for builders whose size is not known up front).
class ByteBuffer {
 public:
  ByteBuffer() = default;
  explicit ByteBuffer(size_t reserve) { data_.reserve(reserve); }

  void u8(uint8_t v) { data_.push_back(v); }
  void u16(uint16_t v) { store_be16(grow(2), v); }
  void u24(uint32_t v) { store_be24(grow(3), v); }
  void u32(uint32_t v) { store_be32(grow(4), v); }
  void u64(uint64_t v) { store_be64(grow(8), v); }
  void bytes(std::span<const uint8_t> b) { data_.insert(data_.end(), b.begin(), b.end()); }
  void zeros(size_t n) { data_.insert(data_.end(), n, 0); }
  // Back-patches a 16-bit value at an earlier offset; ignored when out of range.
  void put_u16_at(size_t offset, uint16_t v) {
    if (offset + 2 <= data_.size()) store_be16(data_.data() + offset, v);
  }

  size_t size() const { return data_.size(); }
  std::vector<uint8_t>& data() { return data_; }
  const std::vector<uint8_t>& data() const { return data_; }
  std::vector<uint8_t> take() { return std::move(data_); }

 private:
  uint8_t* grow(size_t n) {
    data_.resize(data_.size() + n);
    return data_.data() + data_.size() - n;
  }
  std::vector<uint8_t> data_;
};

}  // namespace tern
