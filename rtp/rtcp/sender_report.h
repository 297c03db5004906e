// RTCP Sender Report (RFC 3550 6.4.1): the sender's NTP/RTP timestamp pair and send counters, up to
// 31 reception report blocks, and an optional profile-specific extension kept as opaque bytes.
//
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P|    RC   |   PT=SR=200   |             length            |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                         SSRC of sender                        |
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  |              NTP timestamp, most significant word             |
//  |             NTP timestamp, least significant word             |
//  |                         RTP timestamp                         |
//  |                     sender's packet count                     |
//  |                      sender's octet count                     |
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  |                  report blocks (24 bytes each)                |
//  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//  |                  profile-specific extensions                  |
#pragma once

#include <cstdint>
#include <vector>

#include "tern/core/ntp_time.h"
#include "tern/rtp/rtcp/common_header.h"
#include "tern/rtp/rtcp/report_block.h"
#include "tern/rtp/rtcp/report_block_list.h"

namespace tern::rtcp {

struct SenderReport {
  static constexpr uint8_t kPacketType = kPtSenderReport;

  uint32_t sender_ssrc = 0;
  NtpTime ntp;
  uint32_t rtp_timestamp = 0;
  uint32_t packet_count = 0;
  uint32_t octet_count = 0;
  std::vector<ReportBlock> report_blocks;  // only the first kMaxReportBlocks are written
  std::vector<uint8_t> extension;          // profile-specific; zero-padded to 32 bits on write

  friend bool operator==(const SenderReport&, const SenderReport&) = default;

  // Parses an SR body; fails when RC blocks do not fit or the extension is not 32-bit aligned.
  static Result<SenderReport> parse(const CommonHeader& header);
  // Bytes on the wire, common header included.
  size_t size() const;
  // Writes exactly size() bytes.
  void write(ByteWriter& out) const;
};

}  // namespace tern::rtcp
