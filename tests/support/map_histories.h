// The std::map-based send-side histories as they were before the SeqRing versions
// (recovery/packet_history, congestion/send_time_history, with the transport feedback adapter's
// per-packet report rule now kept in the latter's entries): kept as the model the ring versions are
// checked against (tests/recovery/packet_history_ring_test.cpp,
// tests/congestion/send_time_history_ring_test.cpp) and as the baseline of bench/history_bench.cpp.
// Same public behaviour, one map node per packet. Not used by the library.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "tern/congestion/network_types.h"
#include "tern/congestion/send_time_history.h"
#include "tern/core/seq_num.h"
#include "tern/core/units.h"
#include "tern/recovery/packet_history.h"
#include "tern/recovery/rtx.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::test::map_model {

// recovery::PacketHistory on a std::map (Create's validation left out: the callers pass valid
// configurations).
class PacketHistory {
 public:
  using Config = recovery::PacketHistory::Config;
  using Stats = recovery::PacketHistory::Stats;
  explicit PacketHistory(Config config) : config_(std::move(config)), next_rtx_seq_(config_.first_rtx_sequence_number) {
    tokens_ = bucket_capacity();
  }

  void put(rtp::RtpPacket packet, Timestamp send_time) {
    const int64_t key = unwrapper_.unwrap(packet.sequence_number());
    packets_.insert_or_assign(key, Entry{std::move(packet), send_time});
    while (packets_.size() > config_.max_packets) packets_.erase(packets_.begin());
    expire(send_time);
  }
  const rtp::RtpPacket* get(uint16_t seq) const {
    auto it = packets_.find(unwrapper_.peek(seq));
    return it == packets_.end() ? nullptr : &it->second.packet;
  }
  size_t size() const { return packets_.size(); }
  void set_retransmission_rate(DataRate rate, Timestamp now) {
    refill(now);
    config_.retransmission_rate = std::max(rate, DataRate::Zero());
    tokens_ = std::min(tokens_, bucket_capacity());
  }
  std::vector<rtp::RtpPacket> on_nack(std::span<const uint16_t> seqs, Timestamp now, TimeDelta rtt) {
    expire(now);
    refill(now);
    std::vector<rtp::RtpPacket> out;
    for (uint16_t seq : seqs) {
      ++stats_.nacked_sequence_numbers;
      auto it = packets_.find(unwrapper_.peek(seq));
      if (it == packets_.end()) {
        ++stats_.not_found;
        continue;
      }
      Entry& e = it->second;
      if (e.last_retransmit.is_finite() && now - e.last_retransmit < rtt * config_.resend_guard) {
        ++stats_.refused_too_soon;
        continue;
      }
      auto mapped = config_.rtx_pt_for_media_pt.find(e.packet.payload_type());
      const uint8_t rtx_pt = mapped == config_.rtx_pt_for_media_pt.end() ? config_.rtx_payload_type : mapped->second;
      const DataSize size = DataSize::Bytes(static_cast<int64_t>(e.packet.size() + 2 - e.packet.padding_size()));
      if (size > tokens_) {
        ++stats_.refused_rate_limit;
        continue;
      }
      auto rtx = recovery::build_rtx(e.packet, config_.rtx_ssrc, rtx_pt, next_rtx_seq_);
      if (!rtx) {
        ++stats_.not_found;
        continue;
      }
      tokens_ -= size;
      ++next_rtx_seq_;
      e.last_retransmit = now;
      ++stats_.retransmitted_packets_sent;
      stats_.retransmitted_bytes_sent += rtx->size();
      out.push_back(std::move(rtx).value());
    }
    return out;
  }
  const Stats& stats() const { return stats_; }

