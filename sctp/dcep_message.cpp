// DCEP message parsing and building (RFC 8832 5). See dcep_message.h.
#include "tern/sctp/dcep_message.h"

#include "tern/core/byte_io.h"

namespace tern::sctp {
namespace {
constexpr size_t kOpenHeaderSize = 12;
constexpr uint8_t kUnorderedBit = 0x80;
}  // namespace

std::vector<uint8_t> DcepOpen::serialize() const {
  const size_t label_size = std::min<size_t>(label.size(), 0xFFFF);
  const size_t protocol_size = std::min<size_t>(protocol.size(), 0xFFFF);
  ByteBuffer out(kOpenHeaderSize + label_size + protocol_size);
  out.u8(kDcepOpen);
  out.u8(static_cast<uint8_t>(static_cast<uint8_t>(reliability) | (ordered ? 0 : kUnorderedBit)));
  out.u16(priority);
  out.u32(reliability == Reliability::kReliable ? 0 : reliability_parameter);
  out.u16(static_cast<uint16_t>(label_size));
  out.u16(static_cast<uint16_t>(protocol_size));
  out.bytes({reinterpret_cast<const uint8_t*>(label.data()), label_size});
  out.bytes({reinterpret_cast<const uint8_t*>(protocol.data()), protocol_size});
  return out.take();
}

Result<DcepOpen> DcepOpen::Parse(std::span<const uint8_t> data) {
  ByteReader r(data);
  if (r.u8() != kDcepOpen || !r.ok()) return Error{"DCEP: not a DATA_CHANNEL_OPEN"};
  const uint8_t channel_type = r.u8();
  DcepOpen open;
  open.priority = r.u16();
  open.reliability_parameter = r.u32();
  const uint16_t label_size = r.u16();
  const uint16_t protocol_size = r.u16();
  if (!r.ok()) return Error{"DCEP: DATA_CHANNEL_OPEN shorter than its 12-byte header"};
  switch (channel_type & ~kUnorderedBit) {
    case 0x00: open.reliability = Reliability::kReliable; open.reliability_parameter = 0; break;
    case 0x01: open.reliability = Reliability::kMaxRetransmits; break;
    case 0x02: open.reliability = Reliability::kMaxPacketLifetime; break;
    default: return Error{"DCEP: unknown channel type"};
  }
  open.ordered = (channel_type & kUnorderedBit) == 0;
  if (r.remaining() != size_t{label_size} + protocol_size) {
    return Error{"DCEP: label and protocol lengths do not match the message size"};
  }
  const auto label = r.bytes(label_size);
  const auto protocol = r.bytes(protocol_size);
  open.label.assign(label.begin(), label.end());
  open.protocol.assign(protocol.begin(), protocol.end());
  return open;
}

std::vector<uint8_t> dcep_ack() { return {kDcepAck}; }

std::optional<uint8_t> dcep_message_type(std::span<const uint8_t> data) {
  if (data.empty()) return std::nullopt;
  return data[0];
}

}  // namespace tern::sctp
