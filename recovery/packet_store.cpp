// A sender's recent packets, shared by the histories of the hops that forward them (see packet_store.h).
#include "tern/recovery/packet_store.h"


namespace tern::recovery {

Result<std::shared_ptr<PacketStore>> PacketStore::Create(const Config& config) {
  if (config.max_packets == 0) return Error{"packet store: max_packets must be positive"};
  if (config.max_age <= TimeDelta::Zero()) return Error{"packet store: max_age must be positive"};
  return std::make_shared<PacketStore>(config);
}

// The ring's span is max_packets rounded up; the count bound is max_packets itself (put()).
PacketStore::PacketStore(const Config& config) : config_(config), packets_(config.max_packets) {}

uint64_t PacketStore::put(const rtp::RtpPacket& packet, Timestamp now) {
  while (!packets_.empty() && now - packets_.front().put_time > config_.max_age) {
    packets_.pop_front();
    ++dropped_age_;
  }
  while (packets_.size() >= config_.max_packets) {
    packets_.pop_front();
    ++dropped_full_;
  }
  const uint64_t number = next_number_++;
  // Numbers are consecutive and the window holds fewer than max_packets: the ring never refuses.
  Slot* s = packets_.insert(static_cast<int64_t>(number)).first;
  s->bytes.assign(packet.data().begin(), packet.data().end());  // reuses the slot's buffer
  s->payload_offset = static_cast<uint16_t>(packet.header().header_size);
  s->put_time = now;
  return number;
}

std::optional<PacketStore::Stored> PacketStore::get(uint64_t number) const {
  const Slot* s = packets_.find(static_cast<int64_t>(number));
  if (s == nullptr) return std::nullopt;
  return Stored{s->bytes, s->payload_offset};
}

}  // namespace tern::recovery
