#include "tern/ice/stun_message.h"

#include <algorithm>
#include <cstring>

#include "tern/ice/stun_crypto.h"

namespace tern::ice {
namespace {

constexpr size_t kMaxBody = 0xFFFF & ~size_t{3};  // the largest 4-aligned 16-bit length
constexpr size_t kIntegritySize = 20;
constexpr size_t kIntegrity256Size = 32;

constexpr size_t Padded(size_t n) { return (n + 3) & ~size_t{3}; }

// XORs port and address in place with the cookie and transaction id (RFC 8489 14.2); its own
// inverse, so encoding and decoding share it.
void XorAddress(TransportAddress& a, const TransactionId& id) {
  a.port ^= static_cast<uint16_t>(kStunMagicCookie >> 16);
  uint8_t mask[16];
  store_be32(mask, kStunMagicCookie);
  std::memcpy(mask + 4, id.bytes.data(), 12);
  for (size_t i = 0; i < a.ip_size(); ++i) a.ip[i] ^= mask[i];
}

// The 20-byte header with its length field replaced: what RFC 8489 14.5-14.7 hash/CRC over.
std::array<uint8_t, kStunHeaderSize> PatchedHeader(std::span<const uint8_t> msg, size_t body_length) {
  std::array<uint8_t, kStunHeaderSize> h{};
  std::memcpy(h.data(), msg.data(), h.size());
  store_be16(h.data() + 2, static_cast<uint16_t>(body_length));
  return h;
}

// Constant-time compare: a MAC check must not leak how many leading bytes matched.
bool SameBytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<uint8_t>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

namespace stun_attr {
bool is_known(uint16_t type) {
  switch (type) {
    case kMappedAddress: case kUsername: case kMessageIntegrity: case kErrorCode:
    case kUnknownAttributes: case kChannelNumber: case kLifetime: case kXorPeerAddress: case kData:
    case kRealm: case kNonce: case kXorRelayedAddress: case kRequestedTransport:
    case kRequestedAddressFamily: case kEvenPort: case kReservationToken:
    case kDontFragment: case kMessageIntegritySha256: case kXorMappedAddress: case kPriority:
    case kUseCandidate: case kSoftware: case kFingerprint: case kIceControlled:
    case kIceControlling:
      return true;
    default:
      return false;
  }
}
}  // namespace stun_attr

StunKey short_term_key(std::string_view password) { return StunKey(password.begin(), password.end()); }

StunKey long_term_key(std::string_view username, std::string_view realm, std::string_view password) {
  auto bytes = [](std::string_view s) {
    return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  static constexpr uint8_t kColon = ':';
  const auto digest = md5({bytes(username), {&kColon, 1}, bytes(realm), {&kColon, 1}, bytes(password)});
  return StunKey(digest.begin(), digest.end());
}

bool looks_like_stun(std::span<const uint8_t> data) {
  return data.size() >= kStunHeaderSize && (data[0] & 0xC0) == 0 &&
         load_be32(data.data() + 4) == kStunMagicCookie && (load_be16(data.data() + 2) & 3) == 0;
}

size_t stun_message_size(std::span<const uint8_t> data) {
  if (data.size() < 4) return 0;
  return kStunHeaderSize + load_be16(data.data() + 2);
}

// ---------------------------------------------------------------------------------------------
// Parsing

Result<StunMessage> StunMessage::parse(std::span<const uint8_t> data) {
  if (data.size() < kStunHeaderSize) return Error{"shorter than a STUN header"};
  if ((data[0] & 0xC0) != 0) return Error{"top two bits not zero"};
  if (load_be32(data.data() + 4) != kStunMagicCookie) return Error{"bad magic cookie"};
  const size_t length = load_be16(data.data() + 2);
  if ((length & 3) != 0) return Error{"length not a multiple of 4"};
  if (kStunHeaderSize + length != data.size()) return Error{"length does not match datagram size"};

  StunMessage m;
  m.data_ = data;
  const uint16_t type = load_be16(data.data());
  m.class_ = stun_message_class(type);
  m.method_ = stun_message_method(type);
  std::memcpy(m.transaction_id_.bytes.data(), data.data() + 8, 12);

  // What may still be indexed: 0 = anything, 1 = after MESSAGE-INTEGRITY, 2 = after
  // MESSAGE-INTEGRITY-SHA256, 3 = after FINGERPRINT (RFC 8489 14.5-14.7).
  int sealed = 0;
  size_t pos = kStunHeaderSize;
  while (pos < data.size()) {
    if (data.size() - pos < 4) return Error{"truncated attribute header"};
    const uint16_t at = load_be16(data.data() + pos);
    const size_t al = load_be16(data.data() + pos + 2);
    if (Padded(al) > data.size() - pos - 4) return Error{"attribute exceeds message"};
    const size_t header_at = pos;
    pos += 4 + Padded(al);

    const bool allowed = sealed == 0 ||
                         (sealed == 1 && (at == stun_attr::kMessageIntegritySha256 || at == stun_attr::kFingerprint)) ||
                         (sealed == 2 && at == stun_attr::kFingerprint);
    if (!allowed) {
      ++m.ignored_after_integrity_;
      continue;
    }
    if (at == stun_attr::kMessageIntegrity) {
      if (al != kIntegritySize) return Error{"bad MESSAGE-INTEGRITY length"};
      m.integrity_offset_ = static_cast<uint32_t>(header_at);
      sealed = 1;
    } else if (at == stun_attr::kMessageIntegritySha256) {
      if (al < 16 || al > kIntegrity256Size || (al & 3) != 0) return Error{"bad MESSAGE-INTEGRITY-SHA256 length"};
      m.integrity256_offset_ = static_cast<uint32_t>(header_at);
      sealed = 2;
    } else if (at == stun_attr::kFingerprint) {
      if (al != 4) return Error{"bad FINGERPRINT length"};
      m.fingerprint_offset_ = static_cast<uint32_t>(header_at);
      sealed = 3;
    }
    if (!stun_attr::is_known(at)) {
      if (stun_attr::is_comprehension_required(at) && m.unknown_count_ < kMaxUnknownRequired &&
          std::find(m.unknown_.begin(), m.unknown_.begin() + m.unknown_count_, at) ==
              m.unknown_.begin() + m.unknown_count_) {
        m.unknown_[m.unknown_count_++] = at;
      }
      continue;  // comprehension-optional unknowns are ignored
    }
    if (m.count_ == kMaxAttributes) return Error{"too many attributes"};
    m.attrs_[m.count_++] = Attr{at, static_cast<uint16_t>(al), static_cast<uint32_t>(header_at + 4)};
  }
  return m;
}

std::optional<std::span<const uint8_t>> StunMessage::find(uint16_t type) const {
  for (size_t i = 0; i < count_; ++i) {
    if (attrs_[i].type == type) return data_.subspan(attrs_[i].offset, attrs_[i].length);
  }
  return std::nullopt;
}

std::vector<std::span<const uint8_t>> StunMessage::all(uint16_t type) const {
  std::vector<std::span<const uint8_t>> out;
  for (size_t i = 0; i < count_; ++i) {
    if (attrs_[i].type == type) out.push_back(data_.subspan(attrs_[i].offset, attrs_[i].length));
  }
  return out;
}

namespace {

// RFC 8489 14.1 / 14.2: family, port and address, XORed with the cookie (and transaction id for
// IPv6) when `xored`.
std::optional<TransportAddress> DecodeAddress(std::span<const uint8_t> v, bool xored, const TransactionId& id) {
  if (v.size() < 4) return std::nullopt;
  TransportAddress a;
  if (v[1] == 1 && v.size() == 8) {
    a.family = TransportAddress::Family::kIPv4;
  } else if (v[1] == 2 && v.size() == 20) {
    a.family = TransportAddress::Family::kIPv6;
  } else {
    return std::nullopt;
  }
  a.port = load_be16(v.data() + 2);
  std::memcpy(a.ip.data(), v.data() + 4, a.ip_size());
  if (xored) XorAddress(a, id);
  return a;
}

}  // namespace

std::optional<TransportAddress> StunMessage::address(uint16_t type) const {
  const auto v = find(type);
  if (!v) return std::nullopt;
  return DecodeAddress(*v, type != stun_attr::kMappedAddress, transaction_id_);
}

std::vector<TransportAddress> StunMessage::xor_peer_addresses() const {
  std::vector<TransportAddress> out;
  for (const auto v : all(stun_attr::kXorPeerAddress)) {
    if (auto a = DecodeAddress(v, true, transaction_id_)) out.push_back(*a);
  }
  return out;
}

std::optional<std::string_view> StunMessage::string(uint16_t type) const {
  const auto v = find(type);
  if (!v) return std::nullopt;
  return std::string_view(reinterpret_cast<const char*>(v->data()), v->size());
}

std::optional<StunErrorCode> StunMessage::error_code() const {
  const auto v = find(stun_attr::kErrorCode);
  if (!v || v->size() < 4) return std::nullopt;
  const uint8_t cls = (*v)[2] & 0x07;
  const uint8_t number = (*v)[3];
  if (cls < 3 || cls > 6 || number > 99) return std::nullopt;
  return StunErrorCode{static_cast<uint16_t>(cls * 100 + number),
                       std::string_view(reinterpret_cast<const char*>(v->data() + 4), v->size() - 4)};
}

std::vector<uint16_t> StunMessage::unknown_attributes() const {
  std::vector<uint16_t> out;
  const auto v = find(stun_attr::kUnknownAttributes);
  if (!v || (v->size() & 1) != 0) return out;
  for (size_t i = 0; i + 1 < v->size(); i += 2) out.push_back(load_be16(v->data() + i));
  return out;
}

std::optional<uint32_t> StunMessage::u32(uint16_t type) const {
  const auto v = find(type);
  if (!v || v->size() != 4) return std::nullopt;
  return load_be32(v->data());
}

std::optional<uint64_t> StunMessage::u64(uint16_t type) const {
  const auto v = find(type);
  if (!v || v->size() != 8) return std::nullopt;
  return load_be64(v->data());
}

std::optional<uint16_t> StunMessage::channel_number() const {
  const auto v = find(stun_attr::kChannelNumber);
  if (!v || v->size() != 4) return std::nullopt;
  return load_be16(v->data());
}

std::optional<uint8_t> StunMessage::requested_transport() const {
  const auto v = find(stun_attr::kRequestedTransport);
  if (!v || v->size() != 4) return std::nullopt;
  return (*v)[0];
}

std::optional<uint8_t> StunMessage::requested_address_family() const {
  const auto v = find(stun_attr::kRequestedAddressFamily);
  if (!v || v->size() != 4) return std::nullopt;
  return (*v)[0];
}

std::optional<bool> StunMessage::even_port() const {
  const auto v = find(stun_attr::kEvenPort);
  if (!v || v->size() != 1) return std::nullopt;
  return ((*v)[0] & 0x80) != 0;
}

std::optional<std::array<uint8_t, 8>> StunMessage::reservation_token() const {
  const auto v = find(stun_attr::kReservationToken);
  if (!v || v->size() != 8) return std::nullopt;
  std::array<uint8_t, 8> token{};
  std::copy(v->begin(), v->end(), token.begin());
  return token;
}

Status StunMessage::check_integrity(std::span<const uint8_t> key) const {
  if (integrity_offset_ == 0) return Error{"no MESSAGE-INTEGRITY"};
  const size_t at = integrity_offset_;
  const auto header = PatchedHeader(data_, at - kStunHeaderSize + 4 + kIntegritySize);
  const auto mac = hmac_sha1(key, {header, data_.subspan(kStunHeaderSize, at - kStunHeaderSize)});
  if (!SameBytes(mac, data_.subspan(at + 4, kIntegritySize))) return Error{"MESSAGE-INTEGRITY mismatch"};
  return Status::Ok();
}

Status StunMessage::check_integrity_sha256(std::span<const uint8_t> key) const {
  if (integrity256_offset_ == 0) return Error{"no MESSAGE-INTEGRITY-SHA256"};
  const size_t at = integrity256_offset_;
  const size_t len = load_be16(data_.data() + at + 2);  // 16..32, checked by parse()
  const auto header = PatchedHeader(data_, at - kStunHeaderSize + 4 + len);
  const auto mac = hmac_sha256(key, {header, data_.subspan(kStunHeaderSize, at - kStunHeaderSize)});
  if (!SameBytes(std::span<const uint8_t>(mac).first(len), data_.subspan(at + 4, len))) {
    return Error{"MESSAGE-INTEGRITY-SHA256 mismatch"};
  }
  return Status::Ok();
}

Status StunMessage::check_fingerprint() const {
  if (fingerprint_offset_ == 0) return Error{"no FINGERPRINT"};
  const size_t at = fingerprint_offset_;
  const auto header = PatchedHeader(data_, at - kStunHeaderSize + 8);
  const uint32_t crc = crc32(data_.subspan(kStunHeaderSize, at - kStunHeaderSize), crc32(header));
  if ((crc ^ kStunFingerprintXor) != load_be32(data_.data() + at + 4)) return Error{"FINGERPRINT mismatch"};
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Building

StunMessageBuilder::StunMessageBuilder(StunClass c, StunMethod m, const TransactionId& id) {
  buf_.reserve(128);
  reset(c, m, id);
}

void StunMessageBuilder::reset(StunClass c, StunMethod m, const TransactionId& id) {
  id_ = id;
  overflow_ = false;
  buf_.assign(kStunHeaderSize, 0);
  store_be16(buf_.data(), stun_message_type(c, m));
  store_be32(buf_.data() + 4, kStunMagicCookie);
  std::memcpy(buf_.data() + 8, id.bytes.data(), 12);
}

void StunMessageBuilder::set_length_field(size_t body_size) {
  store_be16(buf_.data() + 2, static_cast<uint16_t>(body_size));
}

void StunMessageBuilder::begin_attribute(uint16_t type, size_t length) {
  const size_t start = buf_.size();
  buf_.resize(start + 4);
  store_be16(buf_.data() + start, type);
  store_be16(buf_.data() + start + 2, static_cast<uint16_t>(length));
}

void StunMessageBuilder::end_attribute(size_t length) {
  buf_.insert(buf_.end(), Padded(length) - length, pad_);
  set_length_field(buf_.size() - kStunHeaderSize);
}

StunMessageBuilder& StunMessageBuilder::add_bytes(uint16_t type, std::span<const uint8_t> value) {
  if (overflow_ || value.size() > 0xFFFF || buf_.size() - kStunHeaderSize + 4 + Padded(value.size()) > kMaxBody) {
    overflow_ = true;
    return *this;
  }
  begin_attribute(type, value.size());
  buf_.insert(buf_.end(), value.begin(), value.end());
  end_attribute(value.size());
  return *this;
}

StunMessageBuilder& StunMessageBuilder::add_string(uint16_t type, std::string_view value) {
  return add_bytes(type, {reinterpret_cast<const uint8_t*>(value.data()), value.size()});
}

StunMessageBuilder& StunMessageBuilder::add_u32(uint16_t type, uint32_t value) {
  uint8_t v[4];
  store_be32(v, value);
  return add_bytes(type, v);
}

StunMessageBuilder& StunMessageBuilder::add_u64(uint16_t type, uint64_t value) {
  uint8_t v[8];
  store_be64(v, value);
  return add_bytes(type, v);
}

StunMessageBuilder& StunMessageBuilder::add_address(uint16_t type, const TransportAddress& address) {
  TransportAddress a = address;
  if (type != stun_attr::kMappedAddress) XorAddress(a, id_);
  uint8_t v[20] = {};
  v[1] = static_cast<uint8_t>(a.family);
  store_be16(v + 2, a.port);
  std::memcpy(v + 4, a.ip.data(), a.ip_size());
  return add_bytes(type, std::span<const uint8_t>(v, 4 + address.ip_size()));
}

StunMessageBuilder& StunMessageBuilder::add_error_code(uint16_t code, std::string_view reason) {
  // RFC 8489 14.8: the reason phrase is at most 763 bytes (128 characters).
  reason = reason.substr(0, 763);
  std::vector<uint8_t> v(4 + reason.size());
  v[2] = static_cast<uint8_t>((code / 100) & 0x07);
  v[3] = static_cast<uint8_t>(code % 100);
  std::memcpy(v.data() + 4, reason.data(), reason.size());
  return add_bytes(stun_attr::kErrorCode, v);
}

StunMessageBuilder& StunMessageBuilder::add_unknown_attributes(std::span<const uint16_t> types) {
  std::vector<uint8_t> v(types.size() * 2);
  for (size_t i = 0; i < types.size(); ++i) store_be16(v.data() + 2 * i, types[i]);
  return add_bytes(stun_attr::kUnknownAttributes, v);
}

StunMessageBuilder& StunMessageBuilder::add_channel_number(uint16_t channel) {
  return add_u32(stun_attr::kChannelNumber, uint32_t{channel} << 16);
}

StunMessageBuilder& StunMessageBuilder::add_requested_transport(uint8_t protocol) {
  return add_u32(stun_attr::kRequestedTransport, uint32_t{protocol} << 24);
}

StunMessageBuilder& StunMessageBuilder::add_requested_address_family(uint8_t family) {
  return add_u32(stun_attr::kRequestedAddressFamily, uint32_t{family} << 24);
}

StunMessageBuilder& StunMessageBuilder::add_even_port(bool reserve_next) {
  const uint8_t value[1] = {static_cast<uint8_t>(reserve_next ? 0x80 : 0)};
  return add_bytes(stun_attr::kEvenPort, value);
}

template <typename Mac>
StunMessageBuilder& StunMessageBuilder::seal(uint16_t type, size_t size, Mac mac) {
  if (overflow_ || buf_.size() - kStunHeaderSize + 4 + size > kMaxBody) {
    overflow_ = true;
    return *this;
  }
  // RFC 8489 14.5-14.7: the length field already counts the attribute being computed.
  set_length_field(buf_.size() - kStunHeaderSize + 4 + size);
  const auto value = mac(std::span<const uint8_t>(buf_));
  return add_bytes(type, value);
}

StunMessageBuilder& StunMessageBuilder::add_message_integrity(std::span<const uint8_t> key) {
  return seal(stun_attr::kMessageIntegrity, kIntegritySize, [&](ByteSpan m) { return hmac_sha1(key, {m}); });
}

StunMessageBuilder& StunMessageBuilder::add_message_integrity_sha256(std::span<const uint8_t> key) {
  return seal(stun_attr::kMessageIntegritySha256, kIntegrity256Size,
              [&](ByteSpan m) { return hmac_sha256(key, {m}); });
}

StunMessageBuilder& StunMessageBuilder::add_fingerprint() {
  return seal(stun_attr::kFingerprint, 4, [](ByteSpan m) {
    std::array<uint8_t, 4> v;
    store_be32(v.data(), crc32(m) ^ kStunFingerprintXor);
    return v;
  });
}

Result<std::vector<uint8_t>> StunMessageBuilder::finish() && {
  if (overflow_) return Error{"message too large"};
  return std::move(buf_);
}

std::span<const uint8_t> StunMessageBuilder::view() const {
  if (overflow_) return {};
  return buf_;
}

}  // namespace tern::ice
