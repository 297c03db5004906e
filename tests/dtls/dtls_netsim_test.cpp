// DTLS handshakes over netsim links in virtual time: 30% random loss each way, 25 ms one-way
// delay, several seeds. OpenSSL's retransmission timer runs on the event loop's clock
// (ScopedOpenSslVirtualClock), so a handshake that needs a dozen retransmissions takes no real time.
#include <doctest/doctest.h>

#include <functional>
#include <memory>

#include "support/dtls_pair.h"
#include "tern/dtls/openssl_virtual_clock.h"
#include "tern/netsim/event_loop.h"
#include "tern/netsim/network.h"

using namespace tern;
using namespace tern::dtls;

namespace {

// One DtlsTransport on one side of a netsim::Network.
class NetsimDtls : public netsim::PacketSink, public Pollable {
 public:
  NetsimDtls(DtlsTransport& t, std::function<void(netsim::SimPacket, Timestamp)> send) : t_(t), send_(std::move(send)) {}
  void on_packet(netsim::SimPacket p, Timestamp now) override {
    t_.on_datagram(p.data, now);
    flush(now);
  }
  std::optional<Timestamp> next_wakeup() const override { return t_.next_wakeup(); }
  void process(Timestamp now) override {
    t_.process(now);
    flush(now);
  }
  void flush(Timestamp now) {
    while (auto d = t_.pop_outgoing()) {
      netsim::SimPacket p;
      p.data = std::move(*d);
      p.sent_time = now;
      p.overhead = DataSize::Bytes(28);
      send_(std::move(p), now);
    }
  }

 private:
  DtlsTransport& t_;
  std::function<void(netsim::SimPacket, Timestamp)> send_;
};

struct Outcome {
  bool connected = false;
  TimeDelta took;
  uint64_t retransmissions = 0;
};

Outcome Run(uint64_t seed, double loss, bool messy = false) {
  netsim::LinkConfig link;
  link.delay = TimeDelta::Millis(25);
  link.loss = netsim::LossConfig::Random(loss);
  if (messy) {  // duplicates and reordering too
    link.duplication = 0.2;
    link.jitter_model = netsim::LinkConfig::Jitter::kUniform;
    link.jitter = TimeDelta::Millis(20);
    link.allow_reordering = true;
  }
  auto config = netsim::NetworkConfig::Direct(link, link);
  config.seed = seed;
  auto net = netsim::Network::Create(config).value();
  netsim::EventLoop loop(netsim::EventLoopConfig{Timestamp::Seconds(1)});
  ScopedOpenSslVirtualClock clock([&] { return loop.now(); });
  auto configs = tern::test::PairConfigs();
  auto client = DtlsTransport::Create(configs.first).value();
  auto server = DtlsTransport::Create(configs.second).value();
  NetsimDtls a(*client, [&](netsim::SimPacket p, Timestamp now) { net->send_from_a(std::move(p), now); });
  NetsimDtls b(*server, [&](netsim::SimPacket p, Timestamp now) { net->send_from_b(std::move(p), now); });
  net->set_sink_a(&a);
  net->set_sink_b(&b);
  net->attach(loop);
  loop.add_pollable(&a);
  loop.add_pollable(&b);
  const Timestamp start = loop.now();
  client->start(start);
  server->start(start);
  a.flush(start);
  for (int i = 0; i < 600; ++i) {  // 60 s of virtual time at most
    if (client->state() == DtlsState::kConnected && server->state() == DtlsState::kConnected) break;
    if (client->state() == DtlsState::kFailed || server->state() == DtlsState::kFailed) break;
    REQUIRE(loop.run_for(TimeDelta::Millis(100)).ok());
  }
  Outcome o;
  o.connected = client->state() == DtlsState::kConnected && server->state() == DtlsState::kConnected;
  if (o.connected) o.took = std::max(*client->connected_at(), *server->connected_at()) - start;
  o.retransmissions = client->counters().retransmissions + server->counters().retransmissions;
  loop.remove_pollable(&a);
  loop.remove_pollable(&b);
  net->detach(loop);
  return o;
}

}  // namespace

TEST_CASE("DtlsTransport over netsim: the handshake completes under 30% loss each way, within 15 s of virtual time") {
  const Outcome clean = Run(1, 0.0);
  REQUIRE(clean.connected);
  CHECK(clean.took == TimeDelta::Millis(100));  // two round trips of 50 ms
  CHECK(clean.retransmissions == 0);
  TimeDelta worst = TimeDelta::Zero();
  uint64_t retransmissions = 0;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    const Outcome o = Run(seed, 0.3);
    CHECK_MESSAGE(o.connected, "seed " << seed);
    CHECK_MESSAGE(o.took <= TimeDelta::Seconds(15), "seed " << seed << " took " << o.took.ms() << " ms");
    worst = std::max(worst, o.took);
    retransmissions += o.retransmissions;
  }
  CHECK(retransmissions > 0);  // the loss really hit the handshake
  MESSAGE("30% loss, 12 seeds: slowest handshake " << worst.ms() << " ms virtual, " << retransmissions << " retransmissions in all");
}

TEST_CASE("DtlsTransport over netsim: duplicated and reordered datagrams with 10% loss do not stop the handshake") {
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    const Outcome o = Run(seed, 0.1, true);
    CHECK_MESSAGE(o.connected, "seed " << seed);
    CHECK_MESSAGE(o.took <= TimeDelta::Seconds(10), "seed " << seed << " took " << o.took.ms() << " ms");
  }
}
