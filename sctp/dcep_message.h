// DCEP: the Data Channel Establishment Protocol messages (RFC 8832 5), carried on a data channel's
// own SCTP stream with PPID 50 (kPpidDcep). Parser and builder only; SctpAssociation runs the
// exchange (OPEN on a new stream, ACK back).
//
//  DATA_CHANNEL_OPEN (RFC 8832 5.1)                       DATA_CHANNEL_ACK (5.2)
//   0                   1                   2                   3      +-+-+-+-+-+-+-+-+
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1    |  Type = 0x02  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   +-+-+-+-+-+-+-+-+
//  |  Type = 0x03  |  Channel Type |            Priority           |
//  |                    Reliability Parameter                      |
//  |         Label Length          |       Protocol Length         |
//  |  Label (Label Length bytes) ... Protocol (Protocol Length bytes) ...
//
// Channel type: 0x00 reliable, 0x01 partial reliable by retransmissions, 0x02 partial reliable by
// lifetime (ms); the 0x80 bit makes it unordered. The reliability parameter is ignored for 0x00.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tern/core/result.h"

namespace tern::sctp {

// SCTP payload protocol identifiers of WebRTC (RFC 8831 8, IANA).
inline constexpr uint32_t kPpidDcep = 50;
inline constexpr uint32_t kPpidString = 51;
inline constexpr uint32_t kPpidStringPartial = 52;  // deprecated, refused
inline constexpr uint32_t kPpidBinaryPartial = 54;  // deprecated, refused
inline constexpr uint32_t kPpidBinary = 53;
inline constexpr uint32_t kPpidStringEmpty = 56;  // an empty string: one 0x00 byte on the wire
inline constexpr uint32_t kPpidBinaryEmpty = 57;  // an empty binary message, likewise

inline constexpr uint8_t kDcepOpen = 0x03;
inline constexpr uint8_t kDcepAck = 0x02;

enum class Reliability : uint8_t {
  kReliable = 0x00,
  kMaxRetransmits = 0x01,   // reliability parameter: retransmissions
  kMaxPacketLifetime = 0x02,  // reliability parameter: milliseconds
};

struct DcepOpen {
  Reliability reliability = Reliability::kReliable;
  bool ordered = true;
  uint16_t priority = 256;  // RFC 8832 5.1 (W3C "low" is 128, "medium" 256, "high" 512)
  uint32_t reliability_parameter = 0;
  std::string label;
  std::string protocol;

  // The DATA_CHANNEL_OPEN bytes. Label and protocol longer than 65535 bytes are cut there (the
  // association refuses such names before).
  std::vector<uint8_t> serialize() const;
  // Strict: type 0x03, a known channel type, lengths that add up to exactly the message size.
  static Result<DcepOpen> Parse(std::span<const uint8_t> data);
  bool operator==(const DcepOpen&) const = default;
};

// The DATA_CHANNEL_ACK bytes (one byte).
std::vector<uint8_t> dcep_ack();
// The message type of a DCEP message (first byte), nullopt when empty.
std::optional<uint8_t> dcep_message_type(std::span<const uint8_t> data);

}  // namespace tern::sctp
