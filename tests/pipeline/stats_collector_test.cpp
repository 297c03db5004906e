// StatsCollector: the webrtc-stats mapping reads the stages it is given and nothing else.
#include "tern/pipeline/stats_collector.h"

#include <doctest/doctest.h>

#include <memory>
#include <vector>

namespace tern::pipeline {
namespace {

struct NullSink : DatagramSink {
  void on_datagram(std::vector<uint8_t>, Timestamp) override {}
};

}  // namespace

TEST_CASE("StatsCollector: a transport with no streams gives transport and candidate-pair only") {
  EndpointConfig config;
  rtp::ExtensionMap ext;
  NullSink sink;
  SendTransport::Config tc;
  tc.controller.mode = congestion::NetworkControllerMode::kFixed;
  tc.controller.fixed_rate = DataRate::KilobitsPerSec(700);
  auto transport = SendTransport::Create(tc, ext, &sink, nullptr);
  REQUIRE(transport.ok());
  auto statistics = rtp::ReceiveStatistics::Create({});
  REQUIRE(statistics.ok());
  AvSync sync;
  rtp::RttEstimator rtt;
  TransportCounters received;
  received.packets_received = 7;
  received.bytes_received = 700;

  StatsCollector::Sources s;
  s.config = &config;
  s.statistics = &statistics.value();
  s.send_transport = transport.value().get();
  s.sync = &sync;
  s.rtt = &rtt;
  s.received = &received;
  const StatsCollector collector(s);

  const Timestamp now = Timestamp::Seconds(3);
  transport.value()->start(now);
  transport.value()->send_rtcp({0x80, 0xC9, 0x00, 0x01, 0, 0, 0, 1}, now);
  rtt.on_rtt(TimeDelta::Millis(40));

  const StatsReport r = collector.collect(now);
  CHECK(r.timestamp_ms == 3000.0);
  CHECK(r.codecs.empty());
  CHECK(r.outbound_rtp.empty());
  CHECK(r.inbound_rtp.empty());
  CHECK(r.remote_inbound_rtp.empty());
  REQUIRE(r.transports.size() == 1);
  CHECK(r.transports[0].packets_sent == 1);
  CHECK(r.transports[0].rtcp_packets_sent == 1);
  CHECK(r.transports[0].bytes_sent == 8);
  CHECK(r.transports[0].packets_received == 7);
  CHECK(r.transports[0].bytes_received == 700);
  REQUIRE(r.candidate_pairs.size() == 1);
  REQUIRE(r.candidate_pairs[0].current_round_trip_time.has_value());
  CHECK(*r.candidate_pairs[0].current_round_trip_time == doctest::Approx(0.04));
  // No send stream: no outgoing estimate to report, whatever the transport's target.
  CHECK(!r.candidate_pairs[0].available_outgoing_bitrate.has_value());
  CHECK(!r.candidate_pairs[0].available_incoming_bitrate.has_value());

  const TransportCounters c = collector.transport_counters();
  CHECK(c.packets_sent == 1);
  CHECK(c.packets_received == 7);
}

}  // namespace tern::pipeline
