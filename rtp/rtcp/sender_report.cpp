// RFC 3550 6.4.1 Sender Report parsing and serialization.
#include "tern/rtp/rtcp/sender_report.h"

#include "tern/rtp/rtcp/report_block_list.h"

namespace tern::rtcp {
namespace {
constexpr size_t kSenderInfoSize = 24;  // sender SSRC + NTP + RTP ts + two counters
}  // namespace

Result<SenderReport> SenderReport::parse(const CommonHeader& header) {
  if (header.packet_type != kPacketType) return Error{"rtcp sr: wrong packet type"};
  ByteReader in(header.payload);
  SenderReport sr;
  sr.sender_ssrc = in.u32();
  sr.ntp = NtpTime(in.u64());
  sr.rtp_timestamp = in.u32();
  sr.packet_count = in.u32();
  sr.octet_count = in.u32();
  if (!in.ok()) return Error{"rtcp sr: shorter than sender info"};
  if (Status s = detail::read_report_blocks(in, header.count, sr.report_blocks, sr.extension); !s)
    return Error{s.error()};
  return sr;
}

size_t SenderReport::size() const {
  return kCommonHeaderSize + kSenderInfoSize + detail::report_blocks_size(report_blocks, extension);
}

void SenderReport::write(ByteWriter& out) const {
  write_common_header(out, static_cast<uint8_t>(detail::written_block_count(report_blocks)), kPacketType,
                      size() - kCommonHeaderSize);
  out.u32(sender_ssrc);
  out.u64(ntp.value());
  out.u32(rtp_timestamp);
  out.u32(packet_count);
  out.u32(octet_count);
  detail::write_report_blocks(out, report_blocks, extension);
}

}  // namespace tern::rtcp
