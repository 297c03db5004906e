// Little-endian byte helpers for the RIFF/WAV and IVF file formats (core/byte_io.h is network
// byte order). LeReader has the same sticky-error contract as core's ByteReader: a read past the
// end returns zero and makes ok() false for good.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tern::media {

class LeReader {
 public:
  explicit LeReader(std::span<const uint8_t> data) : data_(data) {}

  bool ok() const { return ok_; }
  size_t position() const { return pos_; }
  size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }

  uint16_t u16() { return static_cast<uint16_t>(take(2)); }
  uint32_t u32() { return static_cast<uint32_t>(take(4)); }
  uint64_t u64() { return take(8); }
  // The next n bytes (empty and failed when fewer remain).
  std::span<const uint8_t> bytes(size_t n) {
    if (!ok_ || data_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    pos_ += n;
    return data_.subspan(pos_ - n, n);
  }
  bool skip(size_t n) { return !bytes(n).empty() || (ok_ && n == 0); }

 private:
  uint64_t take(size_t n) {
    const auto b = bytes(n);
    uint64_t v = 0;
    for (size_t i = b.size(); i > 0; --i) v = (v << 8) | b[i - 1];
    return v;
  }

  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

inline void put_le16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(v >> 8));
}
inline void put_le32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline void put_le64(std::vector<uint8_t>& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline void put_tag(std::vector<uint8_t>& out, const char (&tag)[5]) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(tag[i]));
}

}  // namespace tern::media
