// STUN messages (RFC 8489): parse into a zero-copy view, build with typed attribute writers.
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |0 0|     STUN Message Type     |         Message Length        |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                 Magic Cookie = 0x2112A442                     |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                  Transaction ID (96 bits)                     |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    | attributes: Type (16) | Length (16) | Value, padded to 4 bytes |
//
// Attributes covered: RFC 8489 (MAPPED-ADDRESS, XOR-MAPPED-ADDRESS, USERNAME, MESSAGE-INTEGRITY,
// MESSAGE-INTEGRITY-SHA256, FINGERPRINT, ERROR-CODE, REALM, NONCE, UNKNOWN-ATTRIBUTES, SOFTWARE),
// RFC 8445 ICE (PRIORITY, USE-CANDIDATE, ICE-CONTROLLED, ICE-CONTROLLING), RFC 8656 TURN
// (CHANNEL-NUMBER, LIFETIME, XOR-PEER-ADDRESS, DATA, XOR-RELAYED-ADDRESS, REQUESTED-TRANSPORT,
// DONT-FRAGMENT, REQUESTED-ADDRESS-FAMILY, EVEN-PORT, RESERVATION-TOKEN).
//
// Parse policy (RFC 8489 section 14 and 14.5-14.7):
//  - the header must be exact: top two bits zero, the magic cookie, a length that is a multiple of
//    4 and equals the datagram size minus 20, and attributes that tile the body exactly;
//  - an attribute may appear more than once; accessors return the first occurrence (RFC 8489 14:
//    only the first needs processing), `all()` returns every one (XOR-PEER-ADDRESS in
//    CreatePermission may repeat);
//  - after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT are indexed, after
//    MESSAGE-INTEGRITY-SHA256 only FINGERPRINT, after FINGERPRINT nothing: later attributes are
//    walked for framing but ignored (counted in ignored_after_integrity());
//  - unknown comprehension-optional attributes (0x8000-0xFFFF) are ignored; unknown
//    comprehension-required ones (0x0000-0x7FFF) are listed in unknown_required() so that a server
//    can answer 420 with UNKNOWN-ATTRIBUTES. Parsing still succeeds: the caller decides;
//  - a malformed value in a known attribute is not a parse error; its typed accessor returns
//    nullopt (a message is rejected for its framing, an attribute for its content).
//  - at most kMaxAttributes attributes are indexed; a message with more is rejected ("too many
//    attributes"): real ICE/TURN messages carry fewer than 15.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "tern/core/byte_io.h"
#include "tern/core/result.h"
#include "tern/ice/transport_address.h"

