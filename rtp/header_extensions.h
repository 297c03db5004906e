// RTP header extensions (RFC 8285): the registry that maps negotiated ids to URIs, and typed
// codecs for the extensions tern understands. Each extension type is a struct with
//   kType, kUri, value_type,
//   static std::optional<value_type> parse(std::span<const uint8_t> data)
//   static size_t size(const value_type&)                  // encoded size in bytes
//   static bool write(std::span<uint8_t> out, const value_type&)  // out.size() == size(v)
// so that packets can read and write them generically (RtpPacketView::get<T>, builder.set<T>).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tern/core/units.h"

namespace tern::rtp {

enum class ExtensionType : uint8_t {
  kNone = 0,
  kTransportSequenceNumber,
  kAbsSendTime,
  kAudioLevel,
  kMid,
  kRtpStreamId,
  kRepairedRtpStreamId,
  kPlayoutDelay,
  kAbsCaptureTime,
  kTransmissionOffset,
  kVideoOrientation,
  kCount,
};

// draft-holmer-rmcat-transport-wide-cc-extensions-01: 16-bit transport-wide sequence number.
struct TransportSequenceNumber {
  static constexpr ExtensionType kType = ExtensionType::kTransportSequenceNumber;
  static constexpr std::string_view kUri =
      "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
  using value_type = uint16_t;
  static std::optional<value_type> parse(std::span<const uint8_t> data);
  static size_t size(const value_type&) { return 2; }
  static bool write(std::span<uint8_t> out, const value_type& v);
};

// abs-send-time: 24-bit 6.18 fixed-point seconds (wraps every 64 s).
struct AbsSendTime {
  static constexpr ExtensionType kType = ExtensionType::kAbsSendTime;
  static constexpr std::string_view kUri = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
  using value_type = uint32_t;  // the 24-bit raw value
  static std::optional<value_type> parse(std::span<const uint8_t> data);
  static size_t size(const value_type&) { return 3; }
  static bool write(std::span<uint8_t> out, const value_type& v);
  // The 24-bit value for a send time (any epoch; only differences matter).
  static uint32_t from_time(Timestamp t);
  // Converts a 6.18 fixed-point difference (mod 2^24) to a duration.
  static TimeDelta to_delta(uint32_t raw_difference);
};

// RFC 6464 client-to-mixer audio level: V flag and level in -dBov (0..127).
struct AudioLevel {
  static constexpr ExtensionType kType = ExtensionType::kAudioLevel;
  static constexpr std::string_view kUri = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
  struct value_type {
    bool voice_activity = false;
    uint8_t level_dbov = 127;  // 0 = loudest, 127 = silence
    friend bool operator==(const value_type&, const value_type&) = default;
  };
  static std::optional<value_type> parse(std::span<const uint8_t> data);
  static size_t size(const value_type&) { return 1; }
  static bool write(std::span<uint8_t> out, const value_type& v);
};

// RFC 8843 / RFC 8852 string extensions: 1..255 bytes (one-byte form: 1..16) of text.
template <ExtensionType T>
struct StringExtension {
  static constexpr ExtensionType kType = T;
  using value_type = std::string;
  static std::optional<value_type> parse(std::span<const uint8_t> data);
  static size_t size(const value_type& v) { return v.size(); }
  static bool write(std::span<uint8_t> out, const value_type& v);
};
struct Mid : StringExtension<ExtensionType::kMid> {
  static constexpr std::string_view kUri = "urn:ietf:params:rtp-hdrext:sdes:mid";
};
struct RtpStreamId : StringExtension<ExtensionType::kRtpStreamId> {
  static constexpr std::string_view kUri = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
};
struct RepairedRtpStreamId : StringExtension<ExtensionType::kRepairedRtpStreamId> {
  static constexpr std::string_view kUri = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
};

// playout-delay: 12-bit min and max delay in units of 10 ms.
struct PlayoutDelay {
  static constexpr ExtensionType kType = ExtensionType::kPlayoutDelay;
  static constexpr std::string_view kUri = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";
  struct value_type {
    TimeDelta min;  // multiple of 10 ms, 0..40.95 s
    TimeDelta max;
    friend bool operator==(const value_type&, const value_type&) = default;
  };
  static std::optional<value_type> parse(std::span<const uint8_t> data);
  static size_t size(const value_type&) { return 3; }
  static bool write(std::span<uint8_t> out, const value_type& v);
};

// abs-capture-time: 64-bit NTP capture time, optionally a signed 64-bit Q32.32 clock offset.
struct AbsCaptureTime {
  static constexpr ExtensionType kType = ExtensionType::kAbsCaptureTime;
  static constexpr std::string_view kUri = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";
  struct value_type {
    uint64_t absolute_capture_timestamp = 0;  // NTP 32.32
    std::optional<int64_t> estimated_capture_clock_offset;  // Q32.32 seconds
    friend bool operator==(const value_type&, const value_type&) = default;
  };
  static std::optional<value_type> parse(std::span<const uint8_t> data);
  static size_t size(const value_type& v) { return v.estimated_capture_clock_offset ? 16 : 8; }
  static bool write(std::span<uint8_t> out, const value_type& v);
};

// RFC 5450 transmission time offset: signed 24-bit, in RTP timestamp units.
struct TransmissionOffset {
  static constexpr ExtensionType kType = ExtensionType::kTransmissionOffset;
  static constexpr std::string_view kUri = "urn:ietf:params:rtp-hdrext:toffset";
  using value_type = int32_t;
  static std::optional<value_type> parse(std::span<const uint8_t> data);
  static size_t size(const value_type&) { return 3; }
  static bool write(std::span<uint8_t> out, const value_type& v);
};

// 3GPP TS 26.114 coordination of video orientation (CVO): one byte, C/F/R bits.
struct VideoOrientation {
  static constexpr ExtensionType kType = ExtensionType::kVideoOrientation;
  static constexpr std::string_view kUri = "urn:3gpp:video-orientation";
  using value_type = uint8_t;
  static std::optional<value_type> parse(std::span<const uint8_t> data);
  static size_t size(const value_type&) { return 1; }
  static bool write(std::span<uint8_t> out, const value_type& v);
};

// The URI of a known extension type ("" for kNone) and the reverse lookup.
std::string_view extension_uri(ExtensionType type);
ExtensionType extension_type_from_uri(std::string_view uri);

// Negotiated id <-> extension mapping for one session (SDP a=extmap). Ids are 1..14 for the
// one-byte form and 1..255 for the two-byte form; 0 is never a valid id.
class ExtensionMap {
 public:
  ExtensionMap() { ids_.fill(0); }

  // Registers `type` at `id`. Fails (returns false, changes nothing) for id 0, a type or an id
  // already registered to something else. Registering the same pair twice is fine.
  bool register_type(uint8_t id, ExtensionType type);
  // Registers by URI; unknown URIs return false (they can still be read raw by id).
  bool register_uri(uint8_t id, std::string_view uri);
  template <typename Ext>
  bool register_extension(uint8_t id) { return register_type(id, Ext::kType); }
  void deregister(ExtensionType type);

  // The id for a type, 0 when not registered.
  uint8_t id(ExtensionType type) const { return ids_[static_cast<size_t>(type)]; }
  template <typename Ext>
  uint8_t id() const { return id(Ext::kType); }
  // The type at an id, kNone when unmapped.
  ExtensionType type(uint8_t id) const;

  // A map with the ids libwebrtc offers by default; handy for tests and tools.
  static ExtensionMap Default();

 private:
  std::array<uint8_t, static_cast<size_t>(ExtensionType::kCount)> ids_;
};

}  // namespace tern::rtp
