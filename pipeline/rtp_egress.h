// RtpEgress: what happens to one outgoing media SSRC once its packets leave the pacer (libwebrtc's
// RtpSenderEgress role): the RFC 3550 send counters behind SRs and outbound-rtp stats, and (with
// RFC 4588 RTX) the packet history that answers NACKs. Owned by the SendTransport, which records
// every packet here as it goes to the network, so packets flow one way: stream -> transport -> sink.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tern/core/ntp_time.h"
#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/recovery/packet_history.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/rtp/sender_statistics.h"

namespace tern::pipeline {

class RtpEgress {
 public:
  struct Config {
    uint32_t ssrc = 0;
    uint32_t clock_rate = 90000;
    std::optional<recovery::PacketHistory::Config> history;  // set: keep packets for RTX
  };
  // Rejects a zero SSRC or clock rate and a history configuration PacketHistory rejects.
  static Result<RtpEgress> Create(const Config& config);

  // A packet counted on this SSRC left at `now` (media captured at `capture_time`): counted, and
  // (a media packet, not a retransmission, with a history) kept for retransmission: by reference
  // into `stored` when set (PacketHistory::put), else copied.
  void on_sent(const rtp::RtpPacket& packet, Timestamp capture_time, Timestamp now, bool retransmission,
               const recovery::StoredPacketRef& stored = {});
  // RTX packets answering a NACK (empty without a history).
  std::vector<rtp::RtpPacket> on_nack(std::span<const uint16_t> seqs, Timestamp now, TimeDelta rtt);
  void set_retransmission_rate(DataRate rate, Timestamp now);
  // The RTX SSRC's next sequence number (PacketHistory::take_rtx_sequence_number), nullopt without
  // a history.
  std::optional<uint16_t> take_rtx_sequence_number() {
    return history_ ? std::optional<uint16_t>(history_->take_rtx_sequence_number()) : std::nullopt;
  }
  // SR sender info for `now` (nullopt before the first packet).
  std::optional<rtp::SenderReportInfo> sender_report_info(Timestamp now, const NtpClock& clock) const;

  uint32_t ssrc() const { return config_.ssrc; }
  const rtp::OutboundRtpCounters& counters() const { return stats_.counters(); }
  // Frames whose last packet (marker bit, as sent, not a retransmission) left: webrtc-stats
  // framesSent of a video SSRC. A frame the pacer dropped is encoded but never sent.
  int64_t frames_sent() const { return frames_sent_; }
  const recovery::PacketHistory* history() const { return history_ ? &*history_ : nullptr; }

 private:
  RtpEgress(Config config, std::optional<recovery::PacketHistory> history);
  Config config_;
  std::optional<recovery::PacketHistory> history_;
  rtp::SenderStatistics stats_;
  int64_t frames_sent_ = 0;
};

}  // namespace tern::pipeline
