#include "tern/congestion/transport_feedback_adapter.h"

#include <algorithm>

namespace tern::congestion {

namespace {

constexpr int64_t kBaseWrapTicks = int64_t{1} << 24;
// Compact NTP (16.16 seconds) in microseconds, rounded down.
constexpr int64_t compact_ntp_to_us(int64_t ntp) { return (ntp * 1'000'000) >> 16; }

}  // namespace

TransportFeedbackAdapter::TransportFeedbackAdapter(Config config)
    : config_(config), history_(config.history) {}

TransportFeedbackAdapter::SsrcHistory* TransportFeedbackAdapter::find_ssrc(uint32_t ssrc) {
  for (SsrcHistory& h : ssrcs_) {
    if (h.ssrc == ssrc) return &h;
  }
  return nullptr;
}

TransportFeedbackAdapter::Stamped TransportFeedbackAdapter::on_sent_packet(
    Timestamp send_time, DataSize size, int probe_cluster_id, bool audio, std::optional<RtpId> rtp) {
  Stamped s;
  s.transport_seq = next_seq_++;
  s.info = history_.on_sent(s.transport_seq, send_time, size, probe_cluster_id, audio);
  if (rtp) {
    SsrcHistory* h = find_ssrc(rtp->ssrc);
    if (h == nullptr && ssrcs_.size() < config_.max_ssrcs) {
      const size_t max = std::clamp<size_t>(config_.max_rtp_packets_per_ssrc, 1, SendTimeHistory::kMaxUsefulPackets);
      h = &ssrcs_.emplace_back(SsrcHistory{rtp->ssrc, RtpSeqUnwrapper{}, SeqRing<uint16_t>(2 * max)});
    }
    if (h != nullptr) {
      if (uint16_t* slot = h->transport_seq.insert(h->unwrapper.unwrap(rtp->sequence_number)).first) {
        *slot = s.transport_seq;
      }
      while (h->transport_seq.size() > std::max<size_t>(config_.max_rtp_packets_per_ssrc, 1)) {
        h->transport_seq.pop_front();
      }
    }
  }
  return s;
}

void TransportFeedbackAdapter::add_result(uint16_t transport_seq, Timestamp receive_time,
                                          std::vector<PacketResult>& out) {
  if (std::optional<PacketResult> r = history_.report(transport_seq, receive_time)) out.push_back(*r);
}

std::optional<TransportPacketsFeedback> TransportFeedbackAdapter::on_transport_feedback(
    const rtcp::TransportFeedback& feedback, Timestamp now) {
  const int32_t ticks = static_cast<int32_t>(feedback.base_time().us() / rtcp::TransportFeedback::kBaseTimeTick.us());
  if (!have_base_) {
    have_base_ = true;
    current_base_ = feedback.base_time();
  } else {
    // Wrapped difference of the 24-bit reference times, in [-2^23, 2^23) ticks.
    int64_t d = (int64_t{ticks} - int64_t{last_base_ticks_}) % kBaseWrapTicks;
    if (d < 0) d += kBaseWrapTicks;
    if (d >= kBaseWrapTicks / 2) d -= kBaseWrapTicks;
    current_base_ = current_base_ + rtcp::TransportFeedback::kBaseTimeTick * d;
  }
  last_base_ticks_ = ticks;

  TransportPacketsFeedback out;
  out.feedback_time = now;
  // Walk the wire form (received deltas) alongside the status count so no vector is built.
  const auto received = feedback.received_packets();
  size_t next_received = 0;
  TimeDelta offset = TimeDelta::Zero();
  const size_t count = feedback.packet_status_count();
  out.packets.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const auto seq = static_cast<uint16_t>(feedback.base_sequence() + i);
    Timestamp receive_time = Timestamp::PlusInfinity();
    if (next_received < received.size() && received[next_received].sequence_number == seq) {
      offset += received[next_received].delta();
      ++next_received;
      receive_time = current_base_ + offset;
    }
    add_result(seq, receive_time, out.packets);
  }
  // Packets before the newest one covered are no longer in flight, even if their own report
  // was lost.
  if (count > 0) history_.clear_in_flight_up_to(static_cast<uint16_t>(feedback.base_sequence() + count - 1));
  out.data_in_flight = history_.data_in_flight();
  if (out.packets.empty()) return std::nullopt;
  return out;
}

std::optional<TransportPacketsFeedback> TransportFeedbackAdapter::on_congestion_control_feedback(
    const rtcp::CongestionControlFeedback& feedback, Timestamp now) {
  const uint32_t ntp = feedback.report_timestamp();
  if (!last_report_ntp_) {
    report_ntp_unwrapped_ = ntp;
  } else {
    report_ntp_unwrapped_ += static_cast<int32_t>(ntp - *last_report_ntp_);
  }
  last_report_ntp_ = ntp;
  const Timestamp report_time = Timestamp::Micros(compact_ntp_to_us(report_ntp_unwrapped_));

  TransportPacketsFeedback out;
  out.feedback_time = now;
  for (const auto& stream : feedback.streams()) {
    SsrcHistory* h = find_ssrc(stream.media_ssrc);
    if (h == nullptr) continue;
    for (size_t i = 0; i < stream.packets.size(); ++i) {
      const auto& p = stream.packets[i];
      const auto rtp_seq = static_cast<uint16_t>(stream.begin_seq + i);
      const uint16_t* found = h->transport_seq.find(h->unwrapper.peek(rtp_seq));
      if (found == nullptr) continue;
      Timestamp receive_time = Timestamp::PlusInfinity();
      if (p.received) {
        if (!p.arrival_time_offset || !p.arrival_time_offset->is_finite()) continue;  // time unknown
        receive_time = report_time - *p.arrival_time_offset;
      }
      add_result(*found, receive_time, out.packets);
    }
  }
  std::sort(out.packets.begin(), out.packets.end(), [](const PacketResult& a, const PacketResult& b) {
    return a.sent.sequence_number < b.sent.sequence_number;
  });
  if (!out.packets.empty()) {
    history_.clear_in_flight_up_to(static_cast<uint16_t>(out.packets.back().sent.sequence_number));
  }
  out.data_in_flight = history_.data_in_flight();
  if (out.packets.empty()) return std::nullopt;
  return out;
}

}  // namespace tern::congestion
