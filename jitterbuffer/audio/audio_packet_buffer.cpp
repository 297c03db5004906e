#include "tern/jitterbuffer/audio/audio_packet_buffer.h"

#include <algorithm>
#include <utility>

namespace tern::jitterbuffer {

AudioPacketBuffer::InsertResult AudioPacketBuffer::insert(BufferedAudioPacket packet, int& dropped) {
  dropped = 0;
  if (packet.payload.size() > max_bytes_ || max_packets_ == 0) return InsertResult::kTooLarge;
  if (packets_.count(packet.timestamp) != 0) return InsertResult::kDuplicate;
  while (!packets_.empty() && (packets_.size() + 1 > max_packets_ || bytes_ + packet.payload.size() > max_bytes_)) {
    pop_front();
    ++dropped;
  }
  bytes_ += packet.payload.size();
  const int64_t key = packet.timestamp;
  packets_.emplace(key, std::move(packet));
  return InsertResult::kInserted;
}

const BufferedAudioPacket* AudioPacketBuffer::find(int64_t timestamp) const {
  auto it = packets_.find(timestamp);
  return it == packets_.end() ? nullptr : &it->second;
}

const BufferedAudioPacket* AudioPacketBuffer::second() const {
  if (packets_.size() < 2) return nullptr;
  return &std::next(packets_.begin())->second;
}

BufferedAudioPacket AudioPacketBuffer::pop_front() {
  auto node = packets_.extract(packets_.begin());
  bytes_ -= node.mapped().payload.size();
  return std::move(node.mapped());
}

int AudioPacketBuffer::drop_before(int64_t timestamp) {
  int n = 0;
  while (!packets_.empty() && packets_.begin()->first < timestamp) {
    pop_front();
    ++n;
  }
  return n;
}

int AudioPacketBuffer::clear() {
  const int n = static_cast<int>(packets_.size());
  packets_.clear();
  bytes_ = 0;
  return n;
}

std::optional<int64_t> AudioPacketBuffer::end_timestamp() const {
  if (packets_.empty()) return std::nullopt;
  const auto& last = packets_.rbegin()->second;
  return last.timestamp + last.duration;
}

}  // namespace tern::jitterbuffer
