#include "tern/congestion/send_time_history.h"

#include <algorithm>

namespace tern::congestion {

namespace {
// See send_time_history.h: the ring spans twice max_packets; beyond 2^15 packets a 16-bit number
// cannot reach the oldest, so the span stops at 2^16.
constexpr size_t kSpanFactor = 2;
size_t span_for(size_t max_packets) { return kSpanFactor * std::clamp<size_t>(max_packets, 1, SendTimeHistory::kMaxUsefulPackets); }
}  // namespace

SendTimeHistory::SendTimeHistory(Config config) : config_(config), packets_(span_for(config.max_packets)) {
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
  auto [e, inserted] = packets_.insert(info.sequence_number, [this](int64_t, Entry& dropped) {
    if (!dropped.reported) in_flight_ -= dropped.info.size;  // out of the span: pruned
  });
  if (e == nullptr) return info;  // too far behind the newest to keep
  if (!inserted && !e->reported) in_flight_ -= e->info.size;  // resent seq
  *e = Entry{info, false};
  in_flight_ += size;
  prune(send_time);
  return info;
}

std::optional<PacketResult> SendTimeHistory::on_feedback(uint16_t seq, Timestamp receive_time) {
  if (!unwrapper_.last()) return std::nullopt;
  Entry* found = packets_.find(unwrapper_.peek(seq));
  if (found == nullptr) return std::nullopt;
  Entry& e = *found;
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
  packets_.for_each_in(cleared_up_to_ + 1, last, [this](int64_t, Entry& e) {
    if (!e.reported) {
      in_flight_ -= e.info.size;
      e.reported = true;
    }
  });
  cleared_up_to_ = last;
}

void SendTimeHistory::prune(Timestamp now) {
  while (!packets_.empty()) {
    const Entry& first = packets_.front();
    const bool too_many = packets_.size() > config_.max_packets;
    const bool too_old = now - first.info.send_time > config_.max_age;
    if (!too_many && !too_old) break;
    if (!first.reported) in_flight_ -= first.info.size;
    packets_.pop_front();
  }
}

}  // namespace tern::congestion
