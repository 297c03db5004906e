// RTP packet serialisation (RFC 3550 5.1, RFC 8285 4.2/4.3).
#include "tern/rtp/rtp_packet_builder.h"

#include <cstring>

#include "tern/core/byte_io.h"

namespace tern::rtp {

RtpPacketBuilder& RtpPacketBuilder::set_csrcs(std::span<const uint32_t> csrcs) {
  if (csrcs.size() > kMaxCsrcs) invalid_ = "rtp builder: more than 15 CSRCs";
  num_csrcs_ = static_cast<uint8_t>(std::min(csrcs.size(), kMaxCsrcs));
  for (size_t i = 0; i < num_csrcs_; ++i) csrcs_[i] = csrcs[i];
  return *this;
}

RtpPacketBuilder& RtpPacketBuilder::set_extension(uint8_t id, std::span<const uint8_t> data) {
  if (id == 0 || data.size() > 255) {
    invalid_ = "rtp builder: extension id 0 or data over 255 bytes";
    return *this;
  }
  for (uint8_t i = 0; i < num_elements_; ++i) {
    if (elements_[i].id != id) continue;
    if (elements_[i].size == data.size()) {  // replace in place
      if (!data.empty()) std::memcpy(&ext_data_[elements_[i].offset], data.data(), data.size());
      return *this;
    }
    // Different size: drop the old element (its bytes stay unused) and append anew.
    elements_[i] = elements_[--num_elements_];
    break;
  }
  if (num_elements_ >= kMaxExtensionElements || ext_used_ + data.size() > kMaxExtensionBytes) {
    invalid_ = "rtp builder: too many header extensions";
    return *this;
  }
  elements_[num_elements_++] = Element{id, static_cast<uint8_t>(data.size()), ext_used_};
  if (!data.empty()) std::memcpy(&ext_data_[ext_used_], data.data(), data.size());
  ext_used_ = static_cast<uint16_t>(ext_used_ + data.size());
  return *this;
}

bool RtpPacketBuilder::one_byte_form() const {
  for (uint8_t i = 0; i < num_elements_; ++i) {
    const Element& e = elements_[i];
    if (e.id > 14 || e.size == 0 || e.size > 16) return false;
  }
  return true;
}

size_t RtpPacketBuilder::extension_block_size() const {
  if (num_elements_ == 0) return 0;
  const size_t per_element = one_byte_form() ? 1 : 2;
  size_t n = 0;
  for (uint8_t i = 0; i < num_elements_; ++i) n += per_element + elements_[i].size;
  return (n + 3) & ~size_t{3};
}

size_t RtpPacketBuilder::header_size() const {
  const size_t ext = extension_block_size();
  return kFixedHeaderSize + 4u * num_csrcs_ + (num_elements_ ? 4 + ext : 0);
}

size_t RtpPacketBuilder::size() const { return header_size() + payload_.size() + padding_; }

Result<size_t> RtpPacketBuilder::write(std::span<uint8_t> out) const {
  if (invalid_) return Error{invalid_};
  const size_t total = size();
  if (total > kMaxRtpPacketSize) return Error{"rtp builder: packet larger than 65535 bytes"};
  if (out.size() < total) return Error{"rtp builder: output buffer too small"};
  uint8_t* p = out.data();
  p[0] = static_cast<uint8_t>(0x80 | (padding_ ? 0x20 : 0) | (num_elements_ ? 0x10 : 0) | num_csrcs_);
  p[1] = static_cast<uint8_t>((marker_ ? 0x80 : 0) | payload_type_);
  store_be16(p + 2, seq_);
  store_be32(p + 4, timestamp_);
  store_be32(p + 8, ssrc_);
  size_t pos = kFixedHeaderSize;
  for (size_t i = 0; i < num_csrcs_; ++i, pos += 4) store_be32(p + pos, csrcs_[i]);
  if (num_elements_) {
    const bool one = one_byte_form();
    const size_t block = extension_block_size();
    store_be16(p + pos, one ? kOneByteExtensionProfile : kTwoByteExtensionProfile);
    store_be16(p + pos + 2, static_cast<uint16_t>(block / 4));
    pos += 4;
    const size_t end = pos + block;
    for (uint8_t i = 0; i < num_elements_; ++i) {
      const Element& e = elements_[i];
      if (one) {
        p[pos++] = static_cast<uint8_t>((e.id << 4) | (e.size - 1));
      } else {
        p[pos++] = e.id;
        p[pos++] = e.size;
      }
      if (e.size) std::memcpy(p + pos, &ext_data_[e.offset], e.size);
      pos += e.size;
    }
    while (pos < end) p[pos++] = 0;  // padding to a 32-bit boundary
  }
  if (!payload_.empty()) std::memcpy(p + pos, payload_.data(), payload_.size());
  pos += payload_.size();
  if (padding_) {
    std::memset(p + pos, 0, padding_ - 1u);
    pos += padding_;
    p[pos - 1] = padding_;
  }
  return pos;
}

Result<RtpPacket> RtpPacketBuilder::build() const {
  std::vector<uint8_t> bytes;
  bytes.reserve(size() + RtpPacket::kTailroom);  // SRTP protects in place (RtpPacket::kTailroom)
  bytes.resize(size());
  auto n = write(bytes);
  if (!n) return Error{n.error()};
  return RtpPacket::parse(std::move(bytes));
}

}  // namespace tern::rtp
