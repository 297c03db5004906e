// Sender packet history and NACK -> RTX (see packet_history.h).
#include "tern/recovery/packet_history.h"

#include <algorithm>

#include "tern/recovery/red.h"
#include "tern/recovery/rtx.h"

namespace tern::recovery {
namespace {
// The bucket always holds at least one full-size packet when the rate is positive, so that a
// small rate slows retransmissions down instead of blocking large packets forever.
constexpr DataSize kMinBucket = DataSize::Bytes(1500);
// The ring spans twice max_packets sequence numbers; more than 2^15 packets can never be looked up
// (a 16-bit number unwraps to within 2^15 of the newest), so the span stops at 2^16.
constexpr size_t kSpanFactor = 2;
constexpr size_t kMaxUsefulPackets = size_t{1} << 15;
}  // namespace

Result<PacketHistory> PacketHistory::Create(Config config) {
  if (config.max_packets == 0) return Error{"packet history: max_packets must be positive"};
  if (config.max_age <= TimeDelta::Zero()) return Error{"packet history: max_age must be positive"};
  if (config.budget_window <= TimeDelta::Zero()) return Error{"packet history: budget_window must be positive"};
  if (config.retransmission_rate < DataRate::Zero()) return Error{"packet history: negative retransmission rate"};
  if (!(config.resend_guard >= 0.0 && config.resend_guard <= 1.0)) return Error{"packet history: resend_guard out of [0, 1]"};
  return PacketHistory(std::move(config));
}

PacketHistory::PacketHistory(Config config)
    : config_(std::move(config)), packets_(kSpanFactor * std::min(config_.max_packets, kMaxUsefulPackets)), cold_(packets_.capacity()), next_rtx_seq_(config_.first_rtx_sequence_number) {
  tokens_ = bucket_capacity();
}

DataSize PacketHistory::bucket_capacity() const {
  if (config_.retransmission_rate <= DataRate::Zero()) return DataSize::Zero();
  return std::max(config_.retransmission_rate * config_.budget_window, kMinBucket);
}

PacketHistory::Slot PacketHistory::slot_for(uint16_t seq, Timestamp send_time) {
  const int64_t key = unwrapper_.unwrap(seq);
  auto [e, fresh] = packets_.insert(key, [this](int64_t, Entry& dropped) { release(dropped); });
  if (e == nullptr) return {};
  if (!fresh) release(*e);  // replaced
  if (cold_.size() != packets_.capacity()) regrow_cold(key);
  e->store = nullptr;  // a fresh slot holds what an earlier key left (released when it left)
  e->send_time = send_time;
  Cold& c = cold_of(key);
  c.last_retransmit = Timestamp::MinusInfinity();
  return {e, &c};
}

void PacketHistory::regrow_cold(int64_t fresh) {
  std::vector<Cold> bigger(packets_.capacity());
  const size_t old_mask = cold_.size() - 1;
  const size_t new_mask = bigger.size() - 1;
  packets_.for_each_in(packets_.front_key(), packets_.end_key() - 1, [&](int64_t k, Entry&) {
    const auto u = static_cast<size_t>(static_cast<uint64_t>(k));
    if (k == fresh) return;
    Cold& from = cold_[u & old_mask];
    Cold& to = bigger[u & new_mask];
    to.last_retransmit = from.last_retransmit;
    to.copy = std::move(from.copy);
    to.head_size = from.head_size;
    std::copy_n(from.head.begin(), from.head_size, to.head.begin());
  });
  cold_ = std::move(bigger);
}

void PacketHistory::put(const rtp::RtpPacket& packet, Timestamp send_time) {
  if (Cold* c = slot_for(packet.sequence_number(), send_time).cold) {
    if (c->copy) {
      *c->copy = packet;  // reuses the slot's buffer
    } else {
      c->copy = std::make_unique<rtp::RtpPacket>(packet);
    }
  }
  trim(send_time);
}

void PacketHistory::put(rtp::RtpPacket&& packet, Timestamp send_time) {
  if (Cold* c = slot_for(packet.sequence_number(), send_time).cold) {
    if (c->copy) {
      *c->copy = std::move(packet);
    } else {
      c->copy = std::make_unique<rtp::RtpPacket>(std::move(packet));
    }
  }
  trim(send_time);
}

void PacketHistory::put(const rtp::RtpPacket& packet, const StoredPacketRef& stored, Timestamp send_time) {
  const PacketStore* store = stored.store != nullptr ? stored.store->get() : nullptr;
  const std::optional<PacketStore::Stored> original = store != nullptr ? store->get(stored.number) : std::nullopt;
  const size_t head = packet.header().header_size + kSharedPrefix;
  // The same payload (and padding) size, more of it than the prefix, a head that fits: by reference.
  if (!original || original->bytes.size() - original->payload_offset != packet.size() - packet.header().header_size ||
      packet.size() <= head || head > kMaxHead) {
    put(packet, send_time);
    return;
  }
  const Slot slot = slot_for(packet.sequence_number(), send_time);
  if (Entry* e = slot.hot; e != nullptr) {
    std::copy_n(packet.data().begin(), head, slot.cold->head.begin());
    slot.cold->head_size = static_cast<uint8_t>(head);
    e->store = store;
    e->number = stored.number;
    if (pins_.empty() || pins_.back().store.get() != store) {
      auto pin = std::find_if(pins_.begin(), pins_.end(), [store](const Pin& p) { return p.store.get() == store; });
      if (pin == pins_.end()) {
        pins_.push_back(Pin{*stored.store, 0});
      } else {
        std::rotate(pin, pin + 1, pins_.end());  // the latest store last: the next put finds it first
      }
    }
    ++pins_.back().entries;
  }
  trim(send_time);
}

void PacketHistory::release(Entry& e) {
  if (e.store == nullptr) return;
  for (auto pin = pins_.end(); pin != pins_.begin();) {
    --pin;
    if (pin->store.get() != e.store) continue;
    if (--pin->entries == 0) pins_.erase(pin);
    break;
  }
  e.store = nullptr;
}

void PacketHistory::drop_front() {
  release(packets_.front());
  packets_.pop_front();
}

void PacketHistory::trim(Timestamp now) {
  while (packets_.size() > config_.max_packets) drop_front();
  expire(now);
}

void PacketHistory::expire(Timestamp now) {
  // Sequence order and send order agree except for pacer reordering, so the front is (nearly)
  // the oldest; stopping at the first young entry keeps this O(expired).
  while (!packets_.empty() && now - packets_.front().send_time > config_.max_age) drop_front();
}

const rtp::RtpPacket* PacketHistory::packet_of(const Entry& e, const Cold& c, rtp::RtpPacket& scratch) const {
  if (e.store == nullptr) return c.copy.get();
  const std::optional<PacketStore::Stored> original = e.store->get(e.number);
  if (!original) return nullptr;
  // The header and prefix as sent, then the stored payload past the prefix.
  const size_t from = original->payload_offset + kSharedPrefix;
  std::vector<uint8_t> bytes;
  bytes.reserve(c.head_size + original->bytes.size() - from + rtp::RtpPacket::kTailroom);
  bytes.assign(c.head.begin(), c.head.begin() + c.head_size);
  bytes.insert(bytes.end(), original->bytes.begin() + static_cast<std::ptrdiff_t>(from), original->bytes.end());
  auto parsed = rtp::RtpPacket::parse(std::move(bytes));
  if (!parsed) return nullptr;  // it parsed when it was sent: not reached
  scratch = std::move(parsed).value();
  return &scratch;
}

const rtp::RtpPacket* PacketHistory::get(uint16_t seq) const {
  const int64_t key = unwrapper_.peek(seq);
  const Entry* e = packets_.find(key);
  return e == nullptr ? nullptr : packet_of(*e, cold_of(key), scratch_);
}

void PacketHistory::refill(Timestamp now) {
  if (last_refill_ && now > *last_refill_) {
    tokens_ = std::min(tokens_ + config_.retransmission_rate * (now - *last_refill_), bucket_capacity());
  }
  if (!last_refill_ || now > *last_refill_) last_refill_ = now;
}

void PacketHistory::set_retransmission_rate(DataRate rate, Timestamp now) {
  refill(now);
  config_.retransmission_rate = std::max(rate, DataRate::Zero());
  tokens_ = std::min(tokens_, bucket_capacity());
}

std::vector<rtp::RtpPacket> PacketHistory::on_nack(std::span<const uint16_t> seqs, Timestamp now,
                                                   TimeDelta rtt) {
  expire(now);
  refill(now);
  std::vector<rtp::RtpPacket> out;
  for (uint16_t seq : seqs) {
    ++stats_.nacked_sequence_numbers;
    const int64_t key = unwrapper_.peek(seq);
    Entry* found = packets_.find(key);
    if (found == nullptr) {
      ++stats_.not_found;
      continue;
    }
    Entry& e = *found;
    Cold& c = cold_of(key);
    if (c.last_retransmit.is_finite() && now - c.last_retransmit < rtt * config_.resend_guard) {
      ++stats_.refused_too_soon;
      continue;
    }
    rtp::RtpPacket rebuilt;
    const rtp::RtpPacket* original = packet_of(e, c, rebuilt);
    if (original == nullptr) {  // kept by reference, and the sender's store dropped it
      ++stats_.store_misses;
      ++stats_.not_found;
      continue;
    }
    std::optional<rtp::RtpPacket> primary;
    if (config_.unwrap_red_payload_type && original->payload_type() == *config_.unwrap_red_payload_type) {
      auto blocks = decode_red(*original);
      // The primary block comes last.
      if (blocks && config_.fec_payload_type && blocks->back().payload_type() == *config_.fec_payload_type) {
        ++stats_.refused_fec;
        continue;
      }
      if (blocks && blocks->size() == 1) {
        primary = std::move(blocks->front());
        original = &*primary;
      }
    }
    const uint8_t media_pt = original->payload_type();
    auto mapped = config_.rtx_pt_for_media_pt.find(media_pt);
    const uint8_t rtx_pt = mapped == config_.rtx_pt_for_media_pt.end() ? config_.rtx_payload_type : mapped->second;
    const DataSize size = DataSize::Bytes(static_cast<int64_t>(original->size() + 2 - original->padding_size()));
    if (size > tokens_) {
      ++stats_.refused_rate_limit;
      continue;
    }
    auto rtx = build_rtx(*original, config_.rtx_ssrc, rtx_pt, next_rtx_seq_);
    if (!rtx) {
      ++stats_.not_found;
      continue;
    }
    tokens_ -= size;
    ++next_rtx_seq_;
    c.last_retransmit = now;
    ++stats_.retransmitted_packets_sent;
    stats_.retransmitted_bytes_sent += rtx->size();
    out.push_back(std::move(rtx).value());
  }
  return out;
}

}  // namespace tern::recovery
