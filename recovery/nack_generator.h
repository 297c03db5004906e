// NACK generator (receiver side of RFC 4585 Generic NACK): finds sequence-number gaps in a received
// RTP stream and decides when to ask for each missing packet, retrying every RTT-based interval up
// to a retry limit, and giving up on packets too old to matter. Output is a list of sequence numbers
// to send in one rtcp::Nack (make_nack() builds it).
//
// Reordering is not loss: a missing packet that later arrives on its own teaches the generator how
// far out of order the path delivers (ReorderingEstimator: distance in packets and delay since the
// gap was seen). A gap's first NACK then waits until more newer packets have arrived than that
// percentile of reordering distances AND the gap is older than that percentile of delays (with
// `reorder_wait` as the least delay); never longer than `max_reorder_wait` after the gap was seen,
// which bounds the extra delay a real loss gets. Before any reordering is seen, gaps are NACKed at
// once (after `reorder_wait`), as without learning.
//
// A lost retransmission is retried as soon as it is evident, not only when the retry timer runs
// out: the sender answers a NACK's sequence numbers in order, so when the retransmission of a
// packet asked for later (or later in the same NACK) arrives, the earlier ones still missing were
// lost on the way (or reordered: the retry waits the learnt reordering delay). Their retry is due
// then, RACK's rule for lost retransmissions (RFC 8985) applied to NACK. Measured (tern-loopback,
// 8% loss in bursts of 3, RTT ~130 ms): the retry left 15-45 ms sooner in most second rounds.
// Opt-in (`retry_when_overtaken`).
//
// A jump the stream never made (one corrupt or forged packet numbered far ahead) would leave the
// newest number there, every real packet after it "old", and real losses never NACKed until the
// stream caught up. So `kResyncRun` packets in a row further than `kResyncDistance` behind the
// newest (and not missing) mean the stream is elsewhere: the generator starts over from them
// (`resyncs`), as the video packet buffer does.
//
// Memory: at most `max_list_size` missing packets. When a new gap would overflow the list, entries
// older than the last keyframe are dropped first (they are moot); if that is not enough the list is
// cleared and a keyframe is asked for instead (on_packet() returns keyframe_needed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "tern/core/result.h"
#include "tern/core/seq_num.h"
#include "tern/core/units.h"
#include "tern/recovery/reordering_estimator.h"
#include "tern/rtp/rtcp/nack.h"

namespace tern::recovery {

struct NackGeneratorConfig {
  size_t max_list_size = 1000;           // missing packets tracked
  int max_retries = 10;                  // NACKs sent per packet before giving up
  TimeDelta max_age = TimeDelta::Seconds(1);  // since the gap was seen; older packets are abandoned
  int64_t max_packet_age = 10000;        // sequence numbers behind the newest; older are abandoned
  TimeDelta initial_rtt = TimeDelta::Millis(100);  // until on_rtt()
  TimeDelta min_retry_interval = TimeDelta::Millis(10);
  double retry_rtt_factor = 1.25;        // retry after rtt x factor (a margin for the answer's jitter)
  TimeDelta reorder_wait = TimeDelta::Zero();  // least delay before the first NACK of a gap
  // Learning the reordering of the path (see above): off = first NACK after reorder_wait alone.
  bool learn_reordering = true;
  double reorder_percentile = 0.99;             // share of observed reorderings waited for, (0, 1]
  TimeDelta max_reorder_wait = TimeDelta::Millis(100);  // the most a gap waits for learnt reordering
  // Retry a packet once a retransmission asked for after it has arrived (see above). Off by
  // default: on, the cc-loss-20 preset (20% random loss, 2 Mbps, 10 ms) cut its target twice
  // within 500 ms once in 60 s (seed 1; seeds 2-3 not), a bound tests/tools asserts.
  bool retry_when_overtaken = false;

