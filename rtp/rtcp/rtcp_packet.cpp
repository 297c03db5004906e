// Dispatch from the common header to the packet types, and the compound packet walk (RFC 3550 6.1).
#include "tern/rtp/rtcp/rtcp_packet.h"

namespace tern::rtcp {
namespace {

// Converts a typed parse result into the variant.
template <typename T>
Result<RtcpPacket> parse_as(const CommonHeader& header) {
  Result<T> r = T::parse(header);
  if (!r) return Error{r.error()};
  return RtcpPacket(std::move(r).value());
}

}  // namespace

Result<RtcpPacket> parse_packet(const CommonHeader& header) {
  switch (header.packet_type) {
    case kPtSenderReport: return parse_as<SenderReport>(header);
    case kPtReceiverReport: return parse_as<ReceiverReport>(header);
    case kPtSdes: return parse_as<Sdes>(header);
    case kPtBye: return parse_as<Bye>(header);
    case kPtApp: return parse_as<App>(header);
    case kPtXr: return parse_as<ExtendedReports>(header);
    case kPtRtpfb:
      switch (header.count) {
        case Nack::kFormat: return parse_as<Nack>(header);
        case TransportFeedback::kFormat: return parse_as<TransportFeedback>(header);
        case CongestionControlFeedback::kFormat: return parse_as<CongestionControlFeedback>(header);
        default: break;
      }
      break;
    case kPtPsfb:
      switch (header.count) {
        case Pli::kFormat: return parse_as<Pli>(header);
        case Fir::kFormat: return parse_as<Fir>(header);
        case Remb::kFormat:
          if (Remb::is_remb(header.payload)) return parse_as<Remb>(header);
          break;
        default: break;
      }
      break;
    default: break;
  }
  return parse_as<UnknownPacket>(header);
}

CompoundParseResult parse_compound(std::span<const uint8_t> data) {
  CompoundParseResult result;
  bool first = true;
  // Every packet consumes at least 4 bytes, so the walk ends.
  while (!data.empty()) {
    Result<CommonHeader> header = CommonHeader::parse(data);
    if (!header) {
      result.errors.push_back(header.error());
      break;
    }
    if (first) {
      result.reduced_size = header->packet_type != kPtSenderReport && header->packet_type != kPtReceiverReport;
      first = false;
    }
    Result<RtcpPacket> packet = parse_packet(*header);
    if (packet) result.packets.push_back(std::move(packet).value());
    else result.errors.push_back(packet.error());
    data = data.subspan(header->packet_size);
  }
  return result;
}

size_t compound_size(std::span<const RtcpPacket> packets) {
  size_t total = 0;
  for (const RtcpPacket& p : packets) total += std::visit([](const auto& v) { return v.size(); }, p);
  return total;
}

Result<size_t> write_compound(std::span<const RtcpPacket> packets, std::span<uint8_t> out) {
  ByteWriter writer(out);
  for (const RtcpPacket& p : packets) {
    const Status s = std::visit(
        [&writer](const auto& v) -> Status {
          const size_t size = v.size();
          if (size > kMaxRtcpPacketSize) return Error{"rtcp: packet too large for the length field"};
          if (writer.remaining() < size) return Error{"rtcp: output buffer too small"};
          const size_t start = writer.position();
          v.write(writer);
          if (!writer.ok() || writer.position() - start != size) return Error{"rtcp: packet wrote a wrong size"};
          return Status::Ok();
        },
        p);
    if (!s) return Error{s.error()};
  }
  return writer.position();
}

std::vector<uint8_t> build_compound(std::span<const RtcpPacket> packets) {
  std::vector<uint8_t> out(compound_size(packets));
  Result<size_t> written = write_compound(packets, out);
  if (!written) return {};
  return out;
}

}  // namespace tern::rtcp
