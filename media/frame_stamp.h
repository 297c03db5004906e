// FrameStamp: writes a frame number into the top rows of an I420 picture as large black/white
// luma blocks, and reads it back after lossy coding, so that a receiver can align decoded frames
// with their source (PSNR/SSIM), count freezes and measure end-to-end delay.
//
// Layout: 36 bits = 4 sync bits (1010) + 24-bit frame number + CRC-8 (poly 0x07) over the number,
// one bit per square block of side block_size() (16 px at 320 wide, 32 px at 640), row by row
// from the top left. A bit is read as the mean of the block's centre quarter against mid grey,
// so blocking, ringing and blur from a low-bitrate VP8/VP9 encode do not flip it; the sync bits
// and the CRC reject pictures that carry no stamp or a damaged one.
#pragma once

#include <cstdint>
#include <optional>

#include "tern/codecs/video_frame.h"

namespace tern::media {

class FrameStamp {
 public:
  static constexpr int kBits = 36;
  static constexpr uint32_t kMaxFrameNumber = (1u << 24) - 1;  // numbers wrap at 2^24

  // Side of one bit block for a picture of this width (a multiple of 8, at least 8).
  static int block_size(int width);
  // Height of the band the stamp occupies at the top of the picture (0 when it does not fit).
  static int band_height(int width, int height);
  // Overwrites the band with `frame_number` mod 2^24 (chroma set neutral). False when the picture
  // is invalid or too small (64 wide and band_height() tall: 40 px at 64 wide, 32 px at 320); the
  // picture is then unchanged.
  static bool write(codecs::VideoFrame& frame, uint32_t frame_number);
  // The stamped number, or nullopt when the band is unreadable (no stamp, damaged, wrong size).
  static std::optional<uint32_t> read(const codecs::VideoFrame& frame);
};

}  // namespace tern::media
