// The per-packet "video header" the jitter buffer works from: codec-neutral fields (frame
// boundaries, keyframe, picture id, temporal/spatial layering, references) filled from the RFC 7741
// (VP8) and RFC 9628 (VP9) payload descriptors, so that the packet buffer and the reference finder
// never look at a payload format themselves.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "tern/codecs/codec_type.h"
#include "tern/core/result.h"
#include "tern/rtp/payload/vp9_payload.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::jitterbuffer {

struct VideoHeader {
  // Enough for one reference list per VP9 spatial layer (8 layers x 3 P_DIFFs).
  static constexpr size_t kMaxPDiffs = 24;

  codecs::CodecType codec = codecs::CodecType::kVp8;
  bool first_packet_in_frame = false;  // VP8: S=1, PID=0. VP9: B on the lowest spatial layer
  bool last_packet_in_frame = false;   // the RTP marker bit (VP9: end of the whole picture)
  bool keyframe = false;               // meaningful on the first packet of a frame
  std::optional<uint16_t> picture_id;  // 7- or 15-bit
  bool picture_id_15bit = true;
  std::optional<uint8_t> tl0_pic_idx;  // VP8 L, VP9 non-flexible TL0PICIDX
  std::optional<uint8_t> temporal_id;
  bool layer_sync = false;             // VP8 Y, VP9 U: predicted only from the base temporal layer
  uint8_t spatial_id = 0;              // VP9 SID
  bool layer_start = false;            // first packet of a (spatial) layer frame: VP8 S, VP9 B
  bool inter_layer_predicted = false;  // VP9 D
  bool inter_picture_predicted = true; // VP9 P; VP8: !keyframe
  bool flexible_mode = false;          // VP9 F: references given as P_DIFFs
  uint8_t num_p_diffs = 0;
  std::array<uint8_t, kMaxPDiffs> p_diff{};
  uint8_t num_spatial_layers = 1;      // from a VP9 SS, when present
  // VP9 non-flexible mode: the SS's group of frames (G=1, N_G > 0), shared by every copy of the
  // header; null when the packet carried no SS or an SS without one.
  std::shared_ptr<const std::vector<rtp::Vp9PictureGroupEntry>> picture_group;
  bool has_ss = false;                 // the packet carried an SS (with or without a GOF)
  uint16_t width = 0;                  // from a VP8 keyframe header or a VP9 SS, else 0
  uint16_t height = 0;
};

// One RTP packet's video header and where its codec bytes sit in the packet.
struct ParsedVideoPacket {
  VideoHeader header;
  size_t payload_offset = 0;  // from the start of the RTP packet
  size_t payload_size = 0;    // codec bytes (payload descriptor excluded)
};

// Parses the payload descriptor of `packet` with the depacketizer of `codec` (VP8 or VP9). Errors
// are the depacketizer's reasons ("vp8: ...", "vp9: ...") or "video header: not a video codec".
Result<ParsedVideoPacket> parse_video_packet(codecs::CodecType codec, const rtp::RtpPacket& packet);

}  // namespace tern::jitterbuffer
