// Send-side transport feedback adapter: stamps outgoing packets with transport-wide sequence
// numbers (draft-holmer-rmcat-transport-wide-cc-extensions-01) through a SendTimeHistory and turns
// received feedback into TransportPacketsFeedback for GoogCcNetworkController. Two wire formats:
//  - transport-cc (rtcp::TransportFeedback, RTPFB FMT 15): arrival times are deltas from a 24-bit
//    reference time in 64 ms ticks; consecutive reports are chained by the wrapped difference of
//    their reference times, so every receive time is on one continuous receiver clock.
//  - RFC 8888 (rtcp::CongestionControlFeedback, RTPFB FMT 11): per-SSRC RTP sequence numbers with
//    arrival time offsets before a compact-NTP report timestamp; (ssrc, RTP seq) is mapped back to
//    the transport-wide history recorded at send time.
// Reordered or duplicated reports are tolerated: a packet is reported received at most once, lost
// at most once, and never lost after it was reported received.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "tern/congestion/network_types.h"
#include "tern/congestion/send_time_history.h"
#include "tern/core/seq_num.h"
#include "tern/core/seq_ring.h"
#include "tern/core/units.h"
#include "tern/rtp/rtcp/congestion_control_feedback.h"
#include "tern/rtp/rtcp/transport_feedback.h"

namespace tern::congestion {

class TransportFeedbackAdapter {
 public:
  struct Config {
    SendTimeHistory::Config history;
    // RFC 8888 mapping: SSRCs remembered (more are refused) and (ssrc, seq) entries per SSRC
    // (the oldest RTP sequence number is forgotten first; a SeqRing spanning 2 x this many
    // numbers, like SendTimeHistory's).
    size_t max_ssrcs = 64;
    size_t max_rtp_packets_per_ssrc = 1 << 14;
  };

  // What a sent packet was stamped with.
  struct Stamped {
    uint16_t transport_seq = 0;  // write this into the transport-wide-cc header extension
    SentPacketInfo info;         // pass this to GoogCcNetworkController::on_sent_packet
  };

  TransportFeedbackAdapter() : TransportFeedbackAdapter(Config{}) {}
  explicit TransportFeedbackAdapter(Config config);

  // Assigns the next transport-wide sequence number to a packet leaving at `send_time` and
  // records it. When `rtp` (ssrc, RTP seq) is given, RFC 8888 feedback can find the packet too.
  struct RtpId {
    uint32_t ssrc = 0;
    uint16_t sequence_number = 0;
  };
  Stamped on_sent_packet(Timestamp send_time, DataSize size, int probe_cluster_id = kNotAProbe,
                         bool audio = false, std::optional<RtpId> rtp = std::nullopt);

  // Converts one transport-cc report received at `now`. Receive times are on the receiver's clock
  // (origin: the first report's reference time). Returns nullopt when no covered packet is known
  // and new (unknown, pruned, or all duplicates).
  std::optional<TransportPacketsFeedback> on_transport_feedback(const rtcp::TransportFeedback& feedback,
                                                                Timestamp now);
  // Converts one RFC 8888 report received at `now`. Receive time = report timestamp (compact NTP,
  // unwrapped across reports) minus the arrival time offset; packets received without a usable
  // offset are left out. Returns nullopt when nothing new and known is covered.
  std::optional<TransportPacketsFeedback> on_congestion_control_feedback(
      const rtcp::CongestionControlFeedback& feedback, Timestamp now);

  DataSize data_in_flight() const { return history_.data_in_flight(); }
  uint16_t next_transport_seq() const { return next_seq_; }

 private:
  struct SsrcHistory {
    uint32_t ssrc;
    RtpSeqUnwrapper unwrapper;
    SeqRing<uint16_t> transport_seq;  // unwrapped RTP seq -> transport seq
  };
  SsrcHistory* find_ssrc(uint32_t ssrc);
  // Matches one packet and appends it to `out` unless it would repeat an earlier report (the
  // history keeps what was reported per packet: SendTimeHistory::report()).
  void add_result(uint16_t transport_seq, Timestamp receive_time, std::vector<PacketResult>& out);

  Config config_;
  SendTimeHistory history_;
  uint16_t next_seq_ = 0;
  // transport-cc clock chaining
  bool have_base_ = false;
  int32_t last_base_ticks_ = 0;
  Timestamp current_base_ = Timestamp::Zero();
  // RFC 8888 clock chaining and mapping
  std::optional<uint32_t> last_report_ntp_;
  int64_t report_ntp_unwrapped_ = 0;
  std::vector<SsrcHistory> ssrcs_;  // at most max_ssrcs, searched linearly (a handful)
};

}  // namespace tern::congestion
