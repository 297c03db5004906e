#include "tern/pipeline/rtp_egress.h"

#include <utility>

namespace tern::pipeline {

Result<RtpEgress> RtpEgress::Create(const Config& config) {
  if (config.ssrc == 0) return Error{"rtp egress: zero SSRC"};
  if (config.clock_rate == 0) return Error{"rtp egress: zero clock rate"};
  std::optional<recovery::PacketHistory> history;
  if (config.history) {
    auto h = recovery::PacketHistory::Create(*config.history);
    if (!h) return Error{h.error()};
    history.emplace(std::move(h).value());
  }
  return RtpEgress(config, std::move(history));
}

RtpEgress::RtpEgress(Config config, std::optional<recovery::PacketHistory> history)
    : config_(std::move(config)), history_(std::move(history)), stats_(config_.ssrc) {}

void RtpEgress::on_sent(const rtp::RtpPacket& packet, Timestamp capture_time, Timestamp now, bool retransmission,
                        const recovery::StoredPacketRef& stored) {
  stats_.on_packet_sent(packet.header(), packet.size(), capture_time, now, retransmission);
  if (!retransmission && packet.ssrc() == config_.ssrc && packet.marker()) ++frames_sent_;
  if (history_ && !retransmission && packet.ssrc() == config_.ssrc) history_->put(packet, stored, now);
}

std::vector<rtp::RtpPacket> RtpEgress::on_nack(std::span<const uint16_t> seqs, Timestamp now, TimeDelta rtt) {
  if (!history_) return {};
  return history_->on_nack(seqs, now, rtt);
}

void RtpEgress::set_retransmission_rate(DataRate rate, Timestamp now) {
  if (history_) history_->set_retransmission_rate(rate, now);
}

std::optional<rtp::SenderReportInfo> RtpEgress::sender_report_info(Timestamp now, const NtpClock& clock) const {
  return stats_.sender_report_info(now, clock, config_.clock_rate);
}

}  // namespace tern::pipeline
