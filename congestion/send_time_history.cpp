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
    if (!dropped.reported) in_flight_ -= dropped.size;  // out of the span: pruned
  });
  if (e == nullptr) return info;  // too far behind the newest to keep
  if (!inserted && !e->reported) in_flight_ -= e->size;  // resent seq
  *e = Entry{send_time, size, probe_cluster_id, audio, false, Reported::kNone};
  in_flight_ += size;
  prune(send_time);
  return info;
}

PacketResult SendTimeHistory::result_of(int64_t seq, const Entry& e, Timestamp receive_time) {
  PacketResult r;
  r.sent.sequence_number = seq;
  r.sent.send_time = e.send_time;
  r.sent.size = e.size;
  r.sent.probe_cluster_id = e.probe_cluster_id;
  r.sent.audio = e.audio;
  r.receive_time = receive_time;
  return r;
}

SendTimeHistory::Entry* SendTimeHistory::covered(uint16_t seq, int64_t& unwrapped) {
  if (!unwrapper_.last()) return nullptr;
  unwrapped = unwrapper_.peek(seq);
  Entry* e = packets_.find(unwrapped);
  if (e != nullptr && !e->reported) {
    in_flight_ -= e->size;
    e->reported = true;
  }
  return e;
}

std::optional<PacketResult> SendTimeHistory::on_feedback(uint16_t seq, Timestamp receive_time) {
  int64_t unwrapped = 0;
  const Entry* e = covered(seq, unwrapped);
  if (e == nullptr) return std::nullopt;
  return result_of(unwrapped, *e, receive_time);
}

std::optional<PacketResult> SendTimeHistory::report(uint16_t seq, Timestamp receive_time) {
  int64_t unwrapped = 0;
  Entry* e = covered(seq, unwrapped);
  if (e == nullptr) return std::nullopt;
  const bool received = receive_time.is_finite();
  if (e->state == Reported::kReceived) return std::nullopt;             // duplicate, or lost after received
  if (!received && e->state == Reported::kLost) return std::nullopt;   // loss already reported
  const bool late = received && e->state == Reported::kLost;
  e->state = received ? Reported::kReceived : Reported::kLost;
  PacketResult r = result_of(unwrapped, *e, receive_time);
  r.late = late;
  return r;
}

void SendTimeHistory::clear_in_flight_up_to(uint16_t seq) {
  if (!unwrapper_.last()) return;
  const int64_t last = unwrapper_.peek(seq);
  if (last <= cleared_up_to_) return;
  packets_.for_each_in(cleared_up_to_ + 1, last, [this](int64_t, Entry& e) {
    if (!e.reported) {
      in_flight_ -= e.size;
      e.reported = true;
    }
  });
  cleared_up_to_ = last;
}

void SendTimeHistory::prune(Timestamp now) {
  while (!packets_.empty()) {
    const Entry& first = packets_.front();
    const bool too_many = packets_.size() > config_.max_packets;
    const bool too_old = now - first.send_time > config_.max_age;
    if (!too_many && !too_old) break;
    if (!first.reported) in_flight_ -= first.size;
    packets_.pop_front();
  }
}

}  // namespace tern::congestion
