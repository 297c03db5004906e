#include "tern/media/frame_stamp.h"

#include <algorithm>
#include <array>

namespace tern::media {
namespace {

constexpr uint8_t kBlack = 16;
constexpr uint8_t kWhite = 235;
constexpr uint8_t kThreshold = (kBlack + kWhite) / 2;

uint8_t crc8(uint32_t value24) {
  uint8_t crc = 0;
  for (int i = 2; i >= 0; --i) {
    crc ^= static_cast<uint8_t>(value24 >> (8 * i));
    for (int b = 0; b < 8; ++b) crc = static_cast<uint8_t>((crc & 0x80) ? (crc << 1) ^ 0x07 : crc << 1);
  }
  return crc;
}

std::array<bool, FrameStamp::kBits> encode_bits(uint32_t number) {
  std::array<bool, FrameStamp::kBits> bits{};
  const uint32_t n = number & FrameStamp::kMaxFrameNumber;
  const uint64_t word = (uint64_t{0xA} << 32) | (uint64_t{n} << 8) | crc8(n);
  for (int i = 0; i < FrameStamp::kBits; ++i) bits[static_cast<size_t>(i)] = (word >> (FrameStamp::kBits - 1 - i)) & 1;
  return bits;
}

}  // namespace

int FrameStamp::block_size(int width) { return std::max(8, (width / 20) / 8 * 8); }

int FrameStamp::band_height(int width, int height) {
  if (width < 64 || height < 32) return 0;
  const int block = block_size(width);
  const int cols = width / block;
  const int rows = (kBits + cols - 1) / cols;
  const int band = rows * block;
  return band <= height ? band : 0;
}

bool FrameStamp::write(codecs::VideoFrame& frame, uint32_t frame_number) {
  if (!frame.is_valid()) return false;
  const int band = band_height(frame.width, frame.height);
  if (band == 0) return false;
  const int block = block_size(frame.width);
  const int cols = frame.width / block;
  const auto bits = encode_bits(frame_number);
  // One row per block row drawn as block spans, then copied down the block (cheap: row copies).
  for (int block_row = 0; block_row * block < band; ++block_row) {
    uint8_t* first = frame.y.data() + static_cast<size_t>(block_row * block) * static_cast<size_t>(frame.stride_y);
    for (int col = 0; col * block < frame.width; ++col) {
      const int index = block_row * cols + col;
      const bool one = col < cols && index < kBits && bits[static_cast<size_t>(index)];
      std::fill_n(first + col * block, std::min(block, frame.width - col * block), one ? kWhite : kBlack);
    }
    for (int y = 1; y < block; ++y) {
      std::copy_n(first, frame.width, first + static_cast<size_t>(y) * static_cast<size_t>(frame.stride_y));
    }
  }
  const int chroma_band = (band + 1) / 2;
  for (int y = 0; y < chroma_band && y < frame.chroma_height(); ++y) {
    std::fill_n(frame.u.data() + static_cast<size_t>(y) * static_cast<size_t>(frame.stride_u), frame.chroma_width(), 128);
    std::fill_n(frame.v.data() + static_cast<size_t>(y) * static_cast<size_t>(frame.stride_v), frame.chroma_width(), 128);
  }
  return true;
}

std::optional<uint32_t> FrameStamp::read(const codecs::VideoFrame& frame) {
  if (!frame.is_valid()) return std::nullopt;
  if (band_height(frame.width, frame.height) == 0) return std::nullopt;
  const int block = block_size(frame.width);
  const int cols = frame.width / block;
  const int quarter = block / 4;
  uint64_t word = 0;
  for (int i = 0; i < kBits; ++i) {
    const int x0 = (i % cols) * block + quarter;
    const int y0 = (i / cols) * block + quarter;
    uint32_t sum = 0;
    for (int y = y0; y < y0 + block / 2; ++y) {
      const uint8_t* row = frame.y.data() + static_cast<size_t>(y) * static_cast<size_t>(frame.stride_y);
      for (int x = x0; x < x0 + block / 2; ++x) sum += row[x];
    }
    const uint32_t count = static_cast<uint32_t>(block / 2) * static_cast<uint32_t>(block / 2);
    word = (word << 1) | (sum >= uint32_t{kThreshold} * count ? 1u : 0u);
  }
  if ((word >> 32) != 0xA) return std::nullopt;
  const uint32_t number = static_cast<uint32_t>(word >> 8) & kMaxFrameNumber;
  if (crc8(number) != static_cast<uint8_t>(word & 0xFF)) return std::nullopt;
  return number;
}

}  // namespace tern::media
