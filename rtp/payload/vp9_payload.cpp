#include "tern/rtp/payload/vp9_payload.h"

#include <cstring>

#include "tern/core/byte_io.h"

namespace tern::rtp {
namespace {

constexpr uint8_t kVp9I = 0x80, kVp9P = 0x40, kVp9L = 0x20, kVp9F = 0x10, kVp9B = 0x08, kVp9E = 0x04, kVp9V = 0x02, kVp9Z = 0x01;

bool two_byte_picture_id(const Vp9Descriptor& d) { return d.picture_id_15bit || *d.picture_id > 0x7F; }

}  // namespace

// --- Scalability structure --------------------------------------------------------------------

Status Vp9ScalabilityStructure::validate() const {
  if (num_spatial_layers < 1 || num_spatial_layers > kMaxSpatialLayers)
    return Error{"vp9: spatial layer count not in 1..8"};
  if (!has_picture_group && !picture_group.empty()) return Error{"vp9: picture group without G"};
  if (picture_group.size() > kMaxPictureGroup) return Error{"vp9: picture group above 255"};
  for (const auto& e : picture_group) {
    if (e.temporal_id > 7) return Error{"vp9: gof temporal id above 7"};
    if (e.num_refs > 3) return Error{"vp9: gof reference count above 3"};
  }
  return Status::Ok();
}

size_t Vp9ScalabilityStructure::size() const {
  size_t n = 1;
  if (has_resolutions) n += 4u * num_spatial_layers;
  if (has_picture_group) {
    n += 1;
    for (const auto& e : picture_group) n += 1u + e.num_refs;
  }
  return n;
}

size_t Vp9ScalabilityStructure::write(std::span<uint8_t> out) const {
  const size_t n = size();
  if (out.size() < n) return 0;
  ByteWriter w(out);
  w.u8(static_cast<uint8_t>(((num_spatial_layers - 1) << 5) | (has_resolutions ? 0x10 : 0) |
                            (has_picture_group ? 0x08 : 0)));
  if (has_resolutions) {
    for (size_t i = 0; i < num_spatial_layers; ++i) {
      w.u16(width[i]);
      w.u16(height[i]);
    }
  }
  if (has_picture_group) {
    w.u8(static_cast<uint8_t>(picture_group.size()));
    for (const auto& e : picture_group) {
      w.u8(static_cast<uint8_t>((e.temporal_id << 5) | (e.switching_up ? 0x10 : 0) | (e.num_refs << 2)));
      for (size_t r = 0; r < e.num_refs; ++r) w.u8(e.p_diff[r]);
    }
  }
  return w.ok() ? n : 0;
}

Result<Vp9ScalabilityStructure> Vp9ScalabilityStructure::parse(std::span<const uint8_t> data, size_t* size) {
  ByteReader r(data);
  Vp9ScalabilityStructure ss;
  const uint8_t b = r.u8();
  ss.num_spatial_layers = static_cast<uint8_t>((b >> 5) + 1);
  ss.has_resolutions = (b & 0x10) != 0;
  ss.has_picture_group = (b & 0x08) != 0;
  if (ss.has_resolutions) {
    for (size_t i = 0; i < ss.num_spatial_layers; ++i) {
      ss.width[i] = r.u16();
      ss.height[i] = r.u16();
    }
  }
  if (ss.has_picture_group && r.ok()) {
    const uint8_t n_g = r.u8();
    // Each entry is at least one byte: refuse a count the input cannot hold before allocating.
    if (r.remaining() < n_g) return Error{"vp9: truncated scalability structure"};
    ss.picture_group.resize(n_g);
    for (auto& e : ss.picture_group) {
      const uint8_t g = r.u8();
      e.temporal_id = static_cast<uint8_t>(g >> 5);
      e.switching_up = (g & 0x10) != 0;
      e.num_refs = static_cast<uint8_t>((g >> 2) & 0x03);
      for (size_t k = 0; k < e.num_refs; ++k) e.p_diff[k] = r.u8();
    }
  }
  if (!r.ok()) return Error{"vp9: truncated scalability structure"};
  if (size) *size = r.position();
  return ss;
}

bool Vp9ScalabilityStructure::operator==(const Vp9ScalabilityStructure& o) const {
  if (num_spatial_layers != o.num_spatial_layers || has_resolutions != o.has_resolutions ||
      has_picture_group != o.has_picture_group || picture_group != o.picture_group)
    return false;
  if (has_resolutions) {
    for (size_t i = 0; i < num_spatial_layers && i < kMaxSpatialLayers; ++i)
      if (width[i] != o.width[i] || height[i] != o.height[i]) return false;
  }
  return true;
}

// --- Payload descriptor -----------------------------------------------------------------------

Status Vp9Descriptor::validate() const {
  if (picture_id && *picture_id > 0x7FFF) return Error{"vp9: picture id above 15 bits"};
  if (layer && (layer->temporal_id > 7 || layer->spatial_id > 7)) return Error{"vp9: layer index above 7"};
  if (num_p_diffs > 3) return Error{"vp9: more than 3 p_diff"};
  if (num_p_diffs > 0 && !(flexible_mode && inter_picture_predicted))
    return Error{"vp9: p_diff outside flexible inter-predicted mode"};
  if (flexible_mode && inter_picture_predicted && num_p_diffs == 0)
    return Error{"vp9: flexible inter-predicted frame without p_diff"};
  for (size_t i = 0; i < num_p_diffs; ++i)
    if (p_diff[i] == 0 || p_diff[i] > 127) return Error{"vp9: p_diff not in 1..127"};
  if (ss) return ss->validate();
  return Status::Ok();
}

size_t Vp9Descriptor::size() const {
  size_t n = 1;
  if (picture_id) n += two_byte_picture_id(*this) ? 2 : 1;
  if (layer) n += flexible_mode ? 1 : 2;
  if (flexible_mode && inter_picture_predicted) n += num_p_diffs;
  if (ss) n += ss->size();
  return n;
}

size_t Vp9Descriptor::write(std::span<uint8_t> out) const {
  const size_t n = size();
  if (out.size() < n) return 0;
  ByteWriter w(out);
  w.u8(static_cast<uint8_t>((picture_id ? kVp9I : 0) | (inter_picture_predicted ? kVp9P : 0) | (layer ? kVp9L : 0) |
                            (flexible_mode ? kVp9F : 0) | (start_of_frame ? kVp9B : 0) | (end_of_frame ? kVp9E : 0) |
                            (ss ? kVp9V : 0) | (not_upper_layer_reference ? kVp9Z : 0)));
  if (picture_id) {
    if (two_byte_picture_id(*this)) w.u16(static_cast<uint16_t>(0x8000 | *picture_id));
    else w.u8(static_cast<uint8_t>(*picture_id));
  }
  if (layer) {
    w.u8(static_cast<uint8_t>((layer->temporal_id << 5) | (layer->switching_up ? 0x10 : 0) |
                              (layer->spatial_id << 1) | (layer->inter_layer_dependency ? 1 : 0)));
    if (!flexible_mode) w.u8(tl0_pic_idx);
  }
  if (flexible_mode && inter_picture_predicted) {
    for (size_t i = 0; i < num_p_diffs; ++i)
      w.u8(static_cast<uint8_t>((p_diff[i] << 1) | (i + 1 < num_p_diffs ? 1 : 0)));
  }
  if (ss) {
    const size_t used = w.position();
    if (ss->write(out.subspan(used)) == 0) return 0;
  }
  return n;
}

Result<Vp9Descriptor> Vp9Descriptor::parse(std::span<const uint8_t> payload, size_t* size) {
  if (payload.empty()) return Error{"vp9: empty payload"};
  ByteReader r(payload);
  Vp9Descriptor d;
  const uint8_t b0 = r.u8();
  d.inter_picture_predicted = (b0 & kVp9P) != 0;
  d.flexible_mode = (b0 & kVp9F) != 0;
  d.start_of_frame = (b0 & kVp9B) != 0;
  d.end_of_frame = (b0 & kVp9E) != 0;
  d.not_upper_layer_reference = (b0 & kVp9Z) != 0;
  if (b0 & kVp9I) {
    const uint8_t p0 = r.u8();
    if (p0 & 0x80) {
      const uint8_t p1 = r.u8();
      d.picture_id = static_cast<uint16_t>(((p0 & 0x7F) << 8) | p1);
      d.picture_id_15bit = true;
    } else {
      d.picture_id = p0;
      d.picture_id_15bit = false;
    }
    if (!r.ok()) return Error{"vp9: truncated picture id"};
  }
  if (b0 & kVp9L) {
    const uint8_t l = r.u8();
    if (!r.ok()) return Error{"vp9: truncated layer indices"};
    d.layer = Vp9LayerIndices{static_cast<uint8_t>(l >> 5), (l & 0x10) != 0, static_cast<uint8_t>((l >> 1) & 0x07),
                              (l & 0x01) != 0};
    if (!d.flexible_mode) {
      d.tl0_pic_idx = r.u8();
      if (!r.ok()) return Error{"vp9: truncated tl0picidx"};
    }
  }
  if (d.flexible_mode && d.inter_picture_predicted) {
    bool more = true;
    while (more) {
      if (d.num_p_diffs == 3) return Error{"vp9: more than 3 p_diff"};
      const uint8_t p = r.u8();
      if (!r.ok()) return Error{"vp9: truncated p_diff"};
      d.p_diff[d.num_p_diffs++] = static_cast<uint8_t>(p >> 1);
      more = (p & 0x01) != 0;
    }
  }
  if (b0 & kVp9V) {
    size_t ss_size = 0;
    auto ss = Vp9ScalabilityStructure::parse(r.rest(), &ss_size);
    if (!ss) return Error{ss.error()};
    d.ss = std::move(*ss);
    r.skip(ss_size);
  }
  if (size) *size = r.position();
  return d;
}

// --- Packetizer -------------------------------------------------------------------------------

Status Vp9Packetizer::plan(std::span<const uint8_t> frame, const Vp9FrameInfo& info, const PayloadLimits& limits) {
  frame_ = {};
  fragments_.clear();
  ss_bytes_.clear();
  if (frame.empty()) return Error{"vp9: empty frame"};
  Status valid = info.descriptor.validate();
  if (!valid) return valid;
  descriptor_ = info.descriptor;
  descriptor_.start_of_frame = true;
  descriptor_.end_of_frame = false;
  end_of_picture_ = info.end_of_picture;

  Vp9Descriptor base = descriptor_;
  base.start_of_frame = false;
  base.ss.reset();
  header_size_ = base.write(header_);
  if (descriptor_.ss) {
    ss_bytes_.resize(descriptor_.ss->size());
    descriptor_.ss->write(ss_bytes_);
  }
  if (limits.max_payload_size <= header_size_) return Error{"vp9: payload limit smaller than the descriptor"};
  PayloadLimits fragment_limits = limits;
  fragment_limits.max_payload_size -= header_size_;
  fragment_limits.first_packet_reduction += ss_bytes_.size();
  fragment_limits.single_packet_reduction += ss_bytes_.size();
  Status planned = fragments_.plan(frame.size(), fragment_limits);
  if (!planned) return planned;
  frame_ = frame;
  return Status::Ok();
}

Result<size_t> Vp9Packetizer::write(size_t index, std::span<uint8_t> out) const {
  if (index >= num_packets()) return Error{"vp9: no such packet"};
  const size_t total = packet_size(index);
  if (out.size() < total) return Error{"vp9: output buffer too small"};
  uint8_t* p = out.data();
  std::memcpy(p, header_.data(), header_size_);
  uint8_t flags = 0;
  if (index == 0) flags |= kVp9B | (ss_bytes_.empty() ? 0 : kVp9V);
  if (index + 1 == num_packets()) flags |= kVp9E;
  p[0] = static_cast<uint8_t>(p[0] | flags);
  p += header_size_;
  if (index == 0 && !ss_bytes_.empty()) {
    std::memcpy(p, ss_bytes_.data(), ss_bytes_.size());
    p += ss_bytes_.size();
  }
  const size_t fragment = fragments_.size(index);
  std::memcpy(p, frame_.data() + fragments_.offset(index), fragment);
  return total;
}

// --- Depacketizer -----------------------------------------------------------------------------

Result<Vp9ParsedPayload> Vp9Depacketizer::parse(std::span<const uint8_t> rtp_payload) {
  size_t header_size = 0;
  auto descriptor = Vp9Descriptor::parse(rtp_payload, &header_size);
  if (!descriptor) return Error{descriptor.error()};
  if (header_size >= rtp_payload.size()) return Error{"vp9: no data after descriptor"};
  Vp9ParsedPayload out;
  out.descriptor = std::move(*descriptor);
  out.payload = rtp_payload.subspan(header_size);
  const Vp9Descriptor& d = out.descriptor;
  const bool inter_layer = d.layer && d.layer->inter_layer_dependency;
  out.is_first_packet_in_frame = d.start_of_frame && !inter_layer;
  out.is_last_packet_in_frame = d.end_of_frame;
  out.is_keyframe = !d.inter_picture_predicted && !inter_layer;
  return out;
}

}  // namespace tern::rtp
