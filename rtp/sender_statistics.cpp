#include "tern/rtp/sender_statistics.h"

namespace tern::rtp {

void SenderStatistics::on_packet_sent(const RtpHeader& header, size_t packet_bytes, Timestamp capture_time,
                                      Timestamp send_time, bool retransmission) {
  const size_t header_bytes = size_t{header.header_size} + header.padding_size;
  const size_t payload = packet_bytes > header_bytes ? packet_bytes - header_bytes : 0;
  counters_.packets_sent += 1;
  counters_.bytes_sent += static_cast<int64_t>(payload);
  counters_.header_bytes_sent += static_cast<int64_t>(packet_bytes - payload);
  if (retransmission) {
    counters_.retransmitted_packets_sent += 1;
    counters_.retransmitted_bytes_sent += static_cast<int64_t>(payload);
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
  // elapsed * rate / 1e6 rounded, split so the product cannot overflow.
  const int64_t us = (now - reference_capture_).us();
  const int64_t mag = us < 0 ? -us : us;
  const uint64_t whole = static_cast<uint64_t>(mag / 1000000) * rtp_clock_rate;
  const uint64_t part = (static_cast<uint64_t>(mag % 1000000) * rtp_clock_rate + 500000) / 1000000;
  const auto ticks = static_cast<uint32_t>(whole + part);
  info.rtp_timestamp = us < 0 ? reference_rtp_ - ticks : reference_rtp_ + ticks;
  info.packet_count = static_cast<uint32_t>(counters_.packets_sent);
  info.octet_count = static_cast<uint32_t>(counters_.bytes_sent);
  return info;
}

}  // namespace tern::rtp