namespace tern::ice {

inline constexpr uint32_t kStunMagicCookie = 0x2112A442;
inline constexpr size_t kStunHeaderSize = 20;
inline constexpr uint32_t kStunFingerprintXor = 0x5354554e;

// The class bits C1 C0 of the message type (RFC 8489 5).
enum class StunClass : uint8_t { kRequest = 0, kIndication = 1, kSuccess = 2, kError = 3 };

// The 12-bit method (RFC 8489 18.2, RFC 8656 18.1).
enum class StunMethod : uint16_t {
  kBinding = 0x001,
  kAllocate = 0x003,
  kRefresh = 0x004,
  kSend = 0x006,
  kData = 0x007,
  kCreatePermission = 0x008,
  kChannelBind = 0x009,
};

// Attribute types (IANA STUN Attributes registry).
namespace stun_attr {
inline constexpr uint16_t kMappedAddress = 0x0001;
inline constexpr uint16_t kUsername = 0x0006;
inline constexpr uint16_t kMessageIntegrity = 0x0008;
inline constexpr uint16_t kErrorCode = 0x0009;
inline constexpr uint16_t kUnknownAttributes = 0x000A;
inline constexpr uint16_t kChannelNumber = 0x000C;
inline constexpr uint16_t kLifetime = 0x000D;
inline constexpr uint16_t kXorPeerAddress = 0x0012;
inline constexpr uint16_t kData = 0x0013;
inline constexpr uint16_t kRealm = 0x0014;
inline constexpr uint16_t kNonce = 0x0015;
inline constexpr uint16_t kXorRelayedAddress = 0x0016;
inline constexpr uint16_t kRequestedAddressFamily = 0x0017;
inline constexpr uint16_t kEvenPort = 0x0018;
inline constexpr uint16_t kRequestedTransport = 0x0019;
inline constexpr uint16_t kDontFragment = 0x001A;
inline constexpr uint16_t kMessageIntegritySha256 = 0x001C;
inline constexpr uint16_t kXorMappedAddress = 0x0020;
inline constexpr uint16_t kReservationToken = 0x0022;
inline constexpr uint16_t kPriority = 0x0024;
inline constexpr uint16_t kUseCandidate = 0x0025;
inline constexpr uint16_t kSoftware = 0x8022;
inline constexpr uint16_t kFingerprint = 0x8028;
inline constexpr uint16_t kIceControlled = 0x8029;
inline constexpr uint16_t kIceControlling = 0x802A;

// True for the types this codec understands (the ones above).
bool is_known(uint16_t type);
// RFC 8489 14: 0x0000-0x7FFF must be understood or the request is answered 420.
constexpr bool is_comprehension_required(uint16_t type) { return type < 0x8000; }
}  // namespace stun_attr

// STUN error codes used by ICE and TURN (RFC 8489 14.8, RFC 8445 7.3.1.1, RFC 8656 18.4).
namespace stun_error {
inline constexpr uint16_t kTryAlternate = 300;
inline constexpr uint16_t kBadRequest = 400;
inline constexpr uint16_t kUnauthorized = 401;
inline constexpr uint16_t kForbidden = 403;
inline constexpr uint16_t kUnknownAttribute = 420;
inline constexpr uint16_t kAllocationMismatch = 437;
inline constexpr uint16_t kStaleNonce = 438;
inline constexpr uint16_t kAddressFamilyNotSupported = 440;
inline constexpr uint16_t kWrongCredentials = 441;
inline constexpr uint16_t kUnsupportedTransportProtocol = 442;
inline constexpr uint16_t kPeerAddressFamilyMismatch = 443;
inline constexpr uint16_t kAllocationQuotaReached = 486;
inline constexpr uint16_t kRoleConflict = 487;
inline constexpr uint16_t kServerError = 500;
inline constexpr uint16_t kInsufficientCapacity = 508;
}  // namespace stun_error

// The 96-bit transaction id.
struct TransactionId {
  std::array<uint8_t, 12> bytes{};
  friend bool operator==(const TransactionId&, const TransactionId&) = default;
};

// ERROR-CODE value: code 300..699 and a UTF-8 reason phrase (borrowed from the message).
struct StunErrorCode {
  uint16_t code = 0;
  std::string_view reason;
};

// The key that MESSAGE-INTEGRITY(-SHA256) is computed with (RFC 8489 9.1.1, 9.2.2).
using StunKey = std::vector<uint8_t>;
// Short-term credential: the password bytes as given (tern applies no OpaqueString/SASLprep
// processing; ICE passwords are ASCII ice-chars, RFC 8839 5.4).
StunKey short_term_key(std::string_view password);
// Long-term credential with the MD5 algorithm: MD5(username ":" realm ":" password).
StunKey long_term_key(std::string_view username, std::string_view realm, std::string_view password);

// Encodes / decodes the 16-bit message type from class and method (RFC 8489 5, figure 3).
constexpr uint16_t stun_message_type(StunClass c, StunMethod m) {
  const auto mv = static_cast<uint16_t>(m);
  const auto cv = static_cast<uint16_t>(c);
  return static_cast<uint16_t>((mv & 0x000F) | ((mv & 0x0070) << 1) | ((mv & 0x0F80) << 2) |
                               ((cv & 1) << 4) | ((cv & 2) << 7));
}
constexpr StunClass stun_message_class(uint16_t type) {
  return static_cast<StunClass>(((type >> 4) & 1) | ((type >> 7) & 2));
}
// The raw 12-bit method (also for methods tern does not know).
constexpr uint16_t stun_message_method(uint16_t type) {
  return static_cast<uint16_t>((type & 0x000F) | ((type >> 1) & 0x0070) | ((type >> 2) & 0x0F80));
}

// Cheap test for "this datagram is a STUN message": at least a header, top bits zero, the magic
// cookie, length a multiple of 4. (RFC 7983's first-byte class is transport::classify.)
bool looks_like_stun(std::span<const uint8_t> data);

// For byte streams (STUN over TCP/TLS, RFC 8489 6.2.2): the size of the STUN message that starts
// at `data` (20 + length field), or 0 when fewer than 4 bytes are available to tell.
size_t stun_message_size(std::span<const uint8_t> data);

// A parsed STUN message: a view over the bytes given to parse(), which must outlive it.
class StunMessage {
 public:
  static constexpr size_t kMaxAttributes = 32;
  static constexpr size_t kMaxUnknownRequired = 8;

