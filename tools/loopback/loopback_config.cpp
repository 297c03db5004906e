#include "tern/tools/loopback/loopback_config.h"

#include <cmath>
#include <cstdio>
#include <memory>

#include "tern/netsim/rate_trace.h"
#include "tern/transport/epoll_driver.h"

namespace tern::tools {
namespace {

std::string fmt(const char* format, double a, double b = 0) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), format, a, b);
  return buf;
}

// A synthetic LTE-like capacity trace: 500 ms steps wandering between 1.2 and 6 Mbps with two
// deep fades, fixed (no randomness) so the preset is the same everywhere.
std::string lte_trace_text() {
  static const int kKbps[] = {4000, 5200, 6000, 4800, 3600, 2400, 1200, 1600, 3000, 4400, 5600, 5000, 4200,
                              3400, 2600, 1800, 1200, 2000, 3200, 4600, 5400, 6000, 5200, 4000, 3000, 3800,
                              4800, 5600, 4400, 3200, 2200, 1400, 2200, 3600, 5000, 5800, 4600, 3600, 3000,
                              4000};
  std::string text;
  int t = 0;
  for (int kbps : kKbps) {
    text += std::to_string(t) + " " + std::to_string(kbps) + "\n";
    t += 500;
  }
  return text;
}

Preset make(std::string name, std::string description, LoopbackConfig c) {
  c.preset = name;
  return Preset{std::move(name), std::move(description), std::move(c)};
}

