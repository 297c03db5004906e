// RTCP Extended Reports (RFC 3611): the sender's SSRC and a sequence of report blocks. Receiver
// Reference Time (BT=4, 4.4) and DLRR (BT=5, 4.5) are parsed, as a receive-only endpoint needs them
// for round-trip time; every other block is kept raw and written back unchanged.
//
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P|reserved |   PT=XR=207   |             length            |
//  |                              SSRC                             |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |      BT       | type-specific |         block length          |  each block; length in
//  :             type-specific block contents                      :  32-bit words after this
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
//  RRTR (BT=4, length 2): NTP timestamp (64 bits).
//  DLRR (BT=5, length 3n): n x { SSRC, last RR (LRR, compact NTP), delay since last RR (DLRR) }.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "tern/core/ntp_time.h"
#include "tern/rtp/rtcp/common_header.h"

namespace tern::rtcp {

struct DlrrItem {
  uint32_t ssrc = 0;
  uint32_t last_rr = 0;              // compact NTP of the RRTR received from `ssrc`
  uint32_t delay_since_last_rr = 0;  // compact NTP (1/65536 s)

  friend bool operator==(const DlrrItem&, const DlrrItem&) = default;
};

// A block this library does not interpret, kept verbatim.
struct XrBlock {
  uint8_t block_type = 0;
  uint8_t type_specific = 0;
  std::vector<uint8_t> data;  // contents after the 4-byte block header; zero-padded to 32 bits on write

  friend bool operator==(const XrBlock&, const XrBlock&) = default;
};

struct ExtendedReports {
  static constexpr uint8_t kPacketType = kPtXr;
  static constexpr uint8_t kRrtrBlockType = 4;
  static constexpr uint8_t kDlrrBlockType = 5;

  uint32_t sender_ssrc = 0;
  std::optional<NtpTime> rrtr;       // the first RRTR block of the packet, if any
  std::vector<DlrrItem> dlrr;        // every DLRR block's items, merged; written as one block
  std::vector<XrBlock> other_blocks; // written after RRTR and DLRR, in order

  friend bool operator==(const ExtendedReports&, const ExtendedReports&) = default;

  // Parses the block sequence; fails when a block runs past the end or RRTR/DLRR is malformed.
  static Result<ExtendedReports> parse(const CommonHeader& header);
  // Bytes on the wire, common header included.
  size_t size() const;
  // Writes exactly size() bytes. Blocks whose length would not fit 16 bits are the caller's error.
  void write(ByteWriter& out) const;
};

}  // namespace tern::rtcp
