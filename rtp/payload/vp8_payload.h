// VP8 over RTP (RFC 7741): the payload descriptor, a packetizer that splits a frame into fragments
// of even size (section 4.4 recommends even fragments), and a zero-copy depacketizer.
//
// Payload descriptor (RFC 7741 section 4.2):
//
//        0 1 2 3 4 5 6 7
//       +-+-+-+-+-+-+-+-+
//       |X|R|N|S|R| PID | (REQUIRED)
//       +-+-+-+-+-+-+-+-+
//  X:   |I|L|T|K| RSV   | (OPTIONAL)
//       +-+-+-+-+-+-+-+-+
//  I:   |M| PictureID   | (OPTIONAL)
//       +-+-+-+-+-+-+-+-+
//  M:   |   PictureID   | (15-bit form)
//       +-+-+-+-+-+-+-+-+
//  L:   |   TL0PICIDX   | (OPTIONAL)
//       +-+-+-+-+-+-+-+-+
//  T/K: |TID|Y| KEYIDX  | (OPTIONAL)
//       +-+-+-+-+-+-+-+-+
//
// The first packet of a frame has S=1 and PID=0; the RTP marker bit is set on the last packet of
// a frame. Like libwebrtc, the packetizer does not align fragments to VP8 partitions (PID stays 0).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "tern/core/result.h"
#include "tern/rtp/payload/payload_limits.h"

namespace tern::rtp {

struct Vp8Descriptor {
  static constexpr size_t kMaxSize = 6;

  bool non_reference = false;          // N: frame can be discarded without affecting others
  bool start_of_partition = false;     // S
  uint8_t partition_index = 0;         // PID, 0..7
  std::optional<uint16_t> picture_id;  // I: 0..127 (7-bit) or 0..32767 (15-bit)
  bool picture_id_15bit = true;        // M: two-byte PictureID (forced when picture_id > 127)
  std::optional<uint8_t> tl0_pic_idx;  // L
  std::optional<uint8_t> temporal_id;  // T: TID, 0..3
  bool layer_sync = false;             // Y: only meaningful when temporal_id is set
  std::optional<uint8_t> key_idx;      // K: KEYIDX, 0..31

  // Fails when a field is out of its range.
  Status validate() const;
  // Bytes write() produces (1..6).
  size_t size() const;
  // Writes the descriptor; returns size(), or 0 if `out` is too small. Assumes validate() passed.
  size_t write(std::span<uint8_t> out) const;
  // Parses a descriptor from the start of `payload`; `*size` receives its length in bytes.
  static Result<Vp8Descriptor> parse(std::span<const uint8_t> payload, size_t* size);

  bool operator==(const Vp8Descriptor&) const = default;
};

enum class Vp8PictureIdMode { kNone, k7Bit, k15Bit };

struct Vp8PacketizerConfig {
  // PictureID the packetizer assigns when a frame's descriptor has none: browsers send 15 bits.
  Vp8PictureIdMode picture_id_mode = Vp8PictureIdMode::k15Bit;
  uint16_t initial_picture_id = 0;
};

// Plans the packets of one VP8 frame. Holds a view of the frame until the next plan(); the only
// state kept across frames is the PictureID counter.
class Vp8Packetizer {
 public:
  explicit Vp8Packetizer(const Vp8PacketizerConfig& config = {});

  // `info` gives the per-frame descriptor fields (N, I, L, T, K); S and PID are set per packet.
  // A frame without picture_id gets the next one from the counter (unless the mode is kNone);
  // a frame with one moves the counter past it. Fails on an empty frame, invalid fields or
  // limits too small for the descriptor plus one byte.
  Status plan(std::span<const uint8_t> frame, const Vp8Descriptor& info, const PayloadLimits& limits);
  size_t num_packets() const { return fragments_.count(); }
  // Bytes write(index) produces: descriptor + fragment.
  size_t packet_size(size_t index) const { return header_size_ + fragments_.size(index); }
  // RTP marker bit: set on the last packet of the frame.
  bool marker(size_t index) const { return index + 1 == num_packets(); }
  // The descriptor used for every packet of the planned frame (S as in the first packet).
  const Vp8Descriptor& descriptor() const { return descriptor_; }
  // Writes descriptor + fragment of packet `index` into `out`; returns the bytes written.
  Result<size_t> write(size_t index, std::span<uint8_t> out) const;

 private:
  Vp8PacketizerConfig config_;
  uint16_t next_picture_id_;
  Vp8Descriptor descriptor_;
  std::array<uint8_t, Vp8Descriptor::kMaxSize> header_{};
  size_t header_size_ = 0;
  std::span<const uint8_t> frame_;
  FragmentPlan fragments_;
};

struct Vp8ParsedPayload {
  Vp8Descriptor descriptor;
  std::span<const uint8_t> payload;    // VP8 bytes after the descriptor (view into the input)
  bool is_first_packet_in_frame = false;  // S=1 and PID=0
  bool is_keyframe = false;            // P bit of the frame tag is 0 (first packet only)
  uint16_t width = 0;                  // from the keyframe header, when present (else 0)
  uint16_t height = 0;
};

class Vp8Depacketizer {
 public:
  // Zero-copy parse of one RTP payload. Errors name the problem, e.g. "vp8: empty payload",
  // "vp8: truncated extension", "vp8: truncated picture id", "vp8: no data after descriptor".
  static Result<Vp8ParsedPayload> parse(std::span<const uint8_t> rtp_payload);
};

}  // namespace tern::rtp
