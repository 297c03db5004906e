// RFC 3550 6.4.1 report block, as carried in SR and RR packets.
//
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  |                 SSRC_1 (SSRC of first source)                 |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  | fraction lost |       cumulative number of packets lost       |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |           extended highest sequence number received           |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                      interarrival jitter                      |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                         last SR (LSR)                         |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                   delay since last SR (DLSR)                  |
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
#pragma once

#include <cstdint>

#include "tern/core/byte_io.h"

namespace tern::rtcp {

struct ReportBlock {
  static constexpr size_t kSize = 24;

  uint32_t source_ssrc = 0;
  uint8_t fraction_lost = 0;       // 8-bit fixed point fraction lost since the last report
  int32_t cumulative_lost = 0;     // signed 24-bit (duplicates can make it negative)
  uint32_t extended_highest_sequence = 0;
  uint32_t jitter = 0;             // in RTP timestamp units
  uint32_t last_sr = 0;            // compact NTP of the last SR received (0: none)
  uint32_t delay_since_last_sr = 0;  // compact NTP (1/65536 s)

  friend bool operator==(const ReportBlock&, const ReportBlock&) = default;

  // Reads 24 bytes; the reader's sticky error reports truncation.
  static ReportBlock read(ByteReader& in) {
    ReportBlock b;
    b.source_ssrc = in.u32();
    b.fraction_lost = in.u8();
    uint32_t lost = in.u24();
    if (lost & 0x800000) lost |= 0xFF000000u;  // sign-extend 24 bits
    b.cumulative_lost = static_cast<int32_t>(lost);
    b.extended_highest_sequence = in.u32();
    b.jitter = in.u32();
    b.last_sr = in.u32();
    b.delay_since_last_sr = in.u32();
    return b;
  }
  // Writes 24 bytes; cumulative_lost is clamped to the signed 24-bit range.
  void write(ByteWriter& out) const {
    out.u32(source_ssrc);
    out.u8(fraction_lost);
    const int32_t lost = cumulative_lost > 0x7FFFFF ? 0x7FFFFF : (cumulative_lost < -0x800000 ? -0x800000 : cumulative_lost);
    out.u24(static_cast<uint32_t>(lost) & 0xFFFFFF);
    out.u32(extended_highest_sequence);
    out.u32(jitter);
    out.u32(last_sr);
    out.u32(delay_since_last_sr);
  }
};

}  // namespace tern::rtcp
