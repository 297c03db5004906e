// RTP packets (RFC 3550 5.1) with RFC 8285 header extensions: a zero-copy parser and an owned
// packet type that pipeline stages pass along.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P|X|  CC   |M|     PT      |       sequence number         |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                           timestamp                           |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |           synchronization source (SSRC) identifier            |
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  |            contributing source (CSRC) identifiers             |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  profile (0xBEDE / 0x100X)    |           length              |  if X
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                        extension elements                     |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |    payload ...                        | padding ... | pad cnt |  if P
//
// RtpHeader holds the parsed fields and offsets only (no pointers), so it stays valid when the
// bytes it describes move with their owner. RtpPacketView pairs it with a borrowed span;
// RtpPacket pairs it with an owned buffer.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/rtp/header_extensions.h"

namespace tern::rtp {

inline constexpr size_t kFixedHeaderSize = 12;
inline constexpr uint16_t kOneByteExtensionProfile = 0xBEDE;
inline constexpr uint16_t kTwoByteExtensionProfile = 0x1000;  // upper 12 bits; low 4 are app bits
inline constexpr size_t kMaxExtensionElements = 16;          // kept per packet; extras are counted
inline constexpr size_t kMaxRtpPacketSize = 65535;

// Where one header extension element sits in the packet.
struct ExtensionSlot {
  uint8_t id = 0;
  uint8_t size = 0;     // bytes of data (one-byte form: 1..16; two-byte form: 0..255)
  uint16_t offset = 0;  // from the start of the packet
};

struct RtpHeader {
  bool marker = false;
  uint8_t payload_type = 0;
  uint16_t sequence_number = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  uint8_t csrc_count = 0;
  bool has_extension = false;       // X bit
  uint16_t extension_profile = 0;   // 0xBEDE, 0x100X, or another profile (elements not parsed)
  uint16_t extension_offset = 0;    // start of the extension data (after its 4-byte header)
  uint16_t extension_size = 0;      // bytes of extension data (length field x 4)
  uint8_t num_extensions = 0;       // slots filled in `extensions`
  bool extensions_dropped = false;  // more than kMaxExtensionElements elements were present
  std::array<ExtensionSlot, kMaxExtensionElements> extensions{};
  uint16_t header_size = 0;         // fixed header + CSRCs + extension block
  uint16_t payload_size = 0;
  uint8_t padding_size = 0;         // including the count byte itself; 0 when P is clear

  // Parses and validates the whole header, the extension block and the padding. Errors name the
  // first problem found: "rtp: shorter than 12 bytes", "rtp: version is not 2", ...
  static Result<RtpHeader> parse(std::span<const uint8_t> packet);
  // The same, filling `out` in place (no copy of the header on the hot path).
  static Status parse_into(std::span<const uint8_t> packet, RtpHeader& out);

  // True for the one-byte (0xBEDE) or two-byte (0x100X) RFC 8285 profiles.
  bool rfc8285_extensions() const {
    return extension_profile == kOneByteExtensionProfile ||
           (extension_profile & 0xFFF0) == kTwoByteExtensionProfile;
  }
  const ExtensionSlot* find_extension(uint8_t id) const;
};

// A parsed packet over bytes owned by someone else; valid while those bytes are.
class RtpPacketView {
 public:
  static Result<RtpPacketView> parse(std::span<const uint8_t> packet);
  RtpPacketView(std::span<const uint8_t> data, const RtpHeader& header) : data_(data), header_(header) {}
  RtpPacketView() = default;
  // Parses into this view in place; on failure the view is left empty.
  Status reset(std::span<const uint8_t> packet);

  const RtpHeader& header() const { return header_; }
  bool marker() const { return header_.marker; }
  uint8_t payload_type() const { return header_.payload_type; }
  uint16_t sequence_number() const { return header_.sequence_number; }
  uint32_t timestamp() const { return header_.timestamp; }
  uint32_t ssrc() const { return header_.ssrc; }
  size_t csrc_count() const { return header_.csrc_count; }
  uint32_t csrc(size_t i) const;  // 0 <= i < csrc_count()

  std::span<const uint8_t> data() const { return data_; }
  std::span<const uint8_t> payload() const { return data_.subspan(header_.header_size, header_.payload_size); }
  size_t size() const { return data_.size(); }
  size_t header_size() const { return header_.header_size; }
  size_t padding_size() const { return header_.padding_size; }

  // Raw data of the extension element with this id, if present.
  std::optional<std::span<const uint8_t>> extension(uint8_t id) const;
  // Typed value of an extension through the session's id map; nullopt when unmapped, absent or
  // malformed.
  template <typename Ext>
  std::optional<typename Ext::value_type> get(const ExtensionMap& map) const {
    const uint8_t id = map.id<Ext>();
    if (id == 0) return std::nullopt;
    auto raw = extension(id);
    if (!raw) return std::nullopt;
    return Ext::parse(*raw);
  }