std::vector<Preset> build_presets() {
  std::vector<Preset> out;
  const LoopbackConfig base;
  out.push_back(make("default", "VP8 640x480@30 + Opus, 2 Mbps, 50 ms one-way, 20 ms jitter, 2% loss, NACK + FEC + audio RED",
                     base));

  LoopbackConfig c = base;
  c.audio.reset();
  c.protection.red = false;
  c.link.capacity = DataRate::MegabitsPerSec(1);
  c.link.delay = TimeDelta::Millis(20);
  c.link.jitter = TimeDelta::Zero();
  c.link.loss = 0;
  c.congestion = pipeline::CongestionControlMode::kFixed;
  c.fixed_rate = DataRate::KilobitsPerSec(900);  // headroom for RTP/UDP/IP overhead under the cap
  out.push_back(make("clean-1mbps", "VP8 only over a clean 1 Mbps-capped link, 20 ms, no loss, fixed 900 kbps", c));

  c = base;
  c.link.capacity = DataRate::MegabitsPerSec(20);
  c.link.delay = TimeDelta::Millis(10);
  c.link.jitter = TimeDelta::Millis(2);
  c.link.loss = 0;
  out.push_back(make("broadband", "good broadband: 20 Mbps, 10 ms, 2 ms jitter, no loss", c));

  c = base;
  c.link.capacity = DataRate::MegabitsPerSec(8);
  c.link.delay = TimeDelta::Millis(15);
  c.link.jitter = TimeDelta::Millis(15);
  c.link.loss = 0.04;
  c.link.burst = 3;
  c.protection.fec = true;
  out.push_back(make("wifi-lossy", "lossy wifi: 8 Mbps, 15 ms, 15 ms jitter, 4% loss in bursts of 3, NACK+FEC", c));

  c = base;
  c.width = 320;
  c.height = 240;
  c.start_rate = DataRate::KilobitsPerSec(300);
  c.link.capacity = DataRate::KilobitsPerSec(750);
  c.link.delay = TimeDelta::Millis(100);
  c.link.jitter = TimeDelta::Millis(30);
  c.link.loss = 0.01;
  c.link.queue = TimeDelta::Millis(500);
  out.push_back(make("3g", "3G: 750 kbps, 100 ms, 30 ms jitter, 1% loss, deep queue, 320x240", c));

  c = base;
  c.link.rate_trace = lte_trace_text();
  c.link.trace_name = "lte (built in, 1.2-6 Mbps, 500 ms steps)";
  c.link.delay = TimeDelta::Millis(40);
  c.link.jitter = TimeDelta::Millis(10);
  c.link.loss = 0.005;
  out.push_back(make("lte-trace", "LTE capacity trace 1.2-6 Mbps (built in), 40 ms, 10 ms jitter, 0.5% loss", c));

  c = base;
  c.topology = Topology::kRelay;
  c.link.capacity = DataRate::KilobitsPerSec(1200);
  c.link.delay = TimeDelta::Millis(30);
  c.link.jitter = TimeDelta::Millis(10);
  c.link.loss = 0.01;
  c.link.queue = TimeDelta::Millis(200);
  out.push_back(make("office-relay", "congested office via a TURN relay (relay-only ICE): 1.2 Mbps uplink, 30 ms, 1% loss", c));

  // The congestion-control scenarios (congestion/README.md, RFC 8867).
  c = base;
  c.link.rate_trace = "0 1000\n8000 2500\n12000 600\n16000 1000\n";
  c.link.trace_name = "RFC 8867 5.1 steps (1 / 2.5 / 0.6 / 1 Mbps)";
  c.link.delay = TimeDelta::Millis(50);
  c.link.jitter = TimeDelta::Zero();
  c.link.loss = 0;
  out.push_back(make("cc-steps", "RFC 8867 5.1 variable capacity: 1 -> 2.5 -> 0.6 -> 1 Mbps at 8/12/16 s", c));

  c = base;
  c.link.capacity = DataRate::MegabitsPerSec(2);
  c.link.delay = TimeDelta::Millis(50);
  c.link.jitter = TimeDelta::Zero();
  c.link.loss = 0.05;
  out.push_back(make("cc-random-loss", "2 Mbps with 5% random loss: loss-based control must not collapse", c));

  c = base;
  c.link.capacity = DataRate::MegabitsPerSec(2);
  c.link.jitter = TimeDelta::Zero();
  c.link.loss = 0;
  c.link.return_blackout_start = TimeDelta::Seconds(8);
  c.link.return_blackout_end = TimeDelta::Seconds(11);
  out.push_back(make("cc-feedback-blackout", "2 Mbps, feedback path dead from 8 s to 11 s", c));

  c = base;
  c.link.capacity = DataRate::KilobitsPerSec(500);
  c.link.delay = TimeDelta::Millis(25);
  c.link.jitter = TimeDelta::Zero();
  c.link.loss = 0;
  c.link.queue = TimeDelta::Millis(1000);
  out.push_back(make("cc-bottleneck", "500 kbps bottleneck with a 1 s queue: delay must stay low", c));

  // The congestion-control issue's scenarios as issued (tests/tools/cc_presets_test.cpp asserts
  // their targets through the whole pipeline; tests/congestion/netsim_scenario_test.cpp the same
  // with an ideal source). No jitter, no random loss unless named.
  LoopbackConfig issued = base;
  issued.link.jitter = TimeDelta::Zero();
  issued.link.loss = 0;
  issued.protection.fec = false;  // as issued: NACK + audio RED, the default of the time
  c = issued;
  c.duration = TimeDelta::Seconds(95);
  c.link.rate_trace = "0 500\n25000 800\n45000 100\n";
  c.link.trace_name = "steps 500 / 800 / 100 kbps at 0 / 25 / 45 s";
  c.link.delay = TimeDelta::Millis(100);
  c.link.delay_steps = {{TimeDelta::Seconds(45), TimeDelta::Millis(200)}};
  c.link.queue = TimeDelta::Seconds(10);
  out.push_back(make("cc-issue-steps",
                     "capacity 500 -> 800 -> 100 kbps at 25 / 45 s, 100 ms one-way then 200 ms in the last phase, 95 s", c));

  c = issued;
  c.duration = TimeDelta::Seconds(100);
  c.link.rate_trace = "0 1000\n40000 2500\n60000 600\n80000 1000\n";
  c.link.trace_name = "RFC 8867 5.1 (1 / 2.5 / 0.6 / 1 Mbps at 0 / 40 / 60 / 80 s)";
  c.link.delay = TimeDelta::Millis(50);
  c.link.queue = TimeDelta::Millis(300);
  out.push_back(make("cc-rfc8867", "RFC 8867 5.1 as issued: 1 / 2.5 / 0.6 / 1 Mbps at 0 / 40 / 60 / 80 s, 50 ms, 300 ms queue, 100 s", c));

  c = issued;
  c.duration = TimeDelta::Seconds(120);
  c.link.capacity = DataRate::MegabitsPerSec(2);
  c.link.delay = TimeDelta::Millis(200);
  c.link.loss = 0.10;
  out.push_back(make("cc-loss-10", "2 Mbps, 200 ms one-way, 10% random loss, 120 s: keep sending", c));

  c = issued;
  c.duration = TimeDelta::Seconds(60);
  c.link.capacity = DataRate::MegabitsPerSec(2);
  c.link.delay = TimeDelta::Millis(10);
  c.link.loss = 0.20;
  out.push_back(make("cc-loss-20", "2 Mbps, 10 ms one-way, 20% random loss, 60 s: no oscillation", c));

  c = issued;
  c.duration = TimeDelta::Seconds(50);
  c.link.capacity = DataRate::MegabitsPerSec(1);
  c.link.delay = TimeDelta::Millis(100);
  c.link.return_blackout_start = TimeDelta::Seconds(20);
  c.link.return_blackout_end = TimeDelta::Seconds(30);
  out.push_back(make("cc-blackout-10s", "1 Mbps, 100 ms, feedback path dead 20-30 s, 50 s: collapse, then recover", c));

  c = issued;
  c.duration = TimeDelta::Seconds(90);
  c.flows = 2;
  c.link.capacity = DataRate::MegabitsPerSec(2);
  c.link.delay = TimeDelta::Millis(50);
  c.link.queue = TimeDelta::Millis(300);
  out.push_back(make("cc-two-flows", "two calls share 2 Mbps, 50 ms, 300 ms queue, 90 s: fair and together using the link", c));

  c = issued;
  c.duration = TimeDelta::Seconds(60);
  c.link.capacity = DataRate::MegabitsPerSec(1);
  c.link.delay = TimeDelta::Millis(25);
  c.link.queue = TimeDelta::Millis(10);
  out.push_back(make("cc-policer", "policer: 1 Mbps with a 10 ms queue, 25 ms, 60 s: loss < 3% after convergence", c));
  return out;
}

}  // namespace

