// Encoders and decoders for the RTP header extensions tern understands (see header_extensions.h).
#include "tern/rtp/header_extensions.h"

#include "tern/core/byte_io.h"

namespace tern::rtp {

std::optional<uint16_t> TransportSequenceNumber::parse(std::span<const uint8_t> d) {
  if (d.size() != 2) return std::nullopt;
  return load_be16(d.data());
}
bool TransportSequenceNumber::write(std::span<uint8_t> out, const uint16_t& v) {
  if (out.size() != 2) return false;
  store_be16(out.data(), v);
  return true;
}

std::optional<uint32_t> AbsSendTime::parse(std::span<const uint8_t> d) {
  if (d.size() != 3) return std::nullopt;
  return load_be24(d.data());
}
bool AbsSendTime::write(std::span<uint8_t> out, const uint32_t& v) {
  if (out.size() != 3 || v > 0xFFFFFF) return false;
  store_be24(out.data(), v);
  return true;
}
uint32_t AbsSendTime::from_time(Timestamp t) {
  // 6.18 fixed point: us * 2^18 / 1e6, modulo 2^24 (64 s). Non-finite times map to 0.
  if (!t.is_finite()) return 0;
  const uint64_t us = static_cast<uint64_t>(t.us());
  return static_cast<uint32_t>((((us << 18) + 500000) / 1000000) & 0xFFFFFF);
}
TimeDelta AbsSendTime::to_delta(uint32_t raw_difference) {
  return TimeDelta::Micros(static_cast<int64_t>(((uint64_t{raw_difference & 0xFFFFFF}) * 1000000) >> 18));
}

std::optional<AudioLevel::value_type> AudioLevel::parse(std::span<const uint8_t> d) {
  // RFC 6464 allows padding after the byte in the two-byte form; only the first byte matters,
  // but a one-byte-form element is exactly one byte. Accept >= 1 to interoperate.
  if (d.empty()) return std::nullopt;
  return value_type{(d[0] & 0x80) != 0, static_cast<uint8_t>(d[0] & 0x7F)};
}
bool AudioLevel::write(std::span<uint8_t> out, const value_type& v) {
  if (out.size() != 1 || v.level_dbov > 127) return false;
  out[0] = static_cast<uint8_t>((v.voice_activity ? 0x80 : 0) | v.level_dbov);
  return true;
}

template <ExtensionType T>
std::optional<std::string> StringExtension<T>::parse(std::span<const uint8_t> d) {
  // An RFC 8285 element carries at most 255 bytes; anything longer did not come from one.
  if (d.empty() || d.size() > 255) return std::nullopt;
  // Trailing NULs are padding some senders add; strip them.
  size_t n = d.size();
  while (n > 0 && d[n - 1] == 0) --n;
  if (n == 0) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(d.data()), n);
}
template <ExtensionType T>
bool StringExtension<T>::write(std::span<uint8_t> out, const std::string& v) {
  if (v.empty() || v.size() > 255 || out.size() != v.size()) return false;
  for (size_t i = 0; i < v.size(); ++i) out[i] = static_cast<uint8_t>(v[i]);
  return true;
}
template struct StringExtension<ExtensionType::kMid>;
template struct StringExtension<ExtensionType::kRtpStreamId>;
template struct StringExtension<ExtensionType::kRepairedRtpStreamId>;

std::optional<PlayoutDelay::value_type> PlayoutDelay::parse(std::span<const uint8_t> d) {
  if (d.size() != 3) return std::nullopt;
  const uint32_t raw = load_be24(d.data());
  const int64_t min_ms = static_cast<int64_t>(raw >> 12) * 10;
  const int64_t max_ms = static_cast<int64_t>(raw & 0xFFF) * 10;
  if (min_ms > max_ms) return std::nullopt;
  return value_type{TimeDelta::Millis(min_ms), TimeDelta::Millis(max_ms)};
}
bool PlayoutDelay::write(std::span<uint8_t> out, const value_type& v) {
  const int64_t min_u = v.min.ms() / 10, max_u = v.max.ms() / 10;
  if (out.size() != 3 || min_u < 0 || max_u > 0xFFF || min_u > max_u) return false;
  store_be24(out.data(), static_cast<uint32_t>((min_u << 12) | max_u));
  return true;
}

