#include "tern/ice/channel_data.h"

#include <cstring>

#include "tern/core/byte_io.h"

namespace tern::ice {

Result<ChannelData> ChannelData::parse(std::span<const uint8_t> packet, uint16_t max_channel) {
  if (packet.size() < kHeaderSize) return Error{"ChannelData too short"};
  const uint16_t channel = load_be16(packet.data());
  // RFC 8656 12: 0x5000-0xFFFF are reserved; what carries one is dropped.
  if (channel < kMinChannel) return Error{"not a channel number"};
  if (channel > max_channel) return Error{"reserved channel number"};
  const size_t length = load_be16(packet.data() + 2);
  if (length > packet.size() - kHeaderSize) return Error{"ChannelData length exceeds packet"};
  // RFC 8656 12.5: padding over UDP is optional, never more than 3 bytes.
  if (packet.size() - kHeaderSize - length > 3) return Error{"more than 3 bytes after ChannelData"};
  return ChannelData{channel, packet.subspan(kHeaderSize, length)};
}

size_t ChannelData::stream_size(std::span<const uint8_t> data) {
  if (data.size() < kHeaderSize) return 0;
  const size_t length = load_be16(data.data() + 2);
  return kHeaderSize + ((length + 3) & ~size_t{3});
}

Status ChannelData::write(uint16_t channel, std::span<const uint8_t> data, bool pad, std::vector<uint8_t>& out,
                          uint16_t max_channel) {
  if (!valid_channel(channel, max_channel)) return Error{"bad channel number"};
  if (data.size() > 0xFFFF) return Error{"ChannelData too large"};
  const size_t length = data.size();
  const size_t padded = pad ? ((length + 3) & ~size_t{3}) : length;
  const size_t start = out.size();
  out.resize(start + kHeaderSize + padded, 0);
  store_be16(out.data() + start, channel);
  store_be16(out.data() + start + 2, static_cast<uint16_t>(length));
  if (length > 0) std::memcpy(out.data() + start + kHeaderSize, data.data(), length);
  return Status::Ok();
}

}  // namespace tern::ice
