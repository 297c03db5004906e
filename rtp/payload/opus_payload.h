// Opus over RTP (RFC 7587): exactly one Opus packet per RTP packet, no payload header. The RTP
// marker bit flags the first packet of a talkspurt, i.e. the first one after a DTX silence
// (RFC 7587 section 4.1, following RFC 3551 section 4.1).
//
// The depacketizer reads the Opus TOC byte (RFC 6716 section 3.1) so that a receiver learns the
// packet's duration and channel count without a decoder, and refuses payloads that RFC 6716
// section 3.4 calls malformed at the framing level (empty, bad code-3 frame count, > 120 ms).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/rtp/payload/payload_limits.h"

namespace tern::rtp {

struct OpusFrameInfo {
  bool start_of_talkspurt = false;  // first packet after DTX silence: sets the RTP marker bit
};

// Plans the single packet of one Opus packet. Holds a view of the frame until the next plan().
class OpusPacketizer {
 public:
  // Fails on an empty frame or one larger than the limits allow (Opus is never fragmented).
  Status plan(std::span<const uint8_t> frame, const OpusFrameInfo& info, const PayloadLimits& limits);
  size_t num_packets() const { return frame_.empty() ? 0 : 1; }
  // Bytes write(index) produces.
  size_t packet_size(size_t index) const { return index == 0 ? frame_.size() : 0; }
  bool marker(size_t index) const { return index == 0 && marker_; }
  // Copies the payload of packet `index` into `out`; returns the bytes written.
  Result<size_t> write(size_t index, std::span<uint8_t> out) const;

 private:
  std::span<const uint8_t> frame_;
  bool marker_ = false;
};

struct OpusParsedPayload {
  std::span<const uint8_t> payload;  // the Opus packet itself (view into the input)
  uint8_t config = 0;                // TOC config 0..31 (mode and bandwidth)
  bool stereo = false;
  uint8_t frame_count = 0;           // Opus frames in the packet, 1..48
  TimeDelta duration = TimeDelta::Zero();  // frame_count x frame duration, 2.5..120 ms
  bool is_first_packet_in_frame = true;    // always: one packet is one frame
};

class OpusDepacketizer {
 public:
  // Zero-copy parse of one RTP payload. Errors: "opus: empty payload", "opus: code 3 without
  // frame count", "opus: zero frames", "opus: longer than 120 ms".
  static Result<OpusParsedPayload> parse(std::span<const uint8_t> rtp_payload);
  // Duration of one Opus frame for a TOC config value (0..31).
  static TimeDelta frame_duration(uint8_t config);
};

}  // namespace tern::rtp
