// The RTCP common header (RFC 3550 6.4.1 / 6.1) shared by every RTCP packet type, and the contract
// each packet type in this folder follows:
//
//   struct SomePacket {
//     static constexpr uint8_t kPacketType = ...;   // and kFormat for RTPFB/PSFB feedback
//     static Result<SomePacket> parse(const CommonHeader& header);  // reads header.payload only
//     size_t size() const;                          // bytes on the wire, common header included
//     void write(ByteWriter& out) const;            // writes exactly size() bytes
//   };
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P| RC/FMT  |       PT      |     length (32-bit words - 1) |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#pragma once

#include <cstdint>
#include <span>

#include "tern/core/byte_io.h"
#include "tern/core/result.h"

namespace tern::rtcp {

inline constexpr uint8_t kPtSenderReport = 200;
inline constexpr uint8_t kPtReceiverReport = 201;
inline constexpr uint8_t kPtSdes = 202;
inline constexpr uint8_t kPtBye = 203;
inline constexpr uint8_t kPtApp = 204;
inline constexpr uint8_t kPtRtpfb = 205;  // RFC 4585 transport-layer feedback
inline constexpr uint8_t kPtPsfb = 206;   // RFC 4585 payload-specific feedback
inline constexpr uint8_t kPtXr = 207;     // RFC 3611 extended reports

inline constexpr size_t kCommonHeaderSize = 4;

struct CommonHeader {
  uint8_t count = 0;        // RC / SC / FMT: the 5 low bits of the first byte
  uint8_t packet_type = 0;
  bool padding = false;
  size_t packet_size = 0;   // whole packet on the wire: (length + 1) * 4
  std::span<const uint8_t> payload;  // after the 4-byte header, padding removed

  // Parses the header of the first packet in `data` and checks that the length field fits in
  // `data`, and that padding (if flagged) is sane.
  static Result<CommonHeader> parse(std::span<const uint8_t> data) {
    if (data.size() < kCommonHeaderSize) return Error{"rtcp: shorter than 4 bytes"};
    if ((data[0] >> 6) != 2) return Error{"rtcp: version is not 2"};
    CommonHeader h;
    h.padding = (data[0] & 0x20) != 0;
    h.count = data[0] & 0x1F;
    h.packet_type = data[1];
    h.packet_size = (size_t{load_be16(&data[2])} + 1) * 4;
    if (h.packet_size > data.size()) return Error{"rtcp: length field runs past the data"};
    size_t payload_size = h.packet_size - kCommonHeaderSize;
    if (h.padding) {
      const uint8_t pad = data[h.packet_size - 1];
      if (pad == 0 || pad > payload_size) return Error{"rtcp: bad padding count"};
      payload_size -= pad;
    }
    h.payload = data.subspan(kCommonHeaderSize, payload_size);
    return h;
  }
};

// Writes a common header for a packet whose payload (after the header) is `payload_size` bytes,
// which must be a multiple of 4.
inline void write_common_header(ByteWriter& out, uint8_t count, uint8_t packet_type, size_t payload_size) {
  out.u8(static_cast<uint8_t>(0x80 | (count & 0x1F)));
  out.u8(packet_type);
  out.u16(static_cast<uint16_t>(payload_size / 4));
}

}  // namespace tern::rtcp
