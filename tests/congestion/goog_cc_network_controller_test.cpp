#include "tern/congestion/goog_cc_network_controller.h"

#include <doctest/doctest.h>

#include <vector>

using namespace tern;
using namespace tern::congestion;
using namespace tern::unit_literals;

TEST_CASE("GoogCcNetworkController rejects invalid configuration") {
  GoogCcNetworkController::Config c;
  c.min_rate = 2_mbps;
  c.max_rate = 1_mbps;
  CHECK_FALSE(GoogCcNetworkController::Create(c).ok());
  c = {};
  c.pacing_factor = 0.5;
  CHECK_FALSE(GoogCcNetworkController::Create(c).ok());
  c = {};
  c.start_rate = DataRate::Zero();
  CHECK_FALSE(GoogCcNetworkController::Create(c).ok());
  CHECK(GoogCcNetworkController::Create({}).ok());
}

TEST_CASE("GoogCcNetworkController starts with a target, pacing at 2.5x and start probes") {
  GoogCcNetworkController::Config c;
  c.start_rate = 400_kbps;
  GoogCcNetworkController cc(c);
  const Timestamp t0 = Timestamp::Seconds(1);
  const NetworkControlUpdate u = cc.on_process_interval(t0);
  REQUIRE(u.target_rate);
  CHECK(u.target_rate->target_rate == 400_kbps);
  REQUIRE(u.pacer_config);
  CHECK(u.pacer_config->data_rate == 1000_kbps);
  REQUIRE(u.probe_cluster_configs.size() == 2);
  CHECK(u.probe_cluster_configs[0].target_rate == 1200_kbps);
  CHECK(u.probe_cluster_configs[1].target_rate == 2400_kbps);
  // Nothing changed: nothing reported.
  CHECK(cc.on_process_interval(t0 + 25_ms).empty());
}

TEST_CASE("GoogCcNetworkController applies REMB, RR loss and network availability") {
  GoogCcNetworkController::Config c;
  c.start_rate = 1_mbps;
  c.enable_probing = false;
  GoogCcNetworkController cc(c);
  Timestamp now = Timestamp::Seconds(1);
  (void)cc.on_process_interval(now);
  NetworkControlUpdate u = cc.on_remote_bitrate_report(300_kbps, now);
  REQUIRE(u.target_rate);
  CHECK(u.target_rate->target_rate == 300_kbps);
  u = cc.on_remote_bitrate_report(DataRate::Zero(), now);  // cap removed; rate stays until growth
  now += 1_s;
  // 25% loss in an RR (fraction 64/256) over 100 packets: cut to x(1 - 0.125).
  u = cc.on_loss_report(LossReport::FromFractionLost(64, 100, now));
  REQUIRE(u.target_rate);
  CHECK(u.target_rate->loss_rate == doctest::Approx(0.25));
  CHECK(u.target_rate->target_rate.kbps() == 263);
  u = cc.on_network_availability(false, now);
  REQUIRE(u.target_rate);
  CHECK(u.target_rate->target_rate == DataRate::Zero());
  u = cc.on_network_availability(true, now);
  REQUIRE(u.target_rate);
  CHECK(u.target_rate->target_rate > DataRate::Zero());
}

TEST_CASE("GoogCcNetworkController backs off on growing delay in feedback") {
  GoogCcNetworkController::Config c;
  c.start_rate = 1_mbps;
  c.enable_probing = false;
  GoogCcNetworkController cc(c);
  Timestamp now = Timestamp::Seconds(1);
  (void)cc.on_process_interval(now);
  int64_t seq = 0;
  Timestamp send = now;
  // Each 50 ms report covers 10 packets of 1250 bytes sent every 5 ms (2 Mbps), received through
  // a 1 Mbps bottleneck: the queue grows 5 ms per packet.
  Timestamp arrival = now + 50_ms;
  for (int report = 0; report < 40; ++report) {
    TransportPacketsFeedback fb;
    for (int i = 0; i < 10; ++i) {
      PacketResult p;
      p.sent.sequence_number = seq++;
      p.sent.send_time = send;
      p.sent.size = 1250_bytes;
      arrival = max(arrival + 10_ms, send + 50_ms);
      p.receive_time = arrival;
      fb.packets.push_back(p);
      send += 5_ms;
      (void)cc.on_sent_packet(p.sent);
    }
    now = send;
    fb.feedback_time = max(now, arrival + 50_ms);
    (void)cc.on_transport_feedback(fb);
  }
  MESSAGE("after 2 s of a growing queue: delay state " << static_cast<int>(cc.delay_state())
                                                        << ", target " << cc.target_rate().kbps()
                                                        << " kbps, acked "
                                                        << cc.acknowledged_rate()->kbps() << " kbps");
  CHECK(cc.target_rate() < 1_mbps);
  REQUIRE(cc.acknowledged_rate());
  CHECK(cc.acknowledged_rate()->kbps_f() == doctest::Approx(1000).epsilon(0.1));
}

TEST_CASE("GoogCcNetworkController probes at the held target when feedback resumes after an outage") {
  GoogCcNetworkController::Config c;
  c.start_rate = 1_mbps;
  GoogCcNetworkController cc(c);
  Timestamp now = Timestamp::Seconds(1);
  (void)cc.on_process_interval(now);
  int64_t seq = 0;
  // One report: `received` packets sent 10 ms apart 50 ms ago, `lost` more not received.
  auto report = [&](int received, int lost) {
    TransportPacketsFeedback fb;
    fb.feedback_time = now;
    for (int i = 0; i < received + lost; ++i) {
      PacketResult p;
      p.sent.sequence_number = seq++;
      p.sent.send_time = now - 100_ms + TimeDelta::Millis(i);
      p.sent.size = 1200_bytes;
      if (i < received) p.receive_time = p.sent.send_time + 40_ms;
      fb.packets.push_back(p);
    }
    return cc.on_transport_feedback(fb);
  };
  for (int i = 0; i < 20; ++i, now += 50_ms) (void)report(5, 0);
  const DataRate before = cc.target_rate();
  // Nothing for 3 s, then a report that says most of what was sent into the dead path is lost.
  now += 3_s;
  const NetworkControlUpdate u = report(2, 40);
  REQUIRE(u.probe_cluster_configs.size() == 1);
  CHECK(u.probe_cluster_configs[0].target_rate == before);
  CHECK(cc.target_rate() >= before * 0.95);  // that report's loss is not a reason to cut
  // Ordinary reports do not probe again.
  now += 50_ms;
  CHECK(report(5, 0).probe_cluster_configs.empty());
}
