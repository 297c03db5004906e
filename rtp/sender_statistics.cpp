#include "tern/rtp/sender_statistics.h"

#include "tern/rtp/rtp_stats_math.h"

namespace tern::rtp {

void SenderStatistics::on_packet_sent(const RtpHeader& header, size_t packet_bytes, Timestamp capture_time,
                                      Timestamp send_time, bool retransmission) {
  const PacketOctets octets = split_packet_octets(header, packet_bytes);
  counters_.packets_sent += 1;
  counters_.bytes_sent += octets.payload;
  counters_.header_bytes_sent += octets.header;
  if (retransmission) {
    counters_.retransmitted_packets_sent += 1;
    counters_.retransmitted_bytes_sent += octets.payload;
  }
  counters_.last_packet_sent = send_time;
  // Retransmissions carry old timestamps; the reference follows the newest capture.
  if (!retransmission && capture_time.is_finite() &&
      (!have_reference_ || capture_time >= reference_capture_)) {
    have_reference_ = true;
    reference_capture_ = capture_time;
    reference_rtp_ = header.timestamp;
  }
}

std::optional<SenderReportInfo> SenderStatistics::sender_report_info(Timestamp now, const NtpClock& clock,
                                                                     uint32_t rtp_clock_rate) const {
  if (!have_reference_ || rtp_clock_rate == 0 || now.is_infinite()) return std::nullopt;
  SenderReportInfo info;
  info.ntp = clock.to_ntp(now);
  info.rtp_timestamp = reference_rtp_ + micros_to_rtp_ticks((now - reference_capture_).us(), rtp_clock_rate);
  info.packet_count = static_cast<uint32_t>(counters_.packets_sent);
  info.octet_count = static_cast<uint32_t>(counters_.bytes_sent);
  return info;
}

}  // namespace tern::rtp
