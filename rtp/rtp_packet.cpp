// RTP header parsing (RFC 3550 5.1, 5.3.1) and RFC 8285 extension element scanning.
#include "tern/rtp/rtp_packet.h"

#include <algorithm>

#include "tern/core/byte_io.h"

namespace tern::rtp {
namespace {

// Scans RFC 8285 elements in data[begin, end). One-byte form: id 0 is a padding byte, id 15 stops
// the scan (RFC 8285 4.2). Two-byte form: id 0 is a padding byte. Any element that would run past
// `end` makes the whole packet invalid.
Status scan_extensions(std::span<const uint8_t> data, size_t begin, size_t end, bool one_byte,
                       RtpHeader& h) {
  size_t pos = begin;
  while (pos < end) {
    const uint8_t first = data[pos];
    if (first == 0) {  // padding
      ++pos;
      continue;
    }
    uint8_t id;
    size_t len;
    size_t data_pos;
    if (one_byte) {
      id = first >> 4;
      len = (first & 0x0F) + 1u;
      if (id == 15) return Status::Ok();  // reserved: stop processing
      data_pos = pos + 1;
    } else {
      if (pos + 2 > end) return Error{"rtp: two-byte extension header runs past the block"};
      id = first;
      len = data[pos + 1];
      data_pos = pos + 2;
    }
    if (data_pos + len > end) return Error{"rtp: extension element runs past the block"};
    if (id != 0) {
      if (h.num_extensions < kMaxExtensionElements) {
        h.extensions[h.num_extensions++] =
            ExtensionSlot{id, static_cast<uint8_t>(len), static_cast<uint16_t>(data_pos)};
      } else {
        h.extensions_dropped = true;
      }
    }
    pos = data_pos + len;
  }
  return Status::Ok();
}

}  // namespace

Result<RtpHeader> RtpHeader::parse(std::span<const uint8_t> p) {
  RtpHeader h;
  if (Status s = parse_into(p, h); !s) return Error{s.error()};
  return h;
}

Status RtpHeader::parse_into(std::span<const uint8_t> p, RtpHeader& h) {
  if (p.size() < kFixedHeaderSize) return Error{"rtp: shorter than 12 bytes"};
  if (p.size() > kMaxRtpPacketSize) return Error{"rtp: larger than 65535 bytes"};
  const uint8_t b0 = p[0];
  if ((b0 >> 6) != 2) return Error{"rtp: version is not 2"};
  h.extension_profile = 0;
  h.extension_offset = 0;
  h.extension_size = 0;
  h.num_extensions = 0;
  h.extensions_dropped = false;
  const bool has_padding = (b0 & 0x20) != 0;
  h.has_extension = (b0 & 0x10) != 0;
  h.csrc_count = b0 & 0x0F;
  h.marker = (p[1] & 0x80) != 0;
  h.payload_type = p[1] & 0x7F;
  h.sequence_number = load_be16(&p[2]);
  h.timestamp = load_be32(&p[4]);
  h.ssrc = load_be32(&p[8]);

  size_t pos = kFixedHeaderSize + 4u * h.csrc_count;
  if (pos > p.size()) return Error{"rtp: CSRC list runs past the packet"};
  if (h.has_extension) {
    if (pos + 4 > p.size()) return Error{"rtp: extension header runs past the packet"};
    h.extension_profile = load_be16(&p[pos]);
    const size_t ext_bytes = 4u * load_be16(&p[pos + 2]);
    pos += 4;
    if (pos + ext_bytes > p.size()) return Error{"rtp: extension block runs past the packet"};
    h.extension_offset = static_cast<uint16_t>(pos);
    h.extension_size = static_cast<uint16_t>(ext_bytes);
    if (h.extension_profile == kOneByteExtensionProfile) {
      if (Status s = scan_extensions(p, pos, pos + ext_bytes, true, h); !s) return s;
    } else if ((h.extension_profile & 0xFFF0) == kTwoByteExtensionProfile) {
      if (Status s = scan_extensions(p, pos, pos + ext_bytes, false, h); !s) return s;
    }
    pos += ext_bytes;
  }
  h.header_size = static_cast<uint16_t>(pos);
  size_t padding = 0;
  if (has_padding) {
    if (pos >= p.size()) return Error{"rtp: padding bit set but no padding"};
    padding = p[p.size() - 1];
    if (padding == 0) return Error{"rtp: padding count is zero"};
    if (padding > p.size() - pos) return Error{"rtp: padding runs past the header"};
  }
  h.padding_size = static_cast<uint8_t>(padding);
  h.payload_size = static_cast<uint16_t>(p.size() - pos - padding);
  return Status::Ok();
}

const ExtensionSlot* RtpHeader::find_extension(uint8_t id) const {
  if (id == 0) return nullptr;
  for (uint8_t i = 0; i < num_extensions; ++i)
    if (extensions[i].id == id) return &extensions[i];
  return nullptr;
}

Result<RtpPacketView> RtpPacketView::parse(std::span<const uint8_t> packet) {
  RtpPacketView v;
  if (Status s = v.reset(packet); !s) return Error{s.error()};
  return v;
}

Status RtpPacketView::reset(std::span<const uint8_t> packet) {
  Status s = RtpHeader::parse_into(packet, header_);
  data_ = s.ok() ? packet : std::span<const uint8_t>();
  return s;
}

uint32_t RtpPacketView::csrc(size_t i) const {
  if (i >= header_.csrc_count) return 0;
  return load_be32(&data_[kFixedHeaderSize + 4 * i]);
}

std::optional<std::span<const uint8_t>> RtpPacketView::extension(uint8_t id) const {
  const ExtensionSlot* s = header_.find_extension(id);
  if (s == nullptr) return std::nullopt;
  return data_.subspan(s->offset, s->size);
}

Result<RtpPacket> RtpPacket::parse(std::vector<uint8_t> bytes) {
  RtpHeader h;
  if (Status s = RtpHeader::parse_into(bytes, h); !s) return Error{s.error()};
  return RtpPacket(std::move(bytes), h);
}

void RtpPacket::set_sequence_number(uint16_t seq) {
  if (bytes_.size() < kFixedHeaderSize) return;
  store_be16(&bytes_[2], seq);
  header_.sequence_number = seq;
}
void RtpPacket::set_timestamp(uint32_t ts) {
  if (bytes_.size() < kFixedHeaderSize) return;
  store_be32(&bytes_[4], ts);
  header_.timestamp = ts;
}
void RtpPacket::set_ssrc(uint32_t ssrc) {
  if (bytes_.size() < kFixedHeaderSize) return;
  store_be32(&bytes_[8], ssrc);
  header_.ssrc = ssrc;
}
void RtpPacket::set_payload_type(uint8_t pt) {
  if (bytes_.size() < kFixedHeaderSize) return;
  bytes_[1] = static_cast<uint8_t>((bytes_[1] & 0x80) | (pt & 0x7F));
  header_.payload_type = pt & 0x7F;
}
bool RtpPacket::remap_extension_ids(const std::array<uint8_t, 256>& ids) {
  if (!header_.has_extension || !header_.rfc8285_extensions()) return true;
  if (header_.extensions_dropped) return false;
  const bool one_byte = header_.extension_profile == kOneByteExtensionProfile;
  const size_t header_bytes = one_byte ? 1 : 2;
  size_t kept = 0;
  for (size_t e = 0; e < header_.num_extensions; ++e) {
    ExtensionSlot slot = header_.extensions[e];
    uint8_t mapped = ids[slot.id];
    if (one_byte && mapped > 14) mapped = 0;
    const size_t element = slot.offset - header_bytes;
    if (mapped == 0) {
      std::fill(bytes_.begin() + static_cast<std::ptrdiff_t>(element),
                bytes_.begin() + static_cast<std::ptrdiff_t>(slot.offset + slot.size), uint8_t{0});
      continue;
    }
    bytes_[element] = one_byte ? static_cast<uint8_t>((mapped << 4) | (bytes_[element] & 0x0F)) : mapped;
    slot.id = mapped;
    header_.extensions[kept++] = slot;
  }
  for (size_t e = kept; e < header_.num_extensions; ++e) header_.extensions[e] = ExtensionSlot{};
  header_.num_extensions = static_cast<uint8_t>(kept);
  return true;
}

void RtpPacket::set_marker(bool marker) {
  if (bytes_.size() < kFixedHeaderSize) return;
  bytes_[1] = static_cast<uint8_t>((bytes_[1] & 0x7F) | (marker ? 0x80 : 0));
  header_.marker = marker;
}

}  // namespace tern::rtp