 private:
  std::span<const uint8_t> data_;
  RtpHeader header_;
};

// An RTP packet that owns its bytes: what flows between pipeline stages. Copies copy the bytes;
// moves are cheap. Arrival time and other metadata travel alongside.
// Built and copied packets keep kTailroom bytes of capacity behind their data: SRTP's protect
// grows a packet in place (tag and MKI, at most 20 bytes), and without the room every packet sent
// was reallocated and copied once more on its way out (measured in tern-sfu: a malloc, a copy and a
// free per forwarded packet per subscriber).
class RtpPacket {
 public:
  static constexpr size_t kTailroom = 32;

  RtpPacket() = default;
  RtpPacket(const RtpPacket& other) : arrival_time(other.arrival_time), header_(other.header_) { copy_bytes(other); }
  RtpPacket& operator=(const RtpPacket& other) {
    if (this != &other) {
      copy_bytes(other);
      header_ = other.header_;
      arrival_time = other.arrival_time;
    }
    return *this;
  }
  RtpPacket(RtpPacket&&) noexcept = default;
  RtpPacket& operator=(RtpPacket&&) noexcept = default;
  ~RtpPacket() = default;
  // A copy of `other` built in `buffer` (a pooled one: its capacity is reused when it holds the
  // packet and kTailroom; else it grows).
  static RtpPacket copy_into(const RtpPacket& other, std::vector<uint8_t> buffer) {
    RtpPacket p(std::move(buffer), other.header_);
    p.copy_bytes(other);
    p.arrival_time = other.arrival_time;
    return p;
  }
  // Takes ownership of `bytes` and parses them.
  static Result<RtpPacket> parse(std::vector<uint8_t> bytes);
  static Result<RtpPacket> parse(std::span<const uint8_t> bytes) {
    return parse(std::vector<uint8_t>(bytes.begin(), bytes.end()));
  }

  RtpPacketView view() const { return RtpPacketView(bytes_, header_); }
  const RtpHeader& header() const { return header_; }
  bool marker() const { return header_.marker; }
  uint8_t payload_type() const { return header_.payload_type; }
  uint16_t sequence_number() const { return header_.sequence_number; }
  uint32_t timestamp() const { return header_.timestamp; }
  uint32_t ssrc() const { return header_.ssrc; }
  std::span<const uint8_t> payload() const { return view().payload(); }
  std::span<const uint8_t> data() const { return bytes_; }
  size_t size() const { return bytes_.size(); }
  size_t payload_size() const { return header_.payload_size; }
  size_t padding_size() const { return header_.padding_size; }

  template <typename Ext>
  std::optional<typename Ext::value_type> get(const ExtensionMap& map) const { return view().get<Ext>(map); }
  std::optional<std::span<const uint8_t>> extension(uint8_t id) const { return view().extension(id); }

  // In-place rewrites for fields a sender stamps late (pacer: sequence numbers, transport-wide
  // sequence number, abs-send-time). They never change the packet's size.
  void set_sequence_number(uint16_t seq);
  void set_timestamp(uint32_t ts);
  void set_ssrc(uint32_t ssrc);
  void set_payload_type(uint8_t pt);
  void set_marker(bool marker);
  // The payload bytes, for in-place rewrites that keep its size (a forwarder's picture ids).
  std::span<uint8_t> mutable_payload() { return std::span<uint8_t>(bytes_).subspan(header_.header_size, header_.payload_size); }
  // Rewrites an extension that is already present with an encoding of the same size; returns
  // false (changing nothing) when it is absent, unmapped or of another size.
  template <typename Ext>
  bool set(const ExtensionMap& map, const typename Ext::value_type& value) {
    const ExtensionSlot* slot = header_.find_extension(map.id<Ext>());
    if (slot == nullptr || map.id<Ext>() == 0 || Ext::size(value) != slot->size) return false;
    return Ext::write(std::span<uint8_t>(bytes_).subspan(slot->offset, slot->size), value);
  }

  // Renumbers the RFC 8285 header extensions in place (a forwarder translating one leg's ids to
  // another's): element id `i` becomes `ids[i]`; an element mapped to 0, or above 14 in the one-byte
  // form, becomes padding (zero bytes, skipped by parsers) and leaves the parsed header. The size is
  // unchanged. Returns false, changing nothing, when the parser dropped elements past its
  // kMaxExtensionElements (they could not be renumbered). Another profile or none: nothing to do.
  bool remap_extension_ids(const std::array<uint8_t, 256>& ids);
  // Gives up the bytes (the last use of a packet on its way out: no copy for the datagram); the
  // packet is left empty.
  std::vector<uint8_t> release_bytes() && {
    header_ = RtpHeader{};
    return std::move(bytes_);
  }

  // Metadata, not on the wire.
  Timestamp arrival_time = Timestamp::MinusInfinity();

 private:
  friend class RtpPacketBuilder;
  RtpPacket(std::vector<uint8_t> bytes, const RtpHeader& header) : bytes_(std::move(bytes)), header_(header) {}
  void copy_bytes(const RtpPacket& other) {
    bytes_.clear();
    bytes_.reserve(other.bytes_.size() + kTailroom);
    bytes_.assign(other.bytes_.begin(), other.bytes_.end());
  }
  std::vector<uint8_t> bytes_;
  RtpHeader header_;
};

}  // namespace tern::rtp
