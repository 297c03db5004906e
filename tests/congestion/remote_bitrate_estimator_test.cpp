// RemoteBitrateEstimatorAbsSendTime (receive-side REMB estimation) and REMB applied by the sender.
#include "tern/congestion/remote_bitrate_estimator_abs_send_time.h"

#include <doctest/doctest.h>

#include <vector>

#include "tern/congestion/goog_cc_network_controller.h"
#include "tern/rtp/header_extensions.h"

using namespace tern;
using namespace tern::congestion;
using namespace tern::unit_literals;

namespace {

// A sender at `send_rate` (1200-byte packets) through a FIFO bottleneck of `capacity`; feeds the
// estimator and collects the REMBs it emits over `duration`.
struct Run {
  std::vector<rtcp::Remb> rembs;
  std::vector<Timestamp> remb_times;
};

Run run(RemoteBitrateEstimatorAbsSendTime& rbe, DataRate send_rate, DataRate capacity, Timestamp start,
        TimeDelta duration, Timestamp& busy_until) {
  Run r;
  const DataSize size = DataSize::Bytes(1200);
  const TimeDelta gap = size / send_rate;
  for (Timestamp t = start; t < start + duration; t += gap) {
    busy_until = max(busy_until, t) + size / capacity;
    const Timestamp arrival = busy_until + 40_ms;
    rbe.on_received_packet(rtp::AbsSendTime::from_time(t), arrival, size, 0x1234);
    if (auto w = rbe.next_wakeup(); w && *w <= arrival) {
      if (auto remb = rbe.process(arrival)) {
        r.rembs.push_back(*remb);
        r.remb_times.push_back(arrival);
      }
    }
  }
  return r;
}

}  // namespace

TEST_CASE("REMB estimator converges under no congestion and sends about once a second") {
  RemoteBitrateEstimatorAbsSendTime rbe;
  Timestamp busy = Timestamp::Zero();
  const Run r = run(rbe, 500_kbps, 10_mbps, Timestamp::Seconds(1), 30_s, busy);
  REQUIRE(rbe.estimate());
  CHECK(*rbe.estimate() >= 500_kbps);
  // Valid after ~5 s of incoming rate; then one per second (no decrease in this run).
  CHECK(r.rembs.size() >= 20);
  CHECK(r.rembs.size() <= 27);
  for (size_t i = 1; i < r.remb_times.size(); ++i) CHECK(r.remb_times[i] - r.remb_times[i - 1] >= 1_s);
  REQUIRE_FALSE(r.rembs.empty());
  REQUIRE(r.rembs.back().ssrcs.size() == 1);
  CHECK(r.rembs.back().ssrcs[0] == 0x1234u);
  MESSAGE("REMB estimate at 500 kbps without congestion: " << rbe.estimate()->kbps() << " kbps, "
                                                           << r.rembs.size() << " REMBs in 30 s");
}

TEST_CASE("REMB estimator detects over-use and sends the decrease at once") {
  RemoteBitrateEstimatorAbsSendTime rbe;
  Timestamp busy = Timestamp::Zero();
  (void)run(rbe, 900_kbps, 10_mbps, Timestamp::Seconds(1), 10_s, busy);
  REQUIRE(rbe.estimate());
  // Now the path narrows to 500 kbps while the sender keeps 900 kbps.
  const Run r = run(rbe, 900_kbps, 500_kbps, Timestamp::Seconds(11), 3_s, busy);
  REQUIRE_FALSE(r.rembs.empty());
  // The first decrease goes out well before the 1 s REMB interval would allow.
  CHECK(r.rembs.front().bitrate < 900_kbps);
  CHECK(r.remb_times.front() < Timestamp::Seconds(11) + 1_s);
  DataRate lowest = DataRate::PlusInfinity();
  for (const auto& remb : r.rembs) lowest = min(lowest, remb.bitrate);
  CHECK(lowest < 550_kbps);
  MESSAGE("REMB after a 900 -> 500 kbps capacity drop: first " << r.rembs.front().bitrate.kbps()
          << " kbps at +" << r.remb_times.front().ms() - 11000 << " ms, lowest " << lowest.kbps()
          << " kbps, " << r.rembs.size() << " REMBs in 3 s");
}

TEST_CASE("REMB estimator is unaffected by the 64 s abs-send-time wrap") {
  RemoteBitrateEstimatorAbsSendTime rbe;
  Timestamp busy = Timestamp::Zero();
  // 56 s .. 76 s of sender time crosses the 6.18 fixed-point wrap at 64 s.
  const Run r = run(rbe, 400_kbps, 10_mbps, Timestamp::Seconds(56), 20_s, busy);
  REQUIRE(rbe.estimate());
  for (const auto& remb : r.rembs) CHECK(remb.bitrate >= 400_kbps);
  CHECK(rbe.state() != BandwidthUsage::kOverusing);
}

TEST_CASE("GoogCcNetworkController target never exceeds the REMB cap") {
  GoogCcNetworkController::Config c;
  c.start_rate = 1_mbps;
  GoogCcNetworkController cc(c);
  Timestamp now = Timestamp::Seconds(1);
  (void)cc.on_network_availability(true, now);
  NetworkControlUpdate u = cc.on_remote_bitrate_report(250_kbps, now);
  REQUIRE(u.target_rate);
  CHECK(u.target_rate->target_rate <= 250_kbps);
  // Plenty of delivered traffic (no delay growth) must not lift the target above the cap.
  int64_t seq = 0;
  for (int i = 0; i < 100; ++i) {
    TransportPacketsFeedback fb;
    fb.feedback_time = now + 50_ms;
    for (int k = 0; k < 10; ++k) {
      PacketResult p;
      p.sent.sequence_number = seq++;
      p.sent.send_time = now + 5_ms * k;
      p.sent.size = DataSize::Bytes(1200);
      p.receive_time = p.sent.send_time + 20_ms;
      (void)cc.on_sent_packet(p.sent);
      fb.packets.push_back(p);
    }
    (void)cc.on_transport_feedback(fb);
    (void)cc.on_process_interval(now + 50_ms);
    now += 50_ms;
    CHECK(cc.target_rate() <= 250_kbps);
  }
  // Lifting the cap lets it grow again.
  (void)cc.on_remote_bitrate_report(DataRate::Zero(), now);
  CHECK(cc.target_rate() <= 250_kbps);
}
