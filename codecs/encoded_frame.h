// EncodedFrame: the output of an encoder and the input of a decoder, with the codec-specific facts
// a packetizer needs to fill the payload descriptors of RFC 7587 (Opus), RFC 7741 (VP8: TID, Y,
// TL0PICIDX) and RFC 9628 (VP9: SID, TID, U, D, P, P_DIFF).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "tern/codecs/codec_type.h"
#include "tern/core/units.h"

namespace tern::codecs {

// Scalability facts of one encoded video frame (layer of a picture).
struct VideoLayerInfo {
  int num_temporal_layers = 1;
  int temporal_id = 0;  // 0 when there is no temporal layering
  // VP8 Y bit: depends only on TL0 frames. VP9 U bit: references no frame of the same or a higher
  // temporal layer, so a receiver may switch up to this layer here.
  bool layer_sync = false;
  // Counter of TL0 frames (wraps at 256); the value of the latest TL0 frame up to and including
  // this one, as RFC 7741 TL0PICIDX expects.
  uint8_t tl0_pic_idx = 0;
  // 15-bit picture id, incremented per encoded picture.
  uint16_t picture_id = 0;
  // Updates no reference buffer: dropping it hurts no later frame.
  bool non_reference = false;
  int spatial_id = 0;
  bool inter_layer_predicted = false;  // VP9 D bit
  bool inter_pic_predicted = false;    // VP9: not P bit set when false on a keyframe
  // VP9 flexible-mode style references: picture_id differences of the referenced pictures.
  int num_ref_pics = 0;
  std::array<uint8_t, 3> p_diff{};
};

struct EncodedFrame {
  CodecType codec = CodecType::kOpus;
  std::vector<uint8_t> data;
  bool is_keyframe = false;  // video: decodable on its own; audio: always true
  // Audio: a DTX frame (<= 2 bytes, no speech) that a sender usually does not transmit.
  bool is_dtx = false;
  int width = 0;   // video only
  int height = 0;  // video only
  // Video: the encoder's quantizer for this frame on its own scale (libvpx's internal index: VP8
  // 0..127, VP9 0..255), -1 when unknown. The quality scaler's input.
  int qp = -1;
  uint32_t rtp_timestamp = 0;
  Timestamp capture_time;
  TimeDelta duration;  // audio only: media duration of the packet
  VideoLayerInfo layers;
};

}  // namespace tern::codecs
