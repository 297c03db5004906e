// VP9 over RTP (RFC 9628): the payload descriptor with its scalability structure (SS), a
// packetizer that splits one layer frame into fragments of even size, and a zero-copy
// depacketizer.
//
// Payload descriptor (RFC 9628 section 4.2), flexible (F=1) and non-flexible (F=0) modes:
//
//        0 1 2 3 4 5 6 7
//       +-+-+-+-+-+-+-+-+
//       |I|P|L|F|B|E|V|Z| (REQUIRED)
//       +-+-+-+-+-+-+-+-+
//  I:   |M| PICTURE ID  | (7 or 15 bits)
//       +-+-+-+-+-+-+-+-+
//  M:   | EXTENDED PID  |
//       +-+-+-+-+-+-+-+-+
//  L:   | TID |U| SID |D|
//       +-+-+-+-+-+-+-+-+
//       |   TL0PICIDX   | (F=0 only)
//       +-+-+-+-+-+-+-+-+                             -.
//  P,F: | P_DIFF      |N| (F=1 and P=1, up to 3 times) -/
//       +-+-+-+-+-+-+-+-+
//  V:   | SS            | (see Vp9ScalabilityStructure)
//       +-+-+-+-+-+-+-+-+
//
// B and E mark the first and last packet of a layer frame; the RTP marker bit marks the last
// packet of the whole picture (its last spatial layer). The packetizer writes SS in the first
// packet only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tern/core/result.h"
#include "tern/rtp/payload/payload_limits.h"

namespace tern::rtp {

struct Vp9LayerIndices {
  uint8_t temporal_id = 0;              // TID, 0..7
  bool switching_up = false;            // U
  uint8_t spatial_id = 0;               // SID, 0..7
  bool inter_layer_dependency = false;  // D: predicted from the spatial layer below

  bool operator==(const Vp9LayerIndices&) const = default;
};

// One picture of the group of frames (GOF) in the SS.
struct Vp9PictureGroupEntry {
  uint8_t temporal_id = 0;  // 0..7
  bool switching_up = false;
  uint8_t num_refs = 0;     // R, 0..3
  std::array<uint8_t, 3> p_diff{};

  bool operator==(const Vp9PictureGroupEntry&) const = default;
};

// Scalability structure (RFC 9628 section 4.2.1):
//
//       +-+-+-+-+-+-+-+-+
//  V:   | N_S |Y|G|-|-|-|
//       +-+-+-+-+-+-+-+-+              -.
//  Y:   |     WIDTH     | (16 bits)     . N_S + 1 times
//       |     HEIGHT    | (16 bits)     .
//       +-+-+-+-+-+-+-+-+              -/
//  G:   |      N_G      |
//       +-+-+-+-+-+-+-+-+                           -.
//  N_G: |  TID  |U| R |-|-|                           . N_G times
//       |    P_DIFF     | (R times)                  -/
//       +-+-+-+-+-+-+-+-+
struct Vp9ScalabilityStructure {
  static constexpr size_t kMaxSpatialLayers = 8;
  static constexpr size_t kMaxPictureGroup = 255;

  uint8_t num_spatial_layers = 1;  // N_S + 1, 1..8
  bool has_resolutions = false;    // Y
  std::array<uint16_t, kMaxSpatialLayers> width{};
  std::array<uint16_t, kMaxSpatialLayers> height{};
  bool has_picture_group = false;  // G
  std::vector<Vp9PictureGroupEntry> picture_group;  // N_G entries

  Status validate() const;
  size_t size() const;
  // Writes size() bytes; returns them, or 0 if `out` is too small. Assumes validate() passed.
  size_t write(std::span<uint8_t> out) const;
  // Parses an SS from the start of `data`; `*size` receives its length.
  static Result<Vp9ScalabilityStructure> parse(std::span<const uint8_t> data, size_t* size);

  bool operator==(const Vp9ScalabilityStructure& o) const;
};

struct Vp9Descriptor {
  static constexpr size_t kMaxSizeWithoutSs = 8;

  bool inter_picture_predicted = false;  // P
  bool flexible_mode = false;            // F
  bool start_of_frame = false;           // B
  bool end_of_frame = false;             // E
  bool not_upper_layer_reference = false;  // Z: not used as reference by upper spatial layers
  std::optional<uint16_t> picture_id;    // I: 0..127 or 0..32767
  bool picture_id_15bit = true;          // M (forced when picture_id > 127)
  std::optional<Vp9LayerIndices> layer;  // L
  uint8_t tl0_pic_idx = 0;               // written with `layer` in non-flexible mode
  uint8_t num_p_diffs = 0;               // flexible mode with P: 1..3
  std::array<uint8_t, 3> p_diff{};       // 1..127 each
  std::optional<Vp9ScalabilityStructure> ss;  // V

  Status validate() const;
  size_t size() const;
  size_t write(std::span<uint8_t> out) const;
  static Result<Vp9Descriptor> parse(std::span<const uint8_t> payload, size_t* size);

  bool operator==(const Vp9Descriptor&) const = default;
};

struct Vp9FrameInfo {
  Vp9Descriptor descriptor;     // B, E are set per packet; SS goes in the first packet only
  bool end_of_picture = true;   // last spatial layer of the picture: marker on the last packet
};

// Plans the packets of one VP9 layer frame. Holds a view of the frame until the next plan().
class Vp9Packetizer {
 public:
  // Fails on an empty frame, invalid descriptor fields or limits too small for the descriptor.
  Status plan(std::span<const uint8_t> frame, const Vp9FrameInfo& info, const PayloadLimits& limits);
  size_t num_packets() const { return fragments_.count(); }
  // Bytes write(index) produces: descriptor (+ SS in the first) + fragment.
  size_t packet_size(size_t index) const {
    return header_size_ + (index == 0 ? ss_bytes_.size() : 0) + fragments_.size(index);
  }
  bool marker(size_t index) const { return end_of_picture_ && index + 1 == num_packets(); }
  const Vp9Descriptor& descriptor() const { return descriptor_; }
  Result<size_t> write(size_t index, std::span<uint8_t> out) const;

 private:
  Vp9Descriptor descriptor_;
  bool end_of_picture_ = true;
  std::array<uint8_t, Vp9Descriptor::kMaxSizeWithoutSs> header_{};  // B, E, V clear
  size_t header_size_ = 0;
  std::vector<uint8_t> ss_bytes_;  // reused across frames
  std::span<const uint8_t> frame_;
  FragmentPlan fragments_;
};

struct Vp9ParsedPayload {
  Vp9Descriptor descriptor;
  std::span<const uint8_t> payload;       // VP9 bytes after the descriptor (view into the input)
  bool is_first_packet_in_frame = false;  // B, and no inter-layer dependency (libwebrtc's rule)
  bool is_last_packet_in_frame = false;   // E
  bool is_keyframe = false;               // no inter-picture and no inter-layer prediction
};

class Vp9Depacketizer {
 public:
  // Zero-copy parse of one RTP payload (allocates only for an SS picture group). Errors name the
  // problem, e.g. "vp9: truncated picture id", "vp9: truncated scalability structure".
  static Result<Vp9ParsedPayload> parse(std::span<const uint8_t> rtp_payload);
};

}  // namespace tern::rtp
