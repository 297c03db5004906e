// Probing toward subscribers (issue 17) through MediaRouter over netsim, in virtual time: a
// publisher sends VP8 with 3 temporal layers; one subscriber behind a downlink of a given rate
// whose leg estimate starts low. With probing the leg's estimate finds a 3 Mbps link and the
// subscriber climbs to the top layer; without, the estimate only grows with what is forwarded
// (GCC: at most 1.5x the acknowledged rate) and stays below the next layer. On a 300 kbps link
// probing must not push the subscriber into loss or freezes, and padding stays within budget.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "call_fixture.h"
#include "doctest/doctest.h"
#include "tern/pipeline/media_router.h"
#include "tern/pipeline/media_server.h"

namespace tern::pipeline {
namespace {

struct ProbeCallSetup {
  DataRate publisher_rate = DataRate::KilobitsPerSec(2000);
  int width = 640, height = 480;
  DataRate downlink = DataRate::MegabitsPerSec(3);
  TimeDelta queue = TimeDelta::Millis(300);
  DataRate start_rate = DataRate::KilobitsPerSec(300);
  bool probing = true;
  TimeDelta duration = TimeDelta::Seconds(10);
  DataRate leg_budget = DataRate::KilobitsPerSec(300);
};

struct ProbeCallResult {
  std::optional<TimeDelta> top_layer_at;  // first time the subscriber's layer was 2
  int final_layer = -1;
  DataRate estimate;
  MediaRouter::LegCounters sub;
  double fps = 0;
  TimeDelta max_gap;
  uint32_t freezes = 0;
  uint64_t queue_drops = 0, delivered_packets = 0;
  TimeDelta queue_delay_max;
  DataSize max_padding_window = DataSize::Zero();  // most padding in any 1 s sampled window
};

ProbeCallResult RunProbeCall(const ProbeCallSetup& s) {
  netsim::EventLoop loop;
  std::array<testing::ServerHop, 2> hops;  // 0 the publisher, 1 the subscriber
  std::array<testing::RenderLog, 2> render;

  EndpointConfig pub = testing::small_call_config();
  pub.send.width = s.width;
  pub.send.height = s.height;
  pub.send.temporal_layers = 3;
  pub.send.video_max_rate = s.publisher_rate;
  pub.send.degradation = DegradationPreference::kMaintainResolution;
  pub.max_rate = s.publisher_rate + DataRate::KilobitsPerSec(100);
  pub.start_rate = s.publisher_rate;
  pub.send.audio.reset();
  pub.receive.video.reset();
  pub.receive.audio.reset();
  pub.measure_quality = false;
  EndpointConfig sub = pub.mirrored();
  sub.measure_quality = false;

  for (size_t i = 0; i < 2; ++i) {
    netsim::LinkConfig up = testing::link(DataRate::MegabitsPerSec(10), TimeDelta::Millis(20));
    netsim::LinkConfig dn = testing::link(i == 0 ? DataRate::MegabitsPerSec(10) : s.downlink, TimeDelta::Millis(20));
    dn.queue_delay = s.queue;
    netsim::NetworkConfig nc = netsim::NetworkConfig::Direct(up, dn);
    nc.seed = 70 + i;
    EndpointConfig c = i == 0 ? pub : sub;
    c.seed = 200 + i;
    hops[i].make(loop, nc, c);
    hops[i].endpoint->set_video_render_listener(&render[i]);
  }

  const MediaServer::Config sc = MediaServer::Config::ForCall(pub);
  MediaRouter::Config rc;
  rc.extension_ids = sc.extension_ids;
  rc.ntp_clock = sc.ntp_clock;
  rc.keyframe_request_interval = TimeDelta::Millis(300);
  rc.subscriber_start_rate = s.start_rate;
  rc.subscriber_probing = s.probing;
  rc.probe_budget_per_leg = s.leg_budget;
  auto r = MediaRouter::Create(rc);
  REQUIRE(r.ok());
  std::unique_ptr<MediaRouter> router = std::move(r).value();
  std::array<MediaRouter::LegId, 2> legs{};
  std::array<std::unique_ptr<testing::RouterLegPort>, 2> ports;
  std::array<std::unique_ptr<netsim::PollableAdapter<testing::RouterLegPort>>, 2> port_drivers;
  for (size_t i = 0; i < 2; ++i) {
    auto leg = router->add_leg(0x6000'0001 + static_cast<uint32_t>(i), &hops[i].to_server,
                               i == 0 ? sc.from_a : std::vector<MediaRouter::ForwardedStream>{});
    REQUIRE(leg.ok());
    legs[i] = *leg;
    if (i == 1) {
      for (const MediaRouter::ForwardedStream& f : sc.from_a) REQUIRE(router->add_outbound(*leg, f).ok());
    }
    ports[i] = std::make_unique<testing::RouterLegPort>(testing::RouterLegPort{*router, *leg});
    port_drivers[i] = std::make_unique<netsim::PollableAdapter<testing::RouterLegPort>>(*ports[i]);
    hops[i].network->set_sink_b(port_drivers[i].get());
  }
  loop.add_pollable(port_drivers[0].get());

  ProbeCallResult out;
  const Timestamp start = loop.now();
  const TimeDelta step = TimeDelta::Millis(250);
  std::vector<uint64_t> padding_samples;  // cumulative probe bytes, every step
  const int64_t steps = s.duration.us() / step.us();
  for (int64_t k = 0; k < steps; ++k) {
    Status st = loop.run_for(step);
    REQUIRE_MESSAGE(st.ok(), std::string(st.error()));
    const MediaRouter::LegCounters c = router->counters(legs[1]);
    if (c.temporal_layer == 2 && !out.top_layer_at) out.top_layer_at = loop.now() - start;
    padding_samples.push_back(c.probe_bytes);
  }
  for (size_t k = 4; k < padding_samples.size(); ++k) {
    out.max_padding_window =
        max(out.max_padding_window, DataSize::Bytes(static_cast<int64_t>(padding_samples[k] - padding_samples[k - 4])));
  }
  const Timestamp now = loop.now();
  const Timestamp warm = start + TimeDelta::Seconds(3);
  int n = 0;
  Timestamp last = warm;
  for (const RenderedVideoFrame& f : render[1].frames) {
    if (f.render_time < warm) continue;
    ++n;
    out.max_gap = std::max(out.max_gap, f.render_time - last);
    last = f.render_time;
  }
  out.max_gap = std::max(out.max_gap, now - last);
  out.fps = n / (now - warm).seconds_f();
  const StatsReport report = hops[1].endpoint->stats(now);
  const InboundRtpStats* video = report.inbound("video");
  out.freezes = video != nullptr ? video->freeze_count.value_or(0) : 0;
  out.sub = router->counters(legs[1]);
  out.final_layer = out.sub.temporal_layer;
  out.estimate = out.sub.estimate.value_or(DataRate::Zero());
  const netsim::LinkStats& ls = hops[1].network->b_to_a().hop(0).stats();
  out.queue_drops = ls.dropped_queue;
  out.queue_delay_max = ls.queue_delay_max;
  out.delivered_packets = ls.packets_delivered;
  const std::vector<DataRate> rates = router->layer_rates(sc.from_a.front().ssrc, now);
  for (size_t l = 0; l < rates.size(); ++l) std::printf("TL0..%zu %lld kbps  ", l, static_cast<long long>(rates[l].kbps()));
  std::printf(
      "\nprobing %s link %lld kbps: top layer at %lld ms, layer %d est %lld kbps fps %.1f max gap %lld ms freezes %u "
      "queue drops %llu max queue %lld ms | clusters %llu ok %llu failed %llu aborted %llu packets %llu bytes %llu "
      "skipped budget %llu congestion %llu max padding/s %lld B\n",
      s.probing ? "on" : "off", static_cast<long long>(s.downlink.kbps()),
      static_cast<long long>(out.top_layer_at ? out.top_layer_at->ms() : -1), out.final_layer,
      static_cast<long long>(out.estimate.kbps()), out.fps, static_cast<long long>(out.max_gap.ms()), out.freezes,
      static_cast<unsigned long long>(out.queue_drops), static_cast<long long>(out.queue_delay_max.ms()),
      static_cast<unsigned long long>(out.sub.probe_clusters), static_cast<unsigned long long>(out.sub.probe_clusters_succeeded),
      static_cast<unsigned long long>(out.sub.probe_clusters_failed),
      static_cast<unsigned long long>(out.sub.probe_clusters_aborted), static_cast<unsigned long long>(out.sub.probe_packets),
      static_cast<unsigned long long>(out.sub.probe_bytes), static_cast<unsigned long long>(out.sub.probes_skipped_budget),
      static_cast<unsigned long long>(out.sub.probes_skipped_congestion),
      static_cast<long long>(out.max_padding_window.bytes()));
  return out;
}

TEST_CASE("media router probing: a subscriber on 3 Mbps whose estimate starts low reaches the top layer") {
  ProbeCallSetup s;
  const ProbeCallResult on = RunProbeCall(s);
  REQUIRE(on.top_layer_at.has_value());
  CHECK(*on.top_layer_at < TimeDelta::Seconds(6));  // 3.75 s: two clusters, two 2 s layer holds
  CHECK(on.final_layer == 2);
  CHECK(on.sub.probe_clusters >= 1);
  CHECK(on.sub.probe_clusters_succeeded >= 1);
  CHECK(on.sub.probe_packets > 0);
  CHECK(on.queue_drops == 0);

  s.probing = false;
  const ProbeCallResult off = RunProbeCall(s);
  CHECK_FALSE(off.top_layer_at.has_value());
  CHECK(off.final_layer < 2);
  CHECK(off.sub.probe_clusters == 0);
  CHECK(off.sub.probe_bytes == 0);

  // A leg budget smaller than one cluster (40 kbps: a 5 kB bucket; its clusters are 5.3 kB and more):
  // no padding at all, every due cluster counted as held back by the budget.
  s.probing = true;
  s.leg_budget = DataRate::KilobitsPerSec(40);
  s.duration = TimeDelta::Seconds(5);
  const ProbeCallResult poor = RunProbeCall(s);
  CHECK(poor.sub.probe_bytes == 0);
  CHECK(poor.sub.probe_clusters == 0);
  CHECK(poor.sub.probes_skipped_budget > 0);
  CHECK(poor.final_layer == 0);
}

TEST_CASE("media router probing: a 300 kbps subscriber is not pushed into loss or freezes") {
  ProbeCallSetup s;
  s.publisher_rate = DataRate::KilobitsPerSec(700);
  s.width = 320;
  s.height = 240;
  s.downlink = DataRate::KilobitsPerSec(300);
  s.duration = TimeDelta::Seconds(15);
  const ProbeCallResult on = RunProbeCall(s);
  CHECK(on.sub.probe_clusters >= 1);  // it tried
  CHECK(on.final_layer == 0);
  CHECK(on.freezes == 0);
  CHECK(on.max_gap < TimeDelta::Millis(500));
  CHECK(on.fps >= 6.5);
  CHECK(on.queue_drops * 100 <= on.delivered_packets);  // under 1% lost on the link
  // Padding within the leg's budget: its bucket (rate x 1 s window) plus its rate over the window.
  const DataSize bucket = s.leg_budget * TimeDelta::Seconds(1);
  CHECK(on.max_padding_window <= bucket + s.leg_budget * TimeDelta::Seconds(1));
  CHECK(on.sub.probe_bytes <= (bucket + s.leg_budget * s.duration).bytes());
}

}  // namespace
}  // namespace tern::pipeline
