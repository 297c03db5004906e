// NetworkController: each mode behind the one interface (congestion/network_controller.h).
#include "tern/congestion/network_controller.h"

#include <doctest/doctest.h>

#include <memory>

using namespace tern;
using namespace tern::congestion;

namespace {

std::unique_ptr<NetworkController> make(NetworkControllerMode mode) {
  NetworkControllerConfig c;
  c.mode = mode;
  c.start_rate = DataRate::KilobitsPerSec(800);
  c.fixed_rate = DataRate::KilobitsPerSec(600);
  auto r = CreateNetworkController(c);
  REQUIRE(r.ok());
  return std::move(r).value();
}

TransportPacketsFeedback all_lost(Timestamp now, int n) {
  TransportPacketsFeedback f;
  f.feedback_time = now;
  for (int i = 0; i < n; ++i) {
    PacketResult p;
    p.sent.sequence_number = i;
    p.sent.send_time = now - TimeDelta::Millis(100 - i);
    p.sent.size = DataSize::Bytes(1200);
    f.packets.push_back(p);  // receive_time PlusInfinity: lost
  }
  return f;
}

}  // namespace

TEST_CASE("NetworkController transport-cc: GCC with probing, ticks, REMB ignored") {
  auto c = make(NetworkControllerMode::kTransportCc);
  CHECK(c->mode() == NetworkControllerMode::kTransportCc);
  REQUIRE(c->process_interval().has_value());
  CHECK(*c->process_interval() == TimeDelta::Millis(25));
  const Timestamp t0 = Timestamp::Seconds(1);
  NetworkControlUpdate u = c->on_network_availability(true, t0);
  REQUIRE(u.target_rate.has_value());
  CHECK(u.target_rate->target_rate == DataRate::KilobitsPerSec(800));
  REQUIRE(u.pacer_config.has_value());
  CHECK(u.pacer_config->data_rate == DataRate::KilobitsPerSec(2000));
  CHECK(!u.probe_cluster_configs.empty());  // start probes
  CHECK(c->on_remote_bitrate_report(DataRate::KilobitsPerSec(100), t0).empty());
}

TEST_CASE("NetworkController remb: REMB caps the target, transport feedback ignored, no probes") {
  auto c = make(NetworkControllerMode::kRemb);
  const Timestamp t0 = Timestamp::Seconds(1);
  NetworkControlUpdate u = c->on_network_availability(true, t0);
  CHECK(u.probe_cluster_configs.empty());
  CHECK(c->on_transport_feedback(all_lost(t0, 50)).empty());
  u = c->on_remote_bitrate_report(DataRate::KilobitsPerSec(200), t0 + TimeDelta::Millis(10));
  REQUIRE(u.target_rate.has_value());
  CHECK(u.target_rate->target_rate <= DataRate::KilobitsPerSec(200));
}

TEST_CASE("NetworkController fixed: one target and pacing rate at the start, then nothing") {
  auto c = make(NetworkControllerMode::kFixed);
  CHECK(!c->process_interval().has_value());
  const Timestamp t0 = Timestamp::Seconds(1);
  NetworkControlUpdate u = c->on_network_availability(true, t0);
  REQUIRE(u.target_rate.has_value());
  CHECK(u.target_rate->target_rate == DataRate::KilobitsPerSec(600));
  REQUIRE(u.pacer_config.has_value());
  CHECK(u.pacer_config->data_rate == DataRate::KilobitsPerSec(1500));
  CHECK(u.pacer_config->padding_rate == DataRate::Zero());
  CHECK(c->on_network_availability(true, t0).empty());  // said once
  CHECK(c->on_process_interval(t0).empty());
  CHECK(c->on_remote_bitrate_report(DataRate::KilobitsPerSec(100), t0).empty());
  CHECK(c->on_transport_feedback(all_lost(t0, 50)).empty());
  CHECK(c->on_loss_report(LossReport::FromFractionLost(128, 100, t0)).empty());
  CHECK(c->on_rtt(TimeDelta::Millis(300), t0).empty());

  NetworkControllerConfig bad;
  bad.mode = NetworkControllerMode::kFixed;
  bad.fixed_rate = DataRate::Zero();
  CHECK(!CreateNetworkController(bad).ok());
}

TEST_CASE("NetworkController none: never asks for anything") {
  auto c = make(NetworkControllerMode::kNone);
  const Timestamp t0 = Timestamp::Seconds(1);
  CHECK(!c->process_interval().has_value());
  CHECK(c->on_network_availability(true, t0).empty());
  SentPacketInfo sent;
  sent.send_time = t0;
  sent.size = DataSize::Bytes(1000);
  CHECK(c->on_sent_packet(sent).empty());
  CHECK(c->on_transport_feedback(all_lost(t0, 10)).empty());
  CHECK(c->on_loss_report(LossReport::FromFractionLost(255, 100, t0)).empty());
}

TEST_CASE("NetworkController GCC modes reject what GCC rejects") {
  NetworkControllerConfig c;
  c.min_rate = DataRate::KilobitsPerSec(500);
  c.max_rate = DataRate::KilobitsPerSec(100);
  CHECK(!CreateNetworkController(c).ok());
  c.mode = NetworkControllerMode::kRemb;
  CHECK(!CreateNetworkController(c).ok());
}
