// Builds RTP packets: header fields, CSRCs, RFC 8285 header extensions, payload and padding.
//
// The builder picks the one-byte extension form (RFC 8285 4.2) when every id is 1..14 and every
// element is 1..16 bytes, and the two-byte form (4.3) otherwise. It keeps extension data inline
// (no allocation) and writes into a caller's buffer, or into a new RtpPacket.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "tern/core/result.h"
#include "tern/rtp/header_extensions.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::rtp {

class RtpPacketBuilder {
 public:
  static constexpr size_t kMaxCsrcs = 15;
  static constexpr size_t kMaxExtensionBytes = 1024;

  RtpPacketBuilder& set_marker(bool m) { marker_ = m; return *this; }
  RtpPacketBuilder& set_payload_type(uint8_t pt) { payload_type_ = pt & 0x7F; return *this; }
  RtpPacketBuilder& set_sequence_number(uint16_t s) { seq_ = s; return *this; }
  RtpPacketBuilder& set_timestamp(uint32_t t) { timestamp_ = t; return *this; }
  RtpPacketBuilder& set_ssrc(uint32_t s) { ssrc_ = s; return *this; }
  // At most 15; extras are ignored and make build() fail.
  RtpPacketBuilder& set_csrcs(std::span<const uint32_t> csrcs);
  // Raw extension element; id 1..255, data up to 255 bytes. Adding an id twice replaces it.
  RtpPacketBuilder& set_extension(uint8_t id, std::span<const uint8_t> data);
  // Typed extension through the session's id map; ignored when the type is not mapped.
  template <typename Ext>
  RtpPacketBuilder& set(const ExtensionMap& map, const typename Ext::value_type& value) {
    const uint8_t id = map.id<Ext>();
    if (id == 0) return *this;
    const size_t n = Ext::size(value);
    std::array<uint8_t, 256> tmp;
    if (n > tmp.size() || !Ext::write(std::span<uint8_t>(tmp.data(), n), value)) {
      invalid_ = "rtp builder: extension value cannot be encoded";
      return *this;
    }
    return set_extension(id, std::span<const uint8_t>(tmp.data(), n));
  }
  // The payload is referenced, not copied, until write()/build(); keep it alive until then.
  RtpPacketBuilder& set_payload(std::span<const uint8_t> payload) { payload_ = payload; return *this; }
  // Padding bytes to add (0 = none, else 1..255, including the count byte).
  RtpPacketBuilder& set_padding(uint8_t bytes) { padding_ = bytes; return *this; }

  // Bytes write() will produce.
  size_t size() const;
  size_t header_size() const;
  // Writes into `out`; returns the number of bytes written, or an error (buffer too small,
  // too many CSRCs, extension data too large).
  Result<size_t> write(std::span<uint8_t> out) const;
  // Writes into a new owned packet (one allocation).
  Result<RtpPacket> build() const;

 private:
  struct Element {
    uint8_t id;
    uint8_t size;
    uint16_t offset;  // into ext_data_
  };
  bool one_byte_form() const;
  size_t extension_block_size() const;  // bytes after the 4-byte extension header, padded to 4

  bool marker_ = false;
  uint8_t payload_type_ = 0;
  uint16_t seq_ = 0;
  uint32_t timestamp_ = 0;
  uint32_t ssrc_ = 0;
  std::array<uint32_t, kMaxCsrcs> csrcs_{};
  uint8_t num_csrcs_ = 0;
  std::array<Element, kMaxExtensionElements> elements_{};
  uint8_t num_elements_ = 0;
  std::array<uint8_t, kMaxExtensionBytes> ext_data_;
  uint16_t ext_used_ = 0;
  std::span<const uint8_t> payload_;
  uint8_t padding_ = 0;
  const char* invalid_ = nullptr;
};

}  // namespace tern::rtp