  // Parses one whole message (a UDP datagram or one framed message from a stream).
  static Result<StunMessage> parse(std::span<const uint8_t> data);

  StunClass message_class() const { return class_; }
  StunMethod method() const { return static_cast<StunMethod>(method_); }
  uint16_t method_value() const { return method_; }  // the raw 12-bit method, also unknown ones
  uint16_t type() const { return load_be16(data_.data()); }
  const TransactionId& transaction_id() const { return transaction_id_; }
  bool is(StunClass c, StunMethod m) const { return class_ == c && method_ == static_cast<uint16_t>(m); }
  // The bytes of the whole message.
  std::span<const uint8_t> bytes() const { return data_; }

  // --- generic access -----------------------------------------------------------------------
  bool has(uint16_t type) const { return find(type).has_value(); }
  // The value of the first attribute of this type (unpadded), or nullopt.
  std::optional<std::span<const uint8_t>> find(uint16_t type) const;
  // Every value of this type in message order (bounded by kMaxAttributes).
  std::vector<std::span<const uint8_t>> all(uint16_t type) const;
  // The indexed attributes in message order (i < attribute_count()).
  size_t attribute_count() const { return count_; }
  uint16_t attribute_type(size_t i) const { return attrs_[i].type; }
  std::span<const uint8_t> attribute_value(size_t i) const {
    return data_.subspan(attrs_[i].offset, attrs_[i].length);
  }

  // Unknown comprehension-required types seen (at most kMaxUnknownRequired, first ones kept).
  std::span<const uint16_t> unknown_required() const { return {unknown_.data(), unknown_count_}; }
  // Attributes after MESSAGE-INTEGRITY/FINGERPRINT that RFC 8489 14.5/14.7 says to ignore.
  size_t ignored_after_integrity() const { return ignored_after_integrity_; }

  // --- typed accessors: nullopt when absent or malformed ---------------------------------------
  // Decodes an address attribute: MAPPED-ADDRESS plainly, XOR-* types XORed with the cookie/id.
  std::optional<TransportAddress> address(uint16_t type) const;
  std::optional<TransportAddress> xor_mapped_address() const { return address(stun_attr::kXorMappedAddress); }
  std::optional<TransportAddress> mapped_address() const { return address(stun_attr::kMappedAddress); }
  std::optional<TransportAddress> xor_relayed_address() const { return address(stun_attr::kXorRelayedAddress); }
  std::optional<TransportAddress> xor_peer_address() const { return address(stun_attr::kXorPeerAddress); }
  // Every XOR-PEER-ADDRESS (CreatePermission may carry several); malformed ones skipped.
  std::vector<TransportAddress> xor_peer_addresses() const;

  std::optional<std::string_view> string(uint16_t type) const;  // value bytes as text, not validated
  std::optional<std::string_view> username() const { return string(stun_attr::kUsername); }
  std::optional<std::string_view> realm() const { return string(stun_attr::kRealm); }
  std::optional<std::string_view> nonce() const { return string(stun_attr::kNonce); }
  std::optional<std::string_view> software() const { return string(stun_attr::kSoftware); }

