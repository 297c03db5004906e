// RFC 3550 6.4.2 Receiver Report parsing and serialization.
#include "tern/rtp/rtcp/receiver_report.h"

#include "tern/rtp/rtcp/report_block_list.h"

namespace tern::rtcp {

Result<ReceiverReport> ReceiverReport::parse(const CommonHeader& header) {
  if (header.packet_type != kPacketType) return Error{"rtcp rr: wrong packet type"};
  ByteReader in(header.payload);
  ReceiverReport rr;
  rr.sender_ssrc = in.u32();
  if (!in.ok()) return Error{"rtcp rr: shorter than the sender SSRC"};
  if (Status s = detail::read_report_blocks(in, header.count, rr.report_blocks, rr.extension); !s)
    return Error{s.error()};
  return rr;
}

size_t ReceiverReport::size() const {
  return kCommonHeaderSize + 4 + detail::report_blocks_size(report_blocks, extension);
}

void ReceiverReport::write(ByteWriter& out) const {
  write_common_header(out, static_cast<uint8_t>(detail::written_block_count(report_blocks)), kPacketType,
                      size() - kCommonHeaderSize);
  out.u32(sender_ssrc);
  detail::write_report_blocks(out, report_blocks, extension);
}

}  // namespace tern::rtcp
