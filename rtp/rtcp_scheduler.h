// When to send RTCP compound packets: RFC 3550 6.2/6.3 and Appendix A.7 (interval from members,
// senders, average RTCP size and the RTCP bandwidth share; randomisation in [0.5, 1.5] divided by
// e - 3/2 = 1.21828; forward timer reconsideration at expiry; reverse reconsideration when members
// leave; halved initial minimum), with the RFC 4585 3.5 AVPF extensions (no 5 s minimum after the
// first report, T_rr_interval suppression of regular reports, one early feedback packet between
// regular ones, immediate feedback in point-to-point sessions).
//
// Sans-I/O: the driver asks next_wakeup(), calls due(now) at that time and, when it returns true,
// sends a compound packet and reports it with on_sent(). Randomness comes from a seeded Random.
// Sizes given to on_sent/on_received should include lower-layer (UDP/IP) headers (RFC 3550 6.2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "tern/core/random.h"
#include "tern/core/result.h"
#include "tern/core/units.h"

namespace tern::rtp {

class RtcpScheduler {
 public:
  struct Config {
    DataRate session_bandwidth = DataRate::KilobitsPerSec(500);  // RTP session bandwidth ("AS")
    double rtcp_fraction = 0.05;   // RTCP share of the session bandwidth (RFC 3550 6.2: 5 %)
    double sender_fraction = 0.25; // share kept for senders when they are < this fraction of members
    TimeDelta minimum_interval = TimeDelta::Seconds(5);  // RFC 3550 Tmin
    bool reduced_minimum = false;  // RFC 3550 6.2: Tmin = 360 / session kbps seconds instead
    bool avpf = false;             // RFC 4585 rules
    TimeDelta avpf_initial_minimum = TimeDelta::Seconds(1);  // AVPF Tmin before the first report
    TimeDelta t_rr_interval = TimeDelta::Zero();  // RFC 4585 3.5.3 minimal regular interval; 0: off
    double dither_factor = 0.5;    // RFC 4585 l: T_dither_max = l * T_rr in groups of > 2 members
    DataSize initial_avg_rtcp_size = DataSize::Bytes(128);
    size_t initial_members = 2;    // including ourselves
    size_t initial_senders = 1;    // including ourselves when we_sent
    bool we_sent = false;
    uint64_t seed = 1;
  };

  // Rejects non-positive bandwidth or sizes, fractions outside (0, 1], negative intervals, no members
  // or more senders than members.
  static Result<RtcpScheduler> Create(Config config);

  // Schedules the first report (initial interval: half the minimum, or the AVPF initial minimum).
  void start(Timestamp now);

  // When the driver should next call due(); nullopt before start().
  std::optional<Timestamp> next_wakeup() const;

  // True when a compound packet should be sent now; the caller then sends one and calls on_sent().
  // Performs timer reconsideration at expiry (may move the deadline instead). In AVPF with
  // T_rr_interval, a regular report without feedback may be suppressed (returns false).
  bool due(Timestamp now, bool feedback_pending = false);

  // Reports a compound packet of `compound_size` sent at `now`; `early` for an AVPF early packet.
  void on_sent(Timestamp now, DataSize compound_size, bool early);

  // AVPF: asks to send feedback early. Returns when the packet carrying it may go: `now` or a
  // dithered time for an early packet, the next regular time when that is within the dither window,
  // or PlusInfinity when an early packet was already sent since the last regular one (or not AVPF):
  // then the feedback waits for the next regular report (next_wakeup()).
  Timestamp request_early(Timestamp now);

  // A compound RTCP packet of `size` was received from another member (updates avg_rtcp_size).
  void on_received(DataSize size);
  // Group size from the caller's member table (members include us). A drop triggers reverse
  // reconsideration (RFC 3550 6.3.4); growth is picked up by reconsideration at expiry.
  void set_members(size_t members, size_t senders, Timestamp now);
  void set_we_sent(bool we_sent) { config_.we_sent = we_sent; }

  // The interval before randomisation (A.7 with the current figures).
  TimeDelta deterministic_interval() const;
  // One randomised interval draw, as used for scheduling.
  TimeDelta draw_interval();

  // After due() returned true: whether the packet to send is an AVPF early one (minimal compound
  // with feedback) rather than a regular report. Pass it on to on_sent().
  bool pending_is_early() const { return send_pending_ && pending_early_; }

  DataSize avg_rtcp_size() const { return avg_rtcp_size_; }
  bool allow_early() const { return allow_early_; }
  size_t members() const { return members_; }
  size_t senders() const { return senders_; }
  int64_t suppressed_reports() const { return suppressed_; }

 private:
  explicit RtcpScheduler(Config config);
  void schedule_after_regular(Timestamp now);

  Config config_;
  Random rng_;
  bool started_ = false;
  bool initial_ = true;
  size_t members_;
  size_t senders_;
  size_t pmembers_;
  DataSize avg_rtcp_size_;
  Timestamp tp_;  // last regular transmission (or start)
  Timestamp tn_;  // next scheduled regular transmission
  bool allow_early_ = true;
  bool early_scheduled_ = false;
  Timestamp te_;  // scheduled early transmission
  bool send_pending_ = false;  // due() said yes, on_sent() not yet called
  bool pending_early_ = false;
  Timestamp last_regular_sent_ = Timestamp::MinusInfinity();
  int64_t suppressed_ = 0;
};

}  // namespace tern::rtp