  std::optional<StunErrorCode> error_code() const;
  std::vector<uint16_t> unknown_attributes() const;  // UNKNOWN-ATTRIBUTES list
  std::optional<uint32_t> priority() const { return u32(stun_attr::kPriority); }
  bool use_candidate() const { return has(stun_attr::kUseCandidate); }
  std::optional<uint64_t> ice_controlling() const { return u64(stun_attr::kIceControlling); }
  std::optional<uint64_t> ice_controlled() const { return u64(stun_attr::kIceControlled); }
  std::optional<uint32_t> lifetime_seconds() const { return u32(stun_attr::kLifetime); }
  std::optional<uint16_t> channel_number() const;      // CHANNEL-NUMBER (RFFU ignored)
  std::optional<uint8_t> requested_transport() const;  // protocol number, 17 = UDP
  // REQUESTED-ADDRESS-FAMILY (RFC 8656 18.9): 0x01 IPv4, 0x02 IPv6; nullopt unless 4 bytes.
  std::optional<uint8_t> requested_address_family() const;
  // EVEN-PORT (18.6): its R bit (reserve the next port too); nullopt unless 1 byte.
  std::optional<bool> even_port() const;
  // RESERVATION-TOKEN (18.11): nullopt unless 8 bytes.
  std::optional<std::array<uint8_t, 8>> reservation_token() const;
  bool dont_fragment() const { return has(stun_attr::kDontFragment); }
  std::optional<std::span<const uint8_t>> data() const { return find(stun_attr::kData); }

  // --- integrity (RFC 8489 14.5, 14.6, 14.7) ---------------------------------------------------
  bool has_message_integrity() const { return integrity_offset_ != 0; }
  bool has_message_integrity_sha256() const { return integrity256_offset_ != 0; }
  bool has_fingerprint() const { return fingerprint_offset_ != 0; }
  // HMAC-SHA1 over the message up to MESSAGE-INTEGRITY, with the header length counting up to the
  // end of that attribute. Fails: "no MESSAGE-INTEGRITY", "MESSAGE-INTEGRITY mismatch".
  Status check_integrity(std::span<const uint8_t> key) const;
  // HMAC-SHA256, value truncated to 16..32 bytes as sent. Fails likewise, or "bad length".
  Status check_integrity_sha256(std::span<const uint8_t> key) const;
  // CRC-32 of the message up to FINGERPRINT XOR 0x5354554e. Fails: "no FINGERPRINT", "mismatch".
  Status check_fingerprint() const;

 private:
  struct Attr {
    uint16_t type;
    uint16_t length;
    uint32_t offset;  // of the value, from the start of the message
  };
  std::optional<uint32_t> u32(uint16_t type) const;
  std::optional<uint64_t> u64(uint16_t type) const;

  std::span<const uint8_t> data_;
  TransactionId transaction_id_;
  StunClass class_ = StunClass::kRequest;
  uint16_t method_ = 0;
  uint8_t count_ = 0;
  uint8_t unknown_count_ = 0;
  uint16_t ignored_after_integrity_ = 0;
  uint32_t integrity_offset_ = 0;     // of the MESSAGE-INTEGRITY attribute header; 0 = none
  uint32_t integrity256_offset_ = 0;  // of MESSAGE-INTEGRITY-SHA256
  uint32_t fingerprint_offset_ = 0;   // of FINGERPRINT
  std::array<Attr, kMaxAttributes> attrs_{};
  std::array<uint16_t, kMaxUnknownRequired> unknown_{};
};

// Builds a STUN message. Attributes are written in call order; add_message_integrity(),
// add_message_integrity_sha256() and add_fingerprint() must come last, in that order (each seals
// what precedes it). Padding bytes are zero unless set_padding_byte() says otherwise (RFC 5769's
// vectors pad with spaces). Sizes are bounded by the 16-bit length field: a message that would
// exceed it makes finish() fail.
class StunMessageBuilder {
 public:
  StunMessageBuilder(StunClass c, StunMethod m, const TransactionId& id);
  // Starts over with a new header, keeping the buffer's capacity (no allocation when reused).
  void reset(StunClass c, StunMethod m, const TransactionId& id);
  void set_padding_byte(uint8_t b) { pad_ = b; }

