// Send-side budget of an Endpoint at a bottleneck: per second, the congestion target against
// what the encoders produced and what left the pacer (payloads, RTP/IP/UDP headers, FEC, RTX,
// padding), how long packets waited in the pacer queue, and the capture-to-render delay at B.
// The sender must not build its own queue: media + overhead stays near the target, and the
// pacer queue delay stays bounded.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "call_fixture.h"
#include "doctest/doctest.h"
#include "tern/netsim/rate_trace.h"

namespace tern::pipeline {
namespace {

using testing::Call;
using testing::link;

struct BudgetRun {
  std::vector<double> queue_delay_ms;  // pacer queue delay sampled every 20 ms after warm-up
  std::vector<double> e2e_ms;          // capture-to-render delay of frames rendered after warm-up
  double mean_target_kbps = 0;         // over the measured seconds
  double mean_sent_kbps = 0;           // media + overhead that left the pacer
  VideoSendCounters video;
  InboundRtpStats received;
};

double kbps(DataSize bytes, TimeDelta over) { return static_cast<double>(bytes.bytes()) * 8.0 / over.ms_f(); }

double percentile(std::vector<double> v, double q) {
  REQUIRE(!v.empty());
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

// 640x480@30 VP8 + Opus with RED from A, audio only back from B, GCC with transport-cc.
EndpointConfig budget_config() {
  EndpointConfig c;
  c.start_rate = DataRate::KilobitsPerSec(1000);
  c.send.protection.red = true;
  c.receive = c.send;
  return c;
}

// Runs A -> B over `bottleneck`; prints the per-second budget; measures after `warm_up`.
BudgetRun run_budget(const char* name, netsim::LinkConfig bottleneck, TimeDelta duration, TimeDelta warm_up) {
  EndpointConfig ca = budget_config();
  EndpointConfig cb = ca.mirrored();
  cb.send.video.reset();
  ca.receive.video.reset();
  auto call = Call::Make(ca, cb,
                         netsim::NetworkConfig::Direct(bottleneck, link(DataRate::MegabitsPerSec(5), TimeDelta::Millis(25))));
  const bool trace = std::getenv("TERN_BUDGET_TRACE") != nullptr;
  BudgetRun run;
  const TimeDelta step = TimeDelta::Millis(20);
  const TimeDelta second = TimeDelta::Seconds(1);
  const auto steps = static_cast<int64_t>(duration / step);
  const auto steps_per_second = static_cast<int64_t>(second / step);
  Endpoint::SendBudget last = call->a->send_budget();
  int64_t last_encoded = 0;
  size_t rendered = 0;
  double target_sum = 0, sent_sum = 0;
  int measured = 0;
  double second_target = 0, second_queue_max = 0, second_e2e_max = 0;
  std::printf("%s:  t target   enc audio video  hdr  fec  rtx  pad |  sent queue_max e2e_max (kbps, ms)\n", name);
  for (int64_t i = 1; i <= steps; ++i) {
    call->run(step);
    const Timestamp now = call->now();
    const bool measuring = now - Timestamp::Zero() > warm_up;
    const double q = call->a->pacer_queue_delay(now).ms_f();
    second_target += call->a->target_rate().kbps_f();
    second_queue_max = std::max(second_queue_max, q);
    if (measuring) run.queue_delay_ms.push_back(q);
    for (; rendered < call->render_b.frames.size(); ++rendered) {
      const RenderedVideoFrame& f = call->render_b.frames[rendered];
      if (!f.capture_time) continue;
      const double e2e = (f.render_time - *f.capture_time).ms_f();
      second_e2e_max = std::max(second_e2e_max, e2e);
      if (measuring) run.e2e_ms.push_back(e2e);
    }
    if (i % steps_per_second != 0) continue;
    const Endpoint::SendBudget& b = call->a->send_budget();
    const int64_t encoded = call->a->video_send_stream()->counters().total_encoded_bytes;
    const double target = second_target / static_cast<double>(steps_per_second);
    const double sent = kbps(b.total() - last.total(), second);
    if (trace || measuring) {
      std::printf("%s: %2lld %6.0f %5.0f %5.0f %5.0f %4.0f %4.0f %4.0f %4.0f | %5.0f %9.0f %7.0f\n", name,
                  static_cast<long long>(now.ms() / 1000), target, kbps(DataSize::Bytes(encoded - last_encoded), second),
                  kbps(b.audio - last.audio, second), kbps(b.video - last.video, second),
                  kbps(b.headers - last.headers, second), kbps(b.fec - last.fec, second),
                  kbps(b.retransmission - last.retransmission, second), kbps(b.padding - last.padding, second), sent,
                  second_queue_max, second_e2e_max);
    }
    if (measuring) {
      target_sum += target;
      sent_sum += sent;
      ++measured;
    }
    last = b;
    last_encoded = encoded;
    second_target = second_queue_max = second_e2e_max = 0;
  }
  REQUIRE(measured > 0);
  run.mean_target_kbps = target_sum / measured;
  run.mean_sent_kbps = sent_sum / measured;
  run.video = call->a->video_send_stream()->counters();
  // The budget accounts for every RTP datagram A sent, each with its IP/UDP overhead.
  const Endpoint::SendBudget& b = call->a->send_budget();
  const Endpoint::TransportCounters& tc = call->a->transport_counters();
  CHECK(static_cast<uint64_t>(b.packets) == tc.packets_sent - tc.rtcp_packets_sent);
  CHECK(b.total().bytes() - b.packets * Endpoint::kTransportOverheadBytes <= static_cast<int64_t>(tc.bytes_sent));
  CHECK(b.max_queue_delay >= b.total_queue_delay / std::max<int64_t>(b.packets, 1));
  const StatsReport rb = call->b->stats(call->now());
  REQUIRE(rb.inbound("video") != nullptr);
  run.received = *rb.inbound("video");
  std::printf("%s: frames captured %lld encoded %lld keyframes %lld, dropped by libvpx %lld by rate %lld by pacer %lld;"
              " rendered %u freezes %u\n",
              name, static_cast<long long>(run.video.frames_captured), static_cast<long long>(run.video.frames_encoded),
              static_cast<long long>(run.video.key_frames_encoded), static_cast<long long>(run.video.frames_dropped_by_encoder),
              static_cast<long long>(run.video.frames_dropped_by_rate), static_cast<long long>(run.video.frames_dropped_by_pacer),
              run.received.frames_rendered.value_or(0), run.received.freeze_count.value_or(0));
  std::printf("%s: mean target %.0f kbps, sent %.0f kbps; pacer queue p95 %.0f ms; e2e p50 %.0f ms p95 %.0f ms\n", name,
              run.mean_target_kbps, run.mean_sent_kbps, percentile(run.queue_delay_ms, 0.95),
              percentile(run.e2e_ms, 0.5), percentile(run.e2e_ms, 0.95));
  return run;
}

TEST_CASE("pipeline send budget stays within the target at a 500 kbps bottleneck") {
  netsim::LinkConfig bottleneck = link(DataRate::KilobitsPerSec(500), TimeDelta::Millis(25));
  bottleneck.queue_delay = TimeDelta::Millis(1000);
  const BudgetRun r = run_budget("bottleneck", bottleneck, TimeDelta::Seconds(20), TimeDelta::Seconds(5));
  CHECK(percentile(r.queue_delay_ms, 0.95) < 150);
  // Media + headers + redundancy within ~10% of the target (and the budget is used).
  CHECK(r.mean_sent_kbps < r.mean_target_kbps * 1.10);
  CHECK(r.mean_sent_kbps > r.mean_target_kbps * 0.6);
  // The sender adds no queue of its own: capture to render stays near the path's delay.
  CHECK(percentile(r.e2e_ms, 0.95) < 300);
  CHECK(r.received.frames_rendered.value_or(0) > 250);
}

TEST_CASE("pipeline send budget follows a capacity drop without a standing queue") {
  auto trace = netsim::RateTrace::Parse("0 1000\n3000 2500\n6000 600\n");
  REQUIRE(trace.ok());
  netsim::LinkConfig bottleneck = link(DataRate::KilobitsPerSec(1000), TimeDelta::Millis(50));
  bottleneck.queue_delay = TimeDelta::Millis(300);
  bottleneck.rate_trace = std::make_shared<const netsim::RateTrace>(std::move(trace).value());
  // Measured from 3 s after the drop: adaptation done.
  const BudgetRun r = run_budget("step", bottleneck, TimeDelta::Seconds(16), TimeDelta::Seconds(9));
  CHECK(percentile(r.queue_delay_ms, 0.95) < 150);
  CHECK(r.mean_sent_kbps < r.mean_target_kbps * 1.10);
  CHECK(percentile(r.e2e_ms, 0.95) < 400);
}

}  // namespace
}  // namespace tern::pipeline
