#include "tern/media/opus_packet_info.h"

namespace tern::media {

std::optional<int> opus_packet_samples_48k(std::span<const uint8_t> packet) {
  if (packet.empty()) return std::nullopt;
  const int config = packet[0] >> 3;
  int frame_samples = 0;
  if (config < 12) {  // SILK: 10, 20, 40, 60 ms
    static constexpr int kSilk[4] = {480, 960, 1920, 2880};
    frame_samples = kSilk[config & 3];
  } else if (config < 16) {  // Hybrid: 10, 20 ms
    frame_samples = (config & 1) ? 960 : 480;
  } else {  // CELT: 2.5, 5, 10, 20 ms
    static constexpr int kCelt[4] = {120, 240, 480, 960};
    frame_samples = kCelt[config & 3];
  }
  int frames = 1;
  switch (packet[0] & 3) {
    case 0: frames = 1; break;
    case 1:
    case 2: frames = 2; break;
    default:
      if (packet.size() < 2) return std::nullopt;
      frames = packet[1] & 0x3F;
      if (frames == 0) return std::nullopt;
      break;
  }
  const int total = frames * frame_samples;
  if (total > 5760) return std::nullopt;  // 120 ms
  return total;
}

std::optional<uint8_t> opus_empty_packet_toc(int samples_48k) {
  switch (samples_48k) {
    case 120: return uint8_t{28 << 3};
    case 240: return uint8_t{29 << 3};
    case 480: return uint8_t{30 << 3};
    case 960: return uint8_t{31 << 3};
    default: return std::nullopt;
  }
}

}  // namespace tern::media
