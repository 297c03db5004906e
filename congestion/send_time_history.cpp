#include "tern/congestion/send_time_history.h"

namespace tern::congestion {

SendTimeHistory::SendTimeHistory(Config config) : config_(config) {
  if (config_.max_packets == 0) config_.max_packets = 1;
}

SentPacketInfo SendTimeHistory::on_sent(uint16_t seq, Timestamp send_time, DataSize size,
                                        int probe_cluster_id, bool audio) {
  SentPacketInfo info;
  info.sequence_number = unwrapper_.unwrap(seq);
  info.send_time = send_time;
  info.size = size;
  info.probe_cluster_id = probe_cluster_id;
  info.audio = audio;
  auto [it, inserted] = packets_.try_emplace(info.sequence_number);
  if (!inserted && !it->second.reported) in_flight_ -= it->second.info.size;  // resent seq
  it->second = Entry{info, false};
  in_flight_ += size;
  prune(send_time);
  return info;
}

std::optional<PacketResult> SendTimeHistory::on_feedback(uint16_t seq, Timestamp receive_time) {
  if (!unwrapper_.last()) return std::nullopt;
  auto it = packets_.find(unwrapper_.peek(seq));
  if (it == packets_.end()) return std::nullopt;
  Entry& e = it->second;
  if (!e.reported) {
    in_flight_ -= e.info.size;
    e.reported = true;
  }
  return PacketResult{e.info, receive_time};
}

void SendTimeHistory::clear_in_flight_up_to(uint16_t seq) {
  if (!unwrapper_.last()) return;
  const int64_t last = unwrapper_.peek(seq);
  if (last <= cleared_up_to_) return;
  for (auto it = packets_.upper_bound(cleared_up_to_); it != packets_.end() && it->first <= last; ++it) {
    if (!it->second.reported) {
      in_flight_ -= it->second.info.size;
      it->second.reported = true;
    }
  }
  cleared_up_to_ = last;
}

void SendTimeHistory::prune(Timestamp now) {
  while (!packets_.empty()) {
    auto first = packets_.begin();
    const bool too_many = packets_.size() > config_.max_packets;
    const bool too_old = now - first->second.info.send_time > config_.max_age;
    if (!too_many && !too_old) break;
    if (!first->second.reported) in_flight_ -= first->second.info.size;
    packets_.erase(first);
  }
}

}  // namespace tern::congestion