  StunMessageBuilder& add_bytes(uint16_t type, std::span<const uint8_t> value);
  StunMessageBuilder& add_string(uint16_t type, std::string_view value);
  StunMessageBuilder& add_empty(uint16_t type) { return add_bytes(type, {}); }
  StunMessageBuilder& add_u32(uint16_t type, uint32_t value);
  StunMessageBuilder& add_u64(uint16_t type, uint64_t value);
  // MAPPED-ADDRESS is written plainly, every XOR-* type XORed (RFC 8489 14.2).
  StunMessageBuilder& add_address(uint16_t type, const TransportAddress& address);

  StunMessageBuilder& add_username(std::string_view u) { return add_string(stun_attr::kUsername, u); }
  StunMessageBuilder& add_realm(std::string_view r) { return add_string(stun_attr::kRealm, r); }
  StunMessageBuilder& add_nonce(std::string_view n) { return add_string(stun_attr::kNonce, n); }
  StunMessageBuilder& add_software(std::string_view s) { return add_string(stun_attr::kSoftware, s); }
  StunMessageBuilder& add_xor_mapped_address(const TransportAddress& a) { return add_address(stun_attr::kXorMappedAddress, a); }
  StunMessageBuilder& add_xor_relayed_address(const TransportAddress& a) { return add_address(stun_attr::kXorRelayedAddress, a); }
  StunMessageBuilder& add_xor_peer_address(const TransportAddress& a) { return add_address(stun_attr::kXorPeerAddress, a); }
  StunMessageBuilder& add_error_code(uint16_t code, std::string_view reason);
  StunMessageBuilder& add_unknown_attributes(std::span<const uint16_t> types);
  StunMessageBuilder& add_priority(uint32_t p) { return add_u32(stun_attr::kPriority, p); }
  StunMessageBuilder& add_use_candidate() { return add_empty(stun_attr::kUseCandidate); }
  StunMessageBuilder& add_ice_controlling(uint64_t tie_breaker) { return add_u64(stun_attr::kIceControlling, tie_breaker); }
  StunMessageBuilder& add_ice_controlled(uint64_t tie_breaker) { return add_u64(stun_attr::kIceControlled, tie_breaker); }
  StunMessageBuilder& add_lifetime(uint32_t seconds) { return add_u32(stun_attr::kLifetime, seconds); }
  StunMessageBuilder& add_channel_number(uint16_t channel);
  StunMessageBuilder& add_requested_transport(uint8_t protocol = 17);
  StunMessageBuilder& add_requested_address_family(uint8_t family);  // 0x01 IPv4, 0x02 IPv6
  StunMessageBuilder& add_even_port(bool reserve_next);
  StunMessageBuilder& add_reservation_token(std::span<const uint8_t, 8> token) {
    return add_bytes(stun_attr::kReservationToken, token);
  }
  StunMessageBuilder& add_dont_fragment() { return add_empty(stun_attr::kDontFragment); }
  StunMessageBuilder& add_data(std::span<const uint8_t> d) { return add_bytes(stun_attr::kData, d); }

  // Seals the message so far with HMAC-SHA1 (20 bytes) / HMAC-SHA256 (32 bytes) / CRC-32.
  StunMessageBuilder& add_message_integrity(std::span<const uint8_t> key);
  StunMessageBuilder& add_message_integrity_sha256(std::span<const uint8_t> key);
  StunMessageBuilder& add_fingerprint();

  // The finished message, or "message too large".
  Result<std::vector<uint8_t>> finish() &&;
  // The bytes so far (valid until the next add or reset), empty after an overflow.
  std::span<const uint8_t> view() const;

 private:
  void begin_attribute(uint16_t type, size_t length);
  void end_attribute(size_t length);
  void set_length_field(size_t body_size);
  // Appends a `size`-byte attribute whose value `mac(bytes so far)` computes once the length field
  // counts it (MESSAGE-INTEGRITY, -SHA256, FINGERPRINT).
  template <typename Mac>
  StunMessageBuilder& seal(uint16_t type, size_t size, Mac mac);

  std::vector<uint8_t> buf_;
  TransactionId id_;
  uint8_t pad_ = 0;
  bool overflow_ = false;
};

}  // namespace tern::ice
