// EncodedVideoFrame: one assembled, reference-resolved video frame as the jitter buffer hands it to
// a decoder (codecs::VideoDecoder takes `data` as is). The same struct flows through every video
// stage: the packet buffer fills the bytes and header, the reference finder the id and references,
// the frame buffer the render time.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "tern/core/units.h"
#include "tern/jitterbuffer/video/video_header.h"

namespace tern::jitterbuffer {

struct EncodedVideoFrame {
  std::vector<uint8_t> data;       // the codec bitstream of the whole frame (all spatial layers)
  VideoHeader header;              // of the first packet; p_diff merged over every spatial layer
  uint32_t rtp_timestamp = 0;
  bool keyframe = false;
  uint16_t width = 0;              // when the bitstream header or an SS told, else 0
  uint16_t height = 0;

  // Decode-order identity: the unwrapped picture id, or the unwrapped last sequence number for
  // streams without picture ids. References name other frames' ids.
  int64_t id = 0;
  std::vector<int64_t> references;

  int64_t first_seq = 0;           // unwrapped RTP sequence numbers of the first and last packet
  int64_t last_seq = 0;
  size_t num_packets = 0;
  bool retransmitted = false;      // some packet arrived after a newer one (NACK/RTX or reordering)

  Timestamp first_receive_time = Timestamp::MinusInfinity();  // first packet received
  Timestamp receive_time = Timestamp::MinusInfinity();        // frame completed (last packet)
  Timestamp render_time = Timestamp::MinusInfinity();         // when it should be shown
};

}  // namespace tern::jitterbuffer