std::optional<AbsCaptureTime::value_type> AbsCaptureTime::parse(std::span<const uint8_t> d) {
  if (d.size() != 8 && d.size() != 16) return std::nullopt;
  value_type v;
  v.absolute_capture_timestamp = load_be64(d.data());
  if (d.size() == 16) v.estimated_capture_clock_offset = static_cast<int64_t>(load_be64(d.data() + 8));
  return v;
}
bool AbsCaptureTime::write(std::span<uint8_t> out, const value_type& v) {
  if (out.size() != size(v)) return false;
  store_be64(out.data(), v.absolute_capture_timestamp);
  if (v.estimated_capture_clock_offset)
    store_be64(out.data() + 8, static_cast<uint64_t>(*v.estimated_capture_clock_offset));
  return true;
}

std::optional<int32_t> TransmissionOffset::parse(std::span<const uint8_t> d) {
  if (d.size() != 3) return std::nullopt;
  uint32_t raw = load_be24(d.data());
  if (raw & 0x800000) raw |= 0xFF000000u;  // sign-extend
  return static_cast<int32_t>(raw);
}
bool TransmissionOffset::write(std::span<uint8_t> out, const int32_t& v) {
  if (out.size() != 3 || v < -0x800000 || v > 0x7FFFFF) return false;
  store_be24(out.data(), static_cast<uint32_t>(v) & 0xFFFFFF);
  return true;
}

std::optional<uint8_t> VideoOrientation::parse(std::span<const uint8_t> d) {
  if (d.size() != 1) return std::nullopt;
  return d[0];
}
bool VideoOrientation::write(std::span<uint8_t> out, const uint8_t& v) {
  if (out.size() != 1) return false;
  out[0] = v;
  return true;
}

namespace {
struct UriEntry {
  ExtensionType type;
  std::string_view uri;
};
constexpr UriEntry kUris[] = {
    {ExtensionType::kTransportSequenceNumber, TransportSequenceNumber::kUri},
    {ExtensionType::kAbsSendTime, AbsSendTime::kUri},
    {ExtensionType::kAudioLevel, AudioLevel::kUri},
    {ExtensionType::kMid, Mid::kUri},
    {ExtensionType::kRtpStreamId, RtpStreamId::kUri},
    {ExtensionType::kRepairedRtpStreamId, RepairedRtpStreamId::kUri},
    {ExtensionType::kPlayoutDelay, PlayoutDelay::kUri},
    {ExtensionType::kAbsCaptureTime, AbsCaptureTime::kUri},
    {ExtensionType::kTransmissionOffset, TransmissionOffset::kUri},
    {ExtensionType::kVideoOrientation, VideoOrientation::kUri},
};
}  // namespace

std::string_view extension_uri(ExtensionType type) {
  for (const auto& e : kUris)
    if (e.type == type) return e.uri;
  return {};
}

ExtensionType extension_type_from_uri(std::string_view uri) {
  for (const auto& e : kUris)
    if (e.uri == uri) return e.type;
  return ExtensionType::kNone;
}

bool ExtensionMap::register_type(uint8_t id, ExtensionType type) {
  if (id == 0 || type == ExtensionType::kNone || type >= ExtensionType::kCount) return false;
  const uint8_t current = ids_[static_cast<size_t>(type)];
  if (current == id) return true;
  if (current != 0) return false;                      // type already at another id
  if (this->type(id) != ExtensionType::kNone) return false;  // id already taken
  ids_[static_cast<size_t>(type)] = id;
  return true;
}

bool ExtensionMap::register_uri(uint8_t id, std::string_view uri) {
  const ExtensionType t = extension_type_from_uri(uri);
  return t != ExtensionType::kNone && register_type(id, t);
}

void ExtensionMap::deregister(ExtensionType type) {
  if (type < ExtensionType::kCount) ids_[static_cast<size_t>(type)] = 0;
}

ExtensionType ExtensionMap::type(uint8_t id) const {
  if (id == 0) return ExtensionType::kNone;
  for (size_t i = 1; i < ids_.size(); ++i)
    if (ids_[i] == id) return static_cast<ExtensionType>(i);
  return ExtensionType::kNone;
}

ExtensionMap ExtensionMap::Default() {
  ExtensionMap m;
  m.register_extension<AudioLevel>(1);
  m.register_extension<AbsSendTime>(2);
  m.register_extension<TransportSequenceNumber>(3);
  m.register_extension<Mid>(4);
  m.register_extension<RtpStreamId>(10);
  m.register_extension<RepairedRtpStreamId>(11);
  m.register_extension<PlayoutDelay>(12);
  m.register_extension<AbsCaptureTime>(13);
  m.register_extension<TransmissionOffset>(14);
  return m;
}

}  // namespace tern::rtp
