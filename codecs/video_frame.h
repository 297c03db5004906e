// VideoFrame: one raw picture in I420 (planar Y, then U and V at half resolution in both
// directions, rounded up), each plane with its own stride. Plain data, owned buffers.
#pragma once

#include <cstdint>
#include <vector>

#include "tern/core/units.h"

namespace tern::codecs {

struct VideoFrame {
  int width = 0;
  int height = 0;
  int stride_y = 0;
  int stride_u = 0;
  int stride_v = 0;
  std::vector<uint8_t> y;  // stride_y * height bytes
  std::vector<uint8_t> u;  // stride_u * chroma_height() bytes
  std::vector<uint8_t> v;  // stride_v * chroma_height() bytes
  Timestamp capture_time;
  uint32_t rtp_timestamp = 0;  // 90 kHz video clock

  int chroma_width() const { return (width + 1) / 2; }
  int chroma_height() const { return (height + 1) / 2; }
  // True when the plane sizes agree with width, height and strides.
  bool is_valid() const {
    if (width <= 0 || height <= 0) return false;
    if (stride_y < width || stride_u < chroma_width() || stride_v < chroma_width()) return false;
    return y.size() >= static_cast<std::size_t>(stride_y) * static_cast<std::size_t>(height) &&
           u.size() >= static_cast<std::size_t>(stride_u) * static_cast<std::size_t>(chroma_height()) &&
           v.size() >= static_cast<std::size_t>(stride_v) * static_cast<std::size_t>(chroma_height());
  }
  // Allocates a tightly packed frame (strides == widths), luma 0 and chroma 128 (black).
  static VideoFrame Allocate(int width, int height) {
    VideoFrame f;
    f.width = width;
    f.height = height;
    f.stride_y = width;
    f.stride_u = f.stride_v = f.chroma_width();
    f.y.assign(static_cast<std::size_t>(width) * static_cast<std::size_t>(height), 0);
    f.u.assign(static_cast<std::size_t>(f.stride_u) * static_cast<std::size_t>(f.chroma_height()), 128);
    f.v.assign(f.u.size(), 128);
    return f;
  }
};

}  // namespace tern::codecs
