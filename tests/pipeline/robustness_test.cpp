// Seeded robustness: garbage, truncated and mutated datagrams fed to an Endpoint and a MediaServer
// never crash them and leave them working (a clean call afterwards still renders video).
#include <string>
#include <utility>
#include <vector>

#include "call_fixture.h"
#include "doctest/doctest.h"
#include "tern/core/random.h"
#include "tern/pipeline/media_server.h"

namespace tern::pipeline {
namespace {

struct CollectSink : DatagramSink {
  std::vector<std::vector<uint8_t>> packets;  // the first 4000, to mutate
  std::vector<std::vector<uint8_t>> pending;  // everything not yet delivered (the clean call drains it)
  void on_datagram(std::vector<uint8_t> p, Timestamp) override {
    if (packets.size() < 4000) packets.push_back(p);
    if (pending.size() < 100000) pending.push_back(std::move(p));
  }
  std::vector<std::vector<uint8_t>> take() { return std::exchange(pending, {}); }
};

struct CountFrames : VideoRenderListener {
  int frames = 0;
  void on_video_frame_rendered(const RenderedVideoFrame&) override { ++frames; }
};

// Runs A and B for `duration` in 5 ms steps, carrying A's datagrams to B and B's to A through
// `a_to_b` / `b_to_a` (called after each process, never from inside one).
template <typename AToB, typename BToA>
void clean_call(Endpoint& a, Endpoint& b, CollectSink& out_a, CollectSink& out_b, Timestamp& now, TimeDelta duration,
                AToB a_to_b, BToA b_to_a) {
  for (const Timestamp end = now + duration; now < end; now += TimeDelta::Millis(5)) {
    a.process(now);
    for (auto& p : out_a.take()) a_to_b(p, now);
    b.process(now);
    for (auto& p : out_b.take()) b_to_a(p, now);
  }
}

TEST_CASE("pipeline endpoint survives garbage and mutated packets") {
  const uint64_t seed = 20261125;
  INFO("seed " << seed);
  Random rng(seed);
  EndpointConfig ca = testing::small_call_config();
  CollectSink out_a, out_b;
  auto a = Endpoint::Create(ca, &out_a);
  auto b = Endpoint::Create(ca.mirrored(), &out_b);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  // Real traffic from A to mutate.
  Timestamp now = Timestamp::Seconds(1);
  for (int i = 0; i < 200; ++i) {
    (*a)->process(now);
    now += TimeDelta::Millis(5);
  }
  REQUIRE(out_a.packets.size() > 50);
  CollectSink server_to_a, server_to_b;
  auto server = MediaServer::Create(MediaServer::Config::ForCall(ca), &server_to_a, &server_to_b);
  REQUIRE(server.ok());
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> p;
    const int kind = static_cast<int>(rng.uniform_int(0, 2));
    if (kind == 0) {
      p.resize(static_cast<size_t>(rng.uniform_int(0, 1500)));
      for (uint8_t& x : p) x = static_cast<uint8_t>(rng.next_u32());
    } else {
      p = out_a.packets[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(out_a.packets.size()) - 1))];
      if (kind == 1 && !p.empty()) {
        p.resize(static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(p.size()))));
      } else {
        for (int m = 0; m < 4 && !p.empty(); ++m) {
          p[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(p.size()) - 1))] = static_cast<uint8_t>(rng.next_u32());
        }
      }
    }
    (*b)->on_packet(p, now);
    (*server)->on_packet(i % 2 == 0 ? MediaServer::Side::kA : MediaServer::Side::kB, p, now);
    if (i % 10 == 0) {
      now += TimeDelta::Millis(10);
      (*b)->process(now);
      (*server)->process(now);
    }
  }
  // The junk was seen and rejected, not taken as media: most of it is counted as malformed or of an
  // unknown SSRC (mutated copies of real packets may still be valid RTP of A's streams).
  const auto& counters = (*b)->transport_counters();
  const uint64_t rejected = counters.malformed_packets + counters.unknown_ssrc_packets;
  MESSAGE("B rejected " << rejected << " of 3000 datagrams (" << counters.malformed_packets << " malformed, "
                        << counters.unknown_ssrc_packets << " unknown SSRC)");
  CHECK(rejected >= 1000);

  // The promised clean call afterwards, first A <-> B directly: B renders video again.
  CountFrames rendered_b;
  (*b)->set_video_render_listener(&rendered_b);
  (void)out_a.take();
  (void)out_b.take();
  (void)server_to_a.take();
  (void)server_to_b.take();
  clean_call(**a, **b, out_a, out_b, now, TimeDelta::Seconds(4),
             [&](const std::vector<uint8_t>& p, Timestamp t) { (*b)->on_packet(p, t); },
             [&](const std::vector<uint8_t>& p, Timestamp t) { (*a)->on_packet(p, t); });
  MESSAGE("direct clean call after the junk: B rendered " << rendered_b.frames << " frames in 4 s");
  CHECK(rendered_b.frames >= 60);

  // Then through the media server that took the other half of the junk: it still relays a call.
  const int before = rendered_b.frames;
  clean_call(**a, **b, out_a, out_b, now, TimeDelta::Seconds(4),
             [&](const std::vector<uint8_t>& p, Timestamp t) {
               (*server)->on_packet(MediaServer::Side::kA, p, t);
               (*server)->process(t);
               for (auto& q : server_to_b.take()) (*b)->on_packet(q, t);
               for (auto& q : server_to_a.take()) (*a)->on_packet(q, t);
             },
             [&](const std::vector<uint8_t>& p, Timestamp t) {
               (*server)->on_packet(MediaServer::Side::kB, p, t);
               (*server)->process(t);
               for (auto& q : server_to_a.take()) (*a)->on_packet(q, t);
               for (auto& q : server_to_b.take()) (*b)->on_packet(q, t);
             });
  MESSAGE("clean call through the media server: B rendered " << rendered_b.frames - before << " frames in 4 s");
  CHECK(rendered_b.frames - before >= 60);
}

}  // namespace
}  // namespace tern::pipeline