const char* topology_name(Topology t) {
  switch (t) {
    case Topology::kDirect: return "direct";
    case Topology::kRelay: return "relay";
    case Topology::kMediaServer: return "sfu";
  }
  return "?";
}

std::string LoopbackConfig::validate() const {
  if (!video && !audio)
    return "--video none and --audio none: nothing to send";
  if (width < 64 || width > 1920 || width % 2 != 0 || height < 48 || height > 1088 || height % 2 != 0)
    return "--resolution " + std::to_string(width) + "x" + std::to_string(height) +
           ": width must be even in 64..1920, height even in 48..1088";
  if (!(fps >= 1.0 && fps <= 60.0)) return fmt("--fps %g: must be in 1..60", fps);
  if (!duration.is_finite() || duration < TimeDelta::Millis(500) || duration > TimeDelta::Seconds(3600))
    return fmt("--duration %g s: must be in 0.5..3600 s", duration.seconds_f());
  if ((nat_a || nat_b) && topology == Topology::kMediaServer)
    return "--nat with --topology sfu: the media server topology has no NATs (direct or relay)";
  if (!link.has_trace() && !link.capacity.is_plus_infinity() &&
      (link.capacity < DataRate::KilobitsPerSec(50) || link.capacity > DataRate::MegabitsPerSec(1000)))
    return fmt("--capacity %g kbps: must be in 50..1000000 kbps or 'unlimited'", link.capacity.kbps_f());
  if (!link.delay.is_finite() || link.delay < TimeDelta::Zero() || link.delay > TimeDelta::Seconds(5))
    return fmt("--delay %g ms: must be in 0..5000 ms", link.delay.ms_f());
  if (!link.jitter.is_finite() || link.jitter < TimeDelta::Zero() || link.jitter > TimeDelta::Seconds(1))
    return fmt("--jitter %g ms: must be in 0..1000 ms", link.jitter.ms_f());
  if (!(link.loss >= 0.0 && link.loss <= 0.5)) return fmt("--loss %g%%: must be in 0..50 %%", link.loss * 100);
  if (!(link.burst >= 1.0 && link.burst <= 100.0)) return fmt("--burst %g: must be in 1..100 packets", link.burst);
  if (link.burst > 1.0 && link.loss > 0 && link.loss / (link.burst * (1 - link.loss)) > 1.0)
    return "--loss/--burst: the loss rate is too high for that burst length";
  if (!link.queue.is_finite() || link.queue < TimeDelta::Millis(10) || link.queue > TimeDelta::Seconds(10))
    return fmt("--queue %g ms: must be in 10..10000 ms", link.queue.ms_f());
  if (link.return_blackout_end < link.return_blackout_start) return "return-path blackout ends before it starts";
  if (flows < 1 || flows > 2) return fmt("--flows %d: 1 or 2", flows);
  if (flows == 2 && (topology != Topology::kDirect || nat_a || nat_b || realtime))
    return "--flows 2 needs the direct topology without --nat and without --realtime";
  if (!link.delay_steps.empty()) {
    if (topology != Topology::kDirect || nat_a || nat_b) return "delay steps need the direct topology without --nat";
    if (link.delay_steps.size() > 16) return "at most 16 delay steps";
    for (size_t i = 0; i < link.delay_steps.size(); ++i) {
      const LinkSpec::DelayStep& d = link.delay_steps[i];
      if (d.delay < TimeDelta::Zero() || d.delay > TimeDelta::Seconds(5) || d.at < TimeDelta::Zero() ||
          (i > 0 && d.at < link.delay_steps[i - 1].at))
        return "delay steps must be in time order with delays in 0..5000 ms";
    }
  }
  if (fixed_rate < DataRate::KilobitsPerSec(50) || fixed_rate > DataRate::MegabitsPerSec(50))
    return fmt("--rate %g kbps: must be in 50..50000 kbps", fixed_rate.kbps_f());
  if (start_rate < DataRate::KilobitsPerSec(50) || start_rate > max_rate)
    return fmt("--start-rate %g kbps: must be in 50..max rate (%g kbps)", start_rate.kbps_f(), max_rate.kbps_f());
  if (ssim_every < 0 || ssim_every > 100000) return fmt("--ssim-every %d: must be in 0..100000 (0 = no SSIM)", ssim_every);
  if (protection.red && !audio) return "--protection red needs --audio opus";
  if (protection.fec && !video) return "--protection fec needs a video codec";
  if (protection.flexfec && !video) return "--protection flexfec needs a video codec";
  if (protection.fec && protection.flexfec) return "--protection: fec (ULPFEC) and flexfec are exclusive";
  if (protection.flexfec && topology == Topology::kMediaServer)
    return "--protection flexfec with --topology sfu: the media server does not forward a FlexFEC stream";
  if (!link.delivery_trace.empty()) {
    size_t line = 0;
    auto t = netsim::DeliveryTrace::Parse(link.delivery_trace, &line);
    if (!t) return "--trace " + link.trace_name + ": line " + std::to_string(line) + ": " + t.error();
  } else if (!link.rate_trace.empty()) {
    size_t line = 0;
    auto t = netsim::RateTrace::Parse(link.rate_trace, &line);
    if (!t) return "--trace " + link.trace_name + ": line " + std::to_string(line) + ": " + t.error();
  }
  return {};
}

