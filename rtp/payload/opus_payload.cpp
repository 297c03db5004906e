#include "tern/rtp/payload/opus_payload.h"

#include <cstring>

namespace tern::rtp {

Status OpusPacketizer::plan(std::span<const uint8_t> frame, const OpusFrameInfo& info,
                            const PayloadLimits& limits) {
  frame_ = {};
  marker_ = false;
  if (frame.empty()) return Error{"opus: empty frame"};
  if (limits.single_packet_reduction >= limits.max_payload_size ||
      frame.size() > limits.max_payload_size - limits.single_packet_reduction)
    return Error{"opus: frame larger than the payload limit"};
  frame_ = frame;
  marker_ = info.start_of_talkspurt;
  return Status::Ok();
}

Result<size_t> OpusPacketizer::write(size_t index, std::span<uint8_t> out) const {
  if (index >= num_packets()) return Error{"opus: no such packet"};
  if (out.size() < frame_.size()) return Error{"opus: output buffer too small"};
  std::memcpy(out.data(), frame_.data(), frame_.size());
  return frame_.size();
}

TimeDelta OpusDepacketizer::frame_duration(uint8_t config) {
  config &= 0x1F;
  if (config < 12) {  // SILK-only: 10, 20, 40, 60 ms
    static constexpr int kMs[4] = {10, 20, 40, 60};
    return TimeDelta::Millis(kMs[config & 3]);
  }
  if (config < 16) return TimeDelta::Millis((config & 1) ? 20 : 10);  // hybrid
  static constexpr int kUs[4] = {2500, 5000, 10000, 20000};           // CELT-only
  return TimeDelta::Micros(kUs[config & 3]);
}

Result<OpusParsedPayload> OpusDepacketizer::parse(std::span<const uint8_t> rtp_payload) {
  if (rtp_payload.empty()) return Error{"opus: empty payload"};
  //  TOC byte (RFC 6716 3.1):  | config (5) | s | c (2) |
  const uint8_t toc = rtp_payload[0];
  OpusParsedPayload out;
  out.payload = rtp_payload;
  out.config = toc >> 3;
  out.stereo = (toc & 0x04) != 0;
  switch (toc & 0x03) {
    case 0: out.frame_count = 1; break;
    case 1:
    case 2: out.frame_count = 2; break;
    default: {
      if (rtp_payload.size() < 2) return Error{"opus: code 3 without frame count"};
      out.frame_count = rtp_payload[1] & 0x3F;
      if (out.frame_count == 0) return Error{"opus: zero frames"};
      break;
    }
  }
  out.duration = frame_duration(out.config) * out.frame_count;
  if (out.duration > TimeDelta::Millis(120)) return Error{"opus: longer than 120 ms"};
  return out;
}

}  // namespace tern::rtp