 private:
  struct Entry {
    rtp::RtpPacket packet;
    Timestamp send_time;
    Timestamp last_retransmit = Timestamp::MinusInfinity();
  };
  void expire(Timestamp now) {
    while (!packets_.empty() && now - packets_.begin()->second.send_time > config_.max_age) {
      packets_.erase(packets_.begin());
    }
  }
  void refill(Timestamp now) {
    if (last_refill_ && now > *last_refill_) {
      tokens_ = std::min(tokens_ + config_.retransmission_rate * (now - *last_refill_), bucket_capacity());
    }
    if (!last_refill_ || now > *last_refill_) last_refill_ = now;
  }
  DataSize bucket_capacity() const {
    if (config_.retransmission_rate <= DataRate::Zero()) return DataSize::Zero();
    return std::max(config_.retransmission_rate * config_.budget_window, DataSize::Bytes(1500));
  }

  Config config_;
  RtpSeqUnwrapper unwrapper_;
  std::map<int64_t, Entry> packets_;
  uint16_t next_rtx_seq_;
  DataSize tokens_ = DataSize::Zero();
  std::optional<Timestamp> last_refill_;
  Stats stats_;
};

// congestion::SendTimeHistory on a std::map.
class SendTimeHistory {
 public:
  using Config = congestion::SendTimeHistory::Config;
  explicit SendTimeHistory(Config config = {}) : config_(config) {
    if (config_.max_packets == 0) config_.max_packets = 1;
  }

  congestion::SentPacketInfo on_sent(uint16_t seq, Timestamp send_time, DataSize size,
                                     int probe_cluster_id = congestion::kNotAProbe, bool audio = false) {
    congestion::SentPacketInfo info;
    info.sequence_number = unwrapper_.unwrap(seq);
    info.send_time = send_time;
    info.size = size;
    info.probe_cluster_id = probe_cluster_id;
    info.audio = audio;
    auto [it, inserted] = packets_.try_emplace(info.sequence_number);
    if (!inserted && !it->second.reported) in_flight_ -= it->second.info.size;
    it->second = Entry{info, false};
    in_flight_ += size;
    prune(send_time);
    return info;
  }
  std::optional<congestion::PacketResult> on_feedback(uint16_t seq, Timestamp receive_time) {
    if (!unwrapper_.last()) return std::nullopt;
    auto it = packets_.find(unwrapper_.peek(seq));
    if (it == packets_.end()) return std::nullopt;
    Entry& e = it->second;
    if (!e.reported) {
      in_flight_ -= e.info.size;
      e.reported = true;
    }
    return congestion::PacketResult{e.info, receive_time};
  }
  // The transport feedback adapter's rule, as it kept it in its own table before the ring history
  // did: received at most once, lost at most once, never lost after received.
  std::optional<congestion::PacketResult> report(uint16_t seq, Timestamp receive_time) {
    std::optional<congestion::PacketResult> r = on_feedback(seq, receive_time);
    if (!r) return std::nullopt;
    Entry& e = packets_.at(r->sent.sequence_number);
    if (e.state == Reported::kReceived) return std::nullopt;
    if (!r->is_received() && e.state == Reported::kLost) return std::nullopt;
    r->late = r->is_received() && e.state == Reported::kLost;
    e.state = r->is_received() ? Reported::kReceived : Reported::kLost;
    return r;
  }
  void clear_in_flight_up_to(uint16_t seq) {
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
  DataSize data_in_flight() const { return in_flight_; }
  size_t size() const { return packets_.size(); }

 private:
  enum class Reported { kNone, kLost, kReceived };
  struct Entry {
    congestion::SentPacketInfo info;
    bool reported = false;
    Reported state = Reported::kNone;
  };
  void prune(Timestamp now) {
    while (!packets_.empty()) {
      auto first = packets_.begin();
      const bool too_many = packets_.size() > config_.max_packets;
      const bool too_old = now - first->second.info.send_time > config_.max_age;
      if (!too_many && !too_old) break;
      if (!first->second.reported) in_flight_ -= first->second.info.size;
      packets_.erase(first);
    }
  }

  Config config_;
  RtpSeqUnwrapper unwrapper_;
  std::map<int64_t, Entry> packets_;
  DataSize in_flight_ = DataSize::Zero();
  int64_t cleared_up_to_ = -1;
};

}  // namespace tern::test::map_model
