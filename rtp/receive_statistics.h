// Reception statistics of every RTP source a receiver hears (RFC 3550 6.4 and Appendix A.1/A.3/
// A.8), and the report blocks it sends back in RR/SR packets (RFC 3550 6.4.1), with LSR/DLSR.
//
// One StreamStatistician per SSRC. The number of tracked SSRCs is bounded (Config::max_streams):
// when a packet or SR from a new SSRC arrives and the table is full, the SSRC whose last packet is
// the oldest (least recently active) is evicted and counted in evicted_streams(). An application
// should call remove_stream() on RTCP BYE. Sans-I/O: all times are arguments.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "tern/core/ntp_time.h"
#include "tern/core/result.h"
#include "tern/core/units.h"
#include "tern/rtp/rtcp/report_block.h"
#include "tern/rtp/rtp_packet.h"
#include "tern/rtp/stream_statistician.h"

namespace tern::rtp {

class ReceiveStatistics {
 public:
  struct Config {
    size_t max_streams = 64;          // 1..1024
    uint32_t default_clock_rate = 0;  // Hz for unregistered payload types; 0: no jitter for them
  };

  // Rejects max_streams outside 1..1024.
  static Result<ReceiveStatistics> Create(Config config);

  // Sets the RTP clock rate (Hz, > 0) used for jitter of payload type `pt` (0..127).
  Status register_payload_type(uint8_t pt, uint32_t clock_rate);

  // Accounts one received packet of `packet_bytes` bytes (the whole RTP packet). Retransmissions
  // (RTX already unwrapped to the original SSRC/sequence number, flagged by the caller) count as
  // received but do not feed the jitter. Returns true when the packet passed RFC 3550 A.1
  // validation (the caller may drop packets for which it returns false).
  bool on_rtp_packet(const RtpHeader& header, Timestamp arrival, size_t packet_bytes,
                     bool retransmitted = false);
  bool on_rtp_packet(const RtpPacketView& packet, Timestamp arrival, bool retransmitted = false) {
    return on_rtp_packet(packet.header(), arrival, packet.size(), retransmitted);
  }

  // Remembers an SR's NTP time from `ssrc` for the LSR/DLSR of the next report blocks.
  void on_sender_report(uint32_t ssrc, NtpTime ntp, Timestamp arrival);

  // Up to `max_blocks` report blocks for sources heard since their last block (RFC 3550 6.4). When
  // more are pending, successive calls rotate through them in SSRC order so each gets its turn.
  // Producing a block advances that source's A.3 interval (fraction lost).
  std::vector<rtcp::ReportBlock> report_blocks(Timestamp now, size_t max_blocks);

  // The statistician of `ssrc`, or null when it is not tracked. Valid until the next call that
  // may add or remove a stream.
  const StreamStatistician* stream(uint32_t ssrc) const;
  std::optional<InboundRtpCounters> stats(uint32_t ssrc) const;
  // SSRCs currently tracked, ascending.
  std::vector<uint32_t> ssrcs() const;

  // Forgets a source (RTCP BYE, or the application's own timeout).
  void remove_stream(uint32_t ssrc);
  size_t num_streams() const { return streams_.size(); }
  int64_t evicted_streams() const { return evicted_; }

 private:
  explicit ReceiveStatistics(Config config) : config_(config) { clock_rates_.fill(0); }
  StreamStatistician& get_or_create(uint32_t ssrc);

  Config config_;
  std::array<uint32_t, 128> clock_rates_{};
  std::vector<StreamStatistician> streams_;  // sorted by SSRC, at most config_.max_streams
  uint64_t next_report_ssrc_ = 0;            // rotation cursor (2^32 wraps to 0)
  int64_t evicted_ = 0;
};

}  // namespace tern::rtp