namespace {
void shift_ssrcs(pipeline::StreamSsrcs& s) {
  s.audio += 0x2000'0000;
  s.video += 0x2000'0000;
  s.video_rtx += 0x2000'0000;
  s.video_fec += 0x2000'0000;
}
}  // namespace

pipeline::EndpointConfig LoopbackConfig::endpoint_a(int flow) const {
  pipeline::EndpointConfig c;
  c.cname = flow == 0 ? "tern-a" : "tern-a2";
  c.send.video = video;
  c.send.audio = audio;
  c.send.width = width;
  c.send.height = height;
  c.send.fps = fps;
  c.send.protection = protection;
  c.send.source_seed = seed;
  c.send.video_max_rate = max_rate;
  c.send.degradation = degradation;
  c.receive = c.send;
  if (!bidirectional) {
    c.receive.video.reset();
    c.receive.audio.reset();
  }
  c.congestion = congestion;
  c.start_rate = congestion == pipeline::CongestionControlMode::kFixed ? fixed_rate : start_rate;
  c.max_rate = max_rate;
  c.fixed_rate = fixed_rate;
  c.ssim_every = ssim_every;
  c.seed = seed;
  // A real-time call measures encode time for the overuse detector; a simulated one must not (its
  // JSON depends only on the seed).
  if (realtime) c.encode_clock = &transport::EpollDriver::Now;
  if (flow != 0) {
    shift_ssrcs(c.local);
    shift_ssrcs(c.remote);
    c.seed = seed + 100;
    c.send.source_seed = seed + 100;
    c.receive.source_seed = seed + 1100;
  }
  return c;
}

