// Receive-side bandwidth estimation with REMB (draft-alvestrand-rmcat-remb-03), the alternative to
// send-side transport-cc: the receiver runs GCC's delay-based estimator (draft-ietf-rmcat-gcc-02
// section 5; libwebrtc's RemoteBitrateEstimatorAbsSendTime) on the abs-send-time header extension
// (24-bit 6.18 fixed-point seconds, wraps every 64 s) and the local arrival times, and tells the
// sender the rate it may use in an rtcp::Remb.
//
//   abs-send-time + arrival -> InterArrival -> TrendlineEstimator/OveruseDetector -> AimdRateControl
//   incoming bitrate (1 s window) ----------------------------------------------------^
//
// REMB throttling (as libwebrtc): a REMB goes out at most once per `remb_interval`, except that a
// decrease below `decrease_fraction` of the last sent value is sent at once. Sans-I/O: feed
// packets, ask next_wakeup(), call process(now).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>

#include "tern/congestion/aimd_rate_control.h"
#include "tern/congestion/inter_arrival.h"
#include "tern/congestion/trendline_estimator.h"
#include "tern/core/units.h"
#include "tern/rtp/rtcp/remb.h"

namespace tern::congestion {

class RemoteBitrateEstimatorAbsSendTime {
 public:
  struct Config {
    uint32_t sender_ssrc = 0;  // the REMB's packet sender SSRC
    InterArrival::Config inter_arrival;
    TrendlineEstimator::Config trendline;
    AimdRateControl::Config rate_control;
    TimeDelta remb_interval = TimeDelta::Seconds(1);
    double decrease_fraction = 0.97;                  // a drop below this x last sent is urgent
    TimeDelta rate_window = TimeDelta::Seconds(1);    // incoming bitrate window
    TimeDelta update_interval = TimeDelta::Millis(100);  // AIMD step when not over-using
    TimeDelta stream_timeout = TimeDelta::Seconds(2);    // silence that restarts the filters / drops an SSRC
    size_t max_window_packets = 1 << 14;                 // incoming-rate window bound (oldest go)
  };

  RemoteBitrateEstimatorAbsSendTime() : RemoteBitrateEstimatorAbsSendTime(Config{}) {}
  explicit RemoteBitrateEstimatorAbsSendTime(Config config);

  // One received media packet: its 24-bit abs-send-time value, local arrival time and size on the
  // wire. SSRCs are remembered (at most rtcp::Remb::kMaxSsrcs) to be listed in the REMB.
  void on_received_packet(uint32_t abs_send_time, Timestamp arrival, DataSize size, uint32_t ssrc);
  // Round-trip time (e.g. from RTCP), which sets the AIMD response time.
  void on_rtt(TimeDelta rtt) { rate_control_.set_rtt(rtt); }

  // When a REMB is next due; nullopt before there is any estimate.
  std::optional<Timestamp> next_wakeup() const;
  // The REMB due at `now`, if any.
  std::optional<rtcp::Remb> process(Timestamp now);

  // Current estimate, once valid.
  std::optional<DataRate> estimate() const;
  std::optional<DataRate> incoming_bitrate(Timestamp now);
  BandwidthUsage state() const { return trendline_.state(); }

 private:
  Timestamp unwrap_send_time(uint32_t abs_send_time);
  void update_estimate(Timestamp now);

  Config config_;
  InterArrival inter_arrival_;
  TrendlineEstimator trendline_;
  AimdRateControl rate_control_;
  // abs-send-time unwrapping
  std::optional<uint32_t> last_raw_;
  Timestamp last_send_time_ = Timestamp::Zero();
  // incoming bitrate
  std::deque<std::pair<Timestamp, DataSize>> window_;
  DataSize window_bytes_ = DataSize::Zero();
  Timestamp first_arrival_ = Timestamp::MinusInfinity();
  Timestamp last_arrival_ = Timestamp::MinusInfinity();
  Timestamp last_update_ = Timestamp::MinusInfinity();
  std::map<uint32_t, Timestamp> ssrcs_;  // last packet time per SSRC
  // REMB throttling
  Timestamp last_remb_time_ = Timestamp::MinusInfinity();
  DataRate last_remb_rate_ = DataRate::Zero();
};

}  // namespace tern::congestion
