// RTP congestion control feedback (RFC 8888 section 3.1): RTPFB FMT 11. For each media SSRC, one
// report block covers a range of RTP sequence numbers with one 16-bit metric block per packet:
// received or not, its ECN marking, and its arrival time as an offset before the report timestamp.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |V=2|P| FMT=11  |   PT = 205    |          length               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                 SSRC of RTCP packet sender                    |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                   SSRC of 1st RTP Stream                      |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |          begin_seq            |          num_reports          |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |R|ECN|  Arrival time offset    | ...                           .
//  .                                                               .
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                   SSRC of nth RTP Stream                      |
//  .                              ...                              .
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                 Report Timestamp (32 bits)                    |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// num_reports counts the metric blocks (packets begin_seq .. begin_seq + num_reports - 1, at most
// 16384); an odd count is followed by 16 zero bits so every report block stays 32-bit aligned. The
// arrival time offset (ATO) is in 1/1024 s; 0x1FFE means "8190/1024 s or more" (over-range) and
// 0x1FFF "unavailable, or arrived after the report timestamp". The report timestamp is the middle
// 32 bits of an NTP timestamp (as in RFC 3550 LSR).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tern/core/units.h"
#include "tern/rtp/rtcp/common_header.h"

namespace tern::rtcp {

// The two ECN bits of an IP header (RFC 3168 section 5).
enum class EcnMarking : uint8_t { kNotEct = 0, kEct1 = 1, kEct0 = 2, kCe = 3 };

class CongestionControlFeedback {
 public:
  static constexpr uint8_t kPacketType = kPtRtpfb;
  static constexpr uint8_t kFormat = 11;
  // RFC 8888 3.1: a report block covers at most a quarter of the sequence number space.
  static constexpr size_t kMaxReportsPerStream = 16384;
  // The RTCP length field's limit. Building stops there; a caller bound by the path MTU checks
  // size() itself and starts a new feedback.
  static constexpr size_t kMaxSizeBytes = 4 * 65536;

  // One metric block.
  struct PacketReport {
    bool received = false;
    EcnMarking ecn = EcnMarking::kNotEct;  // kNotEct when not received
    // How long before the report timestamp the packet arrived, in 1/1024 s steps; PlusInfinity when
    // over-range; nullopt when unavailable or not received.
    std::optional<TimeDelta> arrival_time_offset;

    friend bool operator==(const PacketReport&, const PacketReport&) = default;
  };

  // One report block: the packets begin_seq, begin_seq + 1, ... of one media SSRC.
  struct StreamReport {
    uint32_t media_ssrc = 0;
    uint16_t begin_seq = 0;
    std::vector<PacketReport> packets;  // at most kMaxReportsPerStream

    friend bool operator==(const StreamReport&, const StreamReport&) = default;
  };

  CongestionControlFeedback() = default;
  explicit CongestionControlFeedback(uint32_t sender_ssrc) : sender_ssrc_(sender_ssrc) {}

  // --- Building ---

  // The compact NTP time (middle 32 bits) at which the report was generated; offsets are before it.
  void set_report_timestamp(uint32_t compact_ntp) { report_timestamp_ = compact_ntp; }
  // Reports `seq` of `media_ssrc` as received `arrival_time_offset` before the report timestamp
  // (negative or nullopt: unavailable). Extends that SSRC's block (the last one, if several), with
  // skipped sequence numbers as not received, or opens a block at seq. Returns false, changing
  // nothing, when seq is not newer than the block's end, the block would exceed
  // kMaxReportsPerStream, or the packet would exceed kMaxSizeBytes.
  bool add_received_packet(uint32_t media_ssrc, uint16_t seq, std::optional<TimeDelta> arrival_time_offset,
                           EcnMarking ecn = EcnMarking::kNotEct);
  // Appends a whole block (e.g. with trailing packets not received). Offsets are quantised and
  // fields of not-received packets cleared, as parse() would give them back. Returns false, changing
  // nothing, when there are more than kMaxReportsPerStream or the packet would exceed kMaxSizeBytes.
  bool add_stream(uint32_t media_ssrc, uint16_t begin_seq, std::span<const PacketReport> packets);

  // --- Reading ---

  uint32_t sender_ssrc() const { return sender_ssrc_; }
  uint32_t report_timestamp() const { return report_timestamp_; }
  const std::vector<StreamReport>& streams() const { return streams_; }

  // --- Wire format ---

  // Reads header.payload. Rejects, with a reason: a wrong type, a payload not 32-bit aligned or too
  // short, a block header or metric blocks running into the report timestamp, num_reports > 16384.
  // Fields of packets marked not received are ignored.
  static Result<CongestionControlFeedback> parse(const CommonHeader& header);
  // Bytes on the wire, common header included.
  size_t size() const;
  // Writes exactly size() bytes.
  void write(ByteWriter& out) const;

  friend bool operator==(const CongestionControlFeedback&, const CongestionControlFeedback&) = default;

  // The 13-bit ATO code for an offset, and back (nullopt <-> 0x1FFF, PlusInfinity <-> 0x1FFE).
  static uint16_t ato_code(std::optional<TimeDelta> offset);
  static std::optional<TimeDelta> ato_from_code(uint16_t code);

 private:
  static PacketReport canonical(const PacketReport& p);
  static size_t block_size(size_t reports) { return 8 + 2 * reports + (reports % 2) * 2; }

  uint32_t sender_ssrc_ = 0;
  uint32_t report_timestamp_ = 0;
  std::vector<StreamReport> streams_;
  size_t size_ = kCommonHeaderSize + 8;  // kept up to date by every change
};

}  // namespace tern::rtcp
