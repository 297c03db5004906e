// RTCP Receiver Report (RFC 3550 6.4.2): the reporter's SSRC, up to 31 reception report blocks and an
// optional profile-specific extension kept as opaque bytes.
//
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P|    RC   |   PT=RR=201   |             length            |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                     SSRC of packet sender                     |
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  |                  report blocks (24 bytes each)                |
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  |                  profile-specific extensions                  |
#pragma once

#include <cstdint>
#include <vector>

#include "tern/rtp/rtcp/common_header.h"
#include "tern/rtp/rtcp/report_block.h"
#include "tern/rtp/rtcp/report_block_list.h"

namespace tern::rtcp {

struct ReceiverReport {
  static constexpr uint8_t kPacketType = kPtReceiverReport;

  uint32_t sender_ssrc = 0;
  std::vector<ReportBlock> report_blocks;  // only the first kMaxReportBlocks are written
  std::vector<uint8_t> extension;          // profile-specific; zero-padded to 32 bits on write

  friend bool operator==(const ReceiverReport&, const ReceiverReport&) = default;

  // Parses an RR body; fails when RC blocks do not fit or the extension is not 32-bit aligned.
  static Result<ReceiverReport> parse(const CommonHeader& header);
  // Bytes on the wire, common header included.
  size_t size() const;
  // Writes exactly size() bytes.
  void write(ByteWriter& out) const;
};

}  // namespace tern::rtcp
