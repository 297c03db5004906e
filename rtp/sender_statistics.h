// Send-side counters of one outgoing RTP stream (one SSRC): the packet and octet counts of RFC 3550
// 6.4.1 sender reports, the NTP/RTP timestamp pair an SR carries for synchronisation, and the
// webrtc-stats outbound-rtp counters (packetsSent, bytesSent, headerBytesSent,
// retransmittedPacketsSent, retransmittedBytesSent). Sans-I/O, fixed-size state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "tern/core/ntp_time.h"
#include "tern/core/units.h"
#include "tern/rtp/rtp_packet.h"

namespace tern::rtp {

struct OutboundRtpCounters {
  int64_t packets_sent = 0;             // retransmissions included
  int64_t bytes_sent = 0;               // payload bytes (no header, no padding), retransmissions included
  int64_t header_bytes_sent = 0;        // header + extensions + CSRCs + padding
  int64_t retransmitted_packets_sent = 0;
  int64_t retransmitted_bytes_sent = 0;  // payload bytes
  Timestamp last_packet_sent = Timestamp::MinusInfinity();
};

// What an SR's sender info carries (RFC 3550 6.4.1).
struct SenderReportInfo {
  NtpTime ntp;
  uint32_t rtp_timestamp = 0;  // the same instant as `ntp` on the stream's RTP clock
  uint32_t packet_count = 0;   // modulo 2^32
  uint32_t octet_count = 0;    // payload octets, modulo 2^32
};

class SenderStatistics {
 public:
  explicit SenderStatistics(uint32_t ssrc) : ssrc_(ssrc) {}

  // Accounts one packet handed to the network at `send_time`, `packet_bytes` long in total. Its
  // media was captured at `capture_time` (the instant its RTP timestamp stands for); the newest
  // non-retransmitted packet is the reference for extrapolating RTP time in SRs.
  void on_packet_sent(const RtpHeader& header, size_t packet_bytes, Timestamp capture_time,
                      Timestamp send_time, bool retransmission);

  // The NTP time of `now` and the RTP timestamp of the same instant, extrapolated from the
  // reference packet with `rtp_clock_rate` (Hz, > 0). nullopt before any media packet was sent or
  // with a zero clock rate (RFC 3550 6.4: no SR is due from a source that has not sent).
  std::optional<SenderReportInfo> sender_report_info(Timestamp now, const NtpClock& clock,
                                                     uint32_t rtp_clock_rate) const;

  uint32_t ssrc() const { return ssrc_; }
  const OutboundRtpCounters& counters() const { return counters_; }

 private:
  uint32_t ssrc_;
  OutboundRtpCounters counters_;
  bool have_reference_ = false;
  Timestamp reference_capture_;
  uint32_t reference_rtp_ = 0;
};

}  // namespace tern::rtp