pipeline::EndpointConfig LoopbackConfig::endpoint_b(int flow) const {
  pipeline::EndpointConfig c = endpoint_a(flow).mirrored();
  c.cname = flow == 0 ? "tern-b" : "tern-b2";
  const uint64_t base = flow == 0 ? seed : seed + 100;
  c.seed = base + 1;
  // B's own source differs from A's so that the two directions are not the same picture.
  c.send.source_seed = base + 1000;
  c.receive.source_seed = base;
  return c;
}

Result<netsim::LinkConfig> LoopbackConfig::forward_link() const {
  netsim::LinkConfig l;
  l.capacity = link.capacity;
  if (!link.rate_trace.empty()) {
    auto t = netsim::RateTrace::Parse(link.rate_trace);
    if (!t) return Error{t.error()};
    l.rate_trace = std::make_shared<const netsim::RateTrace>(std::move(t).value());
    l.trace_origin = Timestamp::Zero();
  }
  if (!link.delivery_trace.empty()) {
    auto t = netsim::DeliveryTrace::Parse(link.delivery_trace);
    if (!t) return Error{t.error()};
    l.delivery_trace = std::make_shared<const netsim::DeliveryTrace>(std::move(t).value());
    l.trace_origin = Timestamp::Zero();
  }
  l.queue_packets = 2000;
  l.queue_delay = link.queue;
  l.delay = link.delay;
  if (link.jitter > TimeDelta::Zero()) {
    l.jitter_model = netsim::LinkConfig::Jitter::kUniform;
    l.jitter = link.jitter;
  }
  l.allow_reordering = link.reordering;
  if (link.loss > 0) {
    l.loss = link.burst > 1.0 ? netsim::LossConfig::GilbertElliott(link.loss, link.burst)
                              : netsim::LossConfig::Random(link.loss);
  }
  return l;
}

DataRate LoopbackConfig::mean_capacity() const {
  auto l = forward_link();
  return l ? netsim::mean_capacity(*l, TimeDelta::Zero(), duration) : link.capacity;
}

netsim::LinkConfig LoopbackConfig::return_link() const {
  netsim::LinkConfig l;
  l.capacity = link.capacity.is_plus_infinity() ? link.capacity : std::max(link.capacity, DataRate::MegabitsPerSec(1));
  if (bidirectional) l.capacity = link.capacity;
  l.queue_delay = link.queue;
  l.delay = link.delay;
  if (link.return_blackout_end > link.return_blackout_start) {
    l.blackouts.push_back({Timestamp::Zero() + link.return_blackout_start, Timestamp::Zero() + link.return_blackout_end});
  }
  return l;
}

const std::vector<Preset>& presets() {
  static const std::vector<Preset> kPresets = build_presets();
  return kPresets;
}

const Preset* find_preset(std::string_view name) {
  for (const Preset& p : presets()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

}  // namespace tern::tools