  Status validate() const;
};

struct NackGeneratorStats {
  uint64_t nacks_sent = 0;          // process() calls that produced a list (one RTCP NACK each)
  uint64_t packets_requested = 0;   // sequence numbers sent, retries included
  uint64_t retries = 0;             // sequence numbers sent again
  uint64_t early_retries = 0;       // ... of them, sent before the timer: a later answer came first
  uint64_t packets_recovered = 0;   // missing packets that arrived later: the three below
  uint64_t packets_late = 0;        // ... on their own (reordered or delayed): learnt from
  uint64_t packets_repaired_by_rtx = 0;  // ... restored from a retransmission (RFC 4588)
  uint64_t packets_repaired_by_fec = 0;  // ... rebuilt by FEC
  uint64_t late_after_nack = 0;     // of packets_late, those NACKed before they arrived (needless)
  uint64_t packets_abandoned = 0;   // retry limit, age, overflow or keyframe
  uint64_t keyframe_requests = 0;   // overflows that ended in a keyframe request
  uint64_t resyncs = 0;             // starts over behind a jump the stream did not make
  uint64_t packets_not_media = 0;   // missing numbers forgotten by forget_between()
};

// How a packet reached the generator.
enum class PacketArrival : uint8_t {
  kOriginal,        // as sent, over the network
  kRetransmission,  // restored from a retransmission
  kFecRecovery,     // rebuilt by FEC
};

class NackGenerator {
 public:
  struct PacketResult {
    bool keyframe_needed = false;   // the list overflowed past the last keyframe
    bool was_missing = false;       // this packet filled a gap we were tracking
  };

  // Rejects an invalid configuration.
  static Result<NackGenerator> Create(const NackGeneratorConfig& config);
  explicit NackGenerator(const NackGeneratorConfig& config = {});

  // A packet arrived (`arrival` says how). `is_keyframe`: the first packet of a keyframe, which
  // makes older missing packets moot once the list overflows. A missing packet that arrives as
  // kOriginal is a reordering observation; the other two count as repairs.
  PacketResult on_packet(uint16_t seq, bool is_keyframe, PacketArrival arrival, Timestamp now);
  // Latest round-trip time, which spaces the retries.
  void on_rtt(TimeDelta rtt);
  // Sequence numbers to NACK now, in ascending (wrap-aware) order; empty when none is due.
  std::vector<uint16_t> process(Timestamp now);
  // When process() has something to do next; nullopt with an empty list.
  std::optional<Timestamp> next_wakeup() const;
  // Stops asking for packets before `seq` (e.g. a complete keyframe starts at `seq`).
  void clear_up_to(uint16_t seq);
  // The numbers strictly between `after` and `before` carried no media: the stream's frames say
  // so (`after` ended a frame, `before` starts the next one). ULPFEC in RED takes the media's
  // sequence numbers after a frame's last packet, so a lost FEC packet leaves such a gap; asked
  // for, it is refused by tern's sender (recovery::PacketHistory) and costs NACK entries for up
  // to max_retries rounds. Forgets them (counted in packets_not_media).
  void forget_between(uint16_t after, uint16_t before);

  size_t size() const { return missing_.size(); }
  TimeDelta rtt() const { return rtt_; }
  const NackGeneratorStats& stats() const { return stats_; }
  // What the first NACK of a gap waits for now (learnt; zeros before any reordering is seen).
  int64_t reorder_packets_wait() const { return reordering_.packets_wait(); }
  TimeDelta reorder_time_wait() const;

  // An RTCP Generic NACK carrying `lost` (as returned by process()).
  static rtcp::Nack make_nack(uint32_t sender_ssrc, uint32_t media_ssrc, std::vector<uint16_t> lost);

 private:
  struct Missing {
    Timestamp detected;
    Timestamp sent = Timestamp::MinusInfinity();
    int sends = 0;
    // When a retransmission asked for after this packet's last NACK arrived (it was lost).
    Timestamp overtaken = Timestamp::PlusInfinity();
  };
  TimeDelta retry_interval() const;
  Timestamp due_time(int64_t seq, const Missing& m) const;
  void on_missing_arrived(int64_t seq, const Missing& m, PacketArrival arrival, Timestamp now);
  void mark_overtaken(int64_t seq, Timestamp asked, Timestamp now);
  bool expired(int64_t seq, const Missing& m, Timestamp now) const;
  void drop_before(int64_t seq);
  bool make_room(size_t needed);

  static constexpr int64_t kResyncDistance = 2048;
  static constexpr int kResyncRun = 16;

  NackGeneratorConfig config_;
  RtpSeqUnwrapper unwrapper_;
  std::optional<int64_t> newest_;
  int64_t oldest_ = 0;                  // oldest unwrapped seq received (valid with newest_)
  std::map<int64_t, Missing> missing_;  // unwrapped seq -> state
  std::deque<int64_t> keyframes_;       // unwrapped first seqs of recent keyframes, bounded
  int far_behind_run_ = 0;              // packets in a row far behind the newest (see above)
  TimeDelta rtt_;
  ReorderingEstimator reordering_;
  NackGeneratorStats stats_;
};

}  // namespace tern::recovery
