#include "tern/rtp/payload/vp8_payload.h"

#include <cstring>


namespace tern::rtp {
namespace {

constexpr uint8_t kVp8X = 0x80, kVp8N = 0x20, kVp8S = 0x10;
constexpr uint8_t kVp8I = 0x80, kVp8L = 0x40, kVp8T = 0x20, kVp8K = 0x10;

bool two_byte_picture_id(const Vp8Descriptor& d) { return d.picture_id_15bit || *d.picture_id > 0x7F; }

}  // namespace

Status Vp8Descriptor::validate() const {
  if (partition_index > 7) return Error{"vp8: partition index above 7"};
  if (picture_id && *picture_id > 0x7FFF) return Error{"vp8: picture id above 15 bits"};
  if (temporal_id && *temporal_id > 3) return Error{"vp8: temporal id above 3"};
  if (key_idx && *key_idx > 31) return Error{"vp8: key index above 31"};
  return Status::Ok();
}

size_t Vp8Descriptor::size() const {
  size_t n = 1;
  if (picture_id || tl0_pic_idx || temporal_id || key_idx) {
    n += 1;
    if (picture_id) n += two_byte_picture_id(*this) ? 2 : 1;
    if (tl0_pic_idx) n += 1;
    if (temporal_id || key_idx) n += 1;
  }
  return n;
}

size_t Vp8Descriptor::write(std::span<uint8_t> out) const {
  const size_t n = size();
  if (out.size() < n) return 0;
  const bool extended = n > 1;
  uint8_t* p = out.data();
  *p++ = static_cast<uint8_t>((extended ? kVp8X : 0) | (non_reference ? kVp8N : 0) | (start_of_partition ? kVp8S : 0) |
                              (partition_index & 0x07));
  if (!extended) return n;
  *p++ = static_cast<uint8_t>((picture_id ? kVp8I : 0) | (tl0_pic_idx ? kVp8L : 0) | (temporal_id ? kVp8T : 0) |
                              (key_idx ? kVp8K : 0));
  if (picture_id) {
    if (two_byte_picture_id(*this)) {
      *p++ = static_cast<uint8_t>(0x80 | (*picture_id >> 8));
      *p++ = static_cast<uint8_t>(*picture_id);
    } else {
      *p++ = static_cast<uint8_t>(*picture_id);
    }
  }
  if (tl0_pic_idx) *p++ = *tl0_pic_idx;
  if (temporal_id || key_idx) {
    *p++ = static_cast<uint8_t>(((temporal_id ? *temporal_id : 0) << 6) | ((temporal_id && layer_sync) ? 0x20 : 0) |
                                (key_idx ? (*key_idx & 0x1F) : 0));
  }
  return n;
}

Result<Vp8Descriptor> Vp8Descriptor::parse(std::span<const uint8_t> payload, size_t* size) {
  if (payload.empty()) return Error{"vp8: empty payload"};
  Vp8Descriptor d;
  const uint8_t b0 = payload[0];
  d.non_reference = (b0 & kVp8N) != 0;
  d.start_of_partition = (b0 & kVp8S) != 0;
  d.partition_index = b0 & 0x07;
  size_t pos = 1;
  if (b0 & kVp8X) {
    if (payload.size() < 2) return Error{"vp8: truncated extension"};
    const uint8_t ext = payload[pos++];
    if (ext & kVp8I) {
      if (payload.size() <= pos) return Error{"vp8: truncated picture id"};
      const uint8_t p0 = payload[pos++];
      if (p0 & 0x80) {
        if (payload.size() <= pos) return Error{"vp8: truncated picture id"};
        d.picture_id = static_cast<uint16_t>(((p0 & 0x7F) << 8) | payload[pos++]);
        d.picture_id_15bit = true;
      } else {
        d.picture_id = p0;
        d.picture_id_15bit = false;
      }
    }
    if (ext & kVp8L) {
      if (payload.size() <= pos) return Error{"vp8: truncated tl0picidx"};
      d.tl0_pic_idx = payload[pos++];
    }
    if (ext & (kVp8T | kVp8K)) {
      if (payload.size() <= pos) return Error{"vp8: truncated tid/keyidx"};
      const uint8_t b = payload[pos++];
      if (ext & kVp8T) {
        d.temporal_id = static_cast<uint8_t>(b >> 6);
        d.layer_sync = (b & 0x20) != 0;
      }
      if (ext & kVp8K) d.key_idx = static_cast<uint8_t>(b & 0x1F);
    }
  }
  if (size) *size = pos;
  return d;
}

Vp8Packetizer::Vp8Packetizer(const Vp8PacketizerConfig& config)
    : config_(config),
      next_picture_id_(static_cast<uint16_t>(
          config.initial_picture_id & (config.picture_id_mode == Vp8PictureIdMode::k7Bit ? 0x7F : 0x7FFF))) {}

Status Vp8Packetizer::plan(std::span<const uint8_t> frame, const Vp8Descriptor& info, const PayloadLimits& limits) {
  frame_ = {};
  fragments_.clear();
  if (frame.empty()) return Error{"vp8: empty frame"};
  Status valid = info.validate();
  if (!valid) return valid;
  descriptor_ = info;
  descriptor_.start_of_partition = true;
  descriptor_.partition_index = 0;
  if (!descriptor_.picture_id && config_.picture_id_mode != Vp8PictureIdMode::kNone) {
    descriptor_.picture_id = next_picture_id_;
    descriptor_.picture_id_15bit = config_.picture_id_mode == Vp8PictureIdMode::k15Bit;
  }
  header_size_ = descriptor_.size();
  if (limits.max_payload_size <= header_size_) return Error{"vp8: payload limit smaller than the descriptor"};
  PayloadLimits fragment_limits = limits;
  fragment_limits.max_payload_size -= header_size_;
  Status planned = fragments_.plan(frame.size(), fragment_limits);
  if (!planned) return planned;
  descriptor_.write(header_);
  frame_ = frame;
  if (descriptor_.picture_id) {
    const uint16_t mask = descriptor_.picture_id_15bit || *descriptor_.picture_id > 0x7F ? 0x7FFF : 0x7F;
    next_picture_id_ = static_cast<uint16_t>((*descriptor_.picture_id + 1) & mask);
  }
  return Status::Ok();
}

Result<size_t> Vp8Packetizer::write(size_t index, std::span<uint8_t> out) const {
  if (index >= num_packets()) return Error{"vp8: no such packet"};
  const size_t fragment = fragments_.size(index);
  if (out.size() < header_size_ + fragment) return Error{"vp8: output buffer too small"};
  std::memcpy(out.data(), header_.data(), header_size_);
  if (index != 0) out[0] = static_cast<uint8_t>(out[0] & ~kVp8S);
  std::memcpy(out.data() + header_size_, frame_.data() + fragments_.offset(index), fragment);
  return header_size_ + fragment;
}

Result<Vp8ParsedPayload> Vp8Depacketizer::parse(std::span<const uint8_t> rtp_payload) {
  size_t header_size = 0;
  auto descriptor = Vp8Descriptor::parse(rtp_payload, &header_size);
  if (!descriptor) return Error{descriptor.error()};
  if (header_size >= rtp_payload.size()) return Error{"vp8: no data after descriptor"};
  Vp8ParsedPayload out;
  out.descriptor = *descriptor;
  out.payload = rtp_payload.subspan(header_size);
  out.is_first_packet_in_frame = out.descriptor.start_of_partition && out.descriptor.partition_index == 0;
  if (out.is_first_packet_in_frame) {
    // Frame tag (RFC 6386 9.1): bit 0 of the first byte is P, 0 for a keyframe. A keyframe then
    // carries the start code 9d 01 2a and two little-endian 14-bit sizes (top 2 bits: scaling).
    const std::span<const uint8_t> vp8 = out.payload;
    out.is_keyframe = (vp8[0] & 0x01) == 0;
    if (out.is_keyframe && vp8.size() >= 10 && vp8[3] == 0x9d && vp8[4] == 0x01 && vp8[5] == 0x2a) {
      out.width = static_cast<uint16_t>((vp8[6] | (vp8[7] << 8)) & 0x3FFF);
      out.height = static_cast<uint16_t>((vp8[8] | (vp8[9] << 8)) & 0x3FFF);
    }
  }
  return out;
}

}  // namespace tern::rtp
