// The TURN server core as a host on netsim's addressed Internet (icesim/hosts.h):
// two TurnClients behind symmetric NATs, which cannot reach each other directly, exchange
// ChannelData both ways through it; the same listening port answers STUN Binding with the NAT's
// mapping.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tern/icesim/hosts.h"
#include "tern/netsim/event_loop.h"

using namespace tern;
using namespace tern::icesim;
using namespace tern::unit_literals;

namespace {

IpAddress ip(const char* t) { return IpAddress::Parse(t).value(); }

netsim::AccessLinks delay(TimeDelta d) {
  netsim::AccessLinks l;
  l.up.delay = d;
  l.down.delay = d;
  return l;
}

ice::TurnServerConfig server_config() {
  ice::TurnServerConfig c;
  c.realm = "netsim";
  c.users = {{"a", "pa"}, {"b", "pb"}};
  c.nonce_secret = 7;
  return c;
}

struct World {
  World() : net(3) {
    loop.add_pollable(&net);
    server_host = net.add_host(netsim::kPublicRealm, {ip("198.51.100.50")}, delay(5_ms)).value();
    server = TurnServerHost::Create(net, server_host, TransportAddress{ip("198.51.100.50"), 3478}, server_config()).value();
    loop.add_pollable(server.get());
    for (int i = 0; i < 2; ++i) {
      const std::string pub = "203.0.113." + std::to_string(i + 1);
      const std::string priv = "192.168." + std::to_string(i + 1) + ".10";
      const netsim::RealmId realm =
          net.add_nat(netsim::NatConfig::Of(netsim::NatKind::kSymmetric, ip(pub.c_str())), netsim::kPublicRealm,
                      delay(10_ms))
              .value();
      hosts[i] = net.add_host(realm, {ip(priv.c_str())}, delay(2_ms)).value();
      ice::TurnClientConfig cc;
      cc.username = std::string(i == 0 ? "a" : "b");
      cc.password = std::string(i == 0 ? "pa" : "pb");  // not operator=(const char*): GCC 12 -Wrestrict false positive
      cc.seed = 11 + static_cast<uint64_t>(i);
      clients[i] = TurnClientHost::Create(net, hosts[i], TransportAddress{ip(priv.c_str()), 5000}, server->listen_address(), cc)
                       .value();
      loop.add_pollable(clients[i].get());
    }
  }
  void run(TimeDelta d) { REQUIRE(loop.run_for(d).ok()); }

  netsim::Internet net;
  netsim::EventLoop loop;
  netsim::HostId server_host = 0;
  netsim::HostId hosts[2] = {0, 0};
  std::unique_ptr<TurnServerHost> server;
  std::unique_ptr<TurnClientHost> clients[2];
};

TEST_CASE("Two hosts behind symmetric NATs exchange ChannelData both ways through the simulated TURN server") {
  World w;
  for (auto& c : w.clients) {
    c->client.allocate(w.loop.now());
    c->flush(w.loop.now());
  }
  w.run(1_s);
  REQUIRE(w.clients[0]->client.state() == ice::TurnState::kAllocated);
  REQUIRE(w.clients[1]->client.state() == ice::TurnState::kAllocated);
  const ice::TransportAddress relayed[2] = {*w.clients[0]->client.relayed_address(),
                                            *w.clients[1]->client.relayed_address()};
  // The server saw each client through its NAT's public address.
  CHECK(from_ice(*w.clients[0]->client.mapped_address()).ip == ip("203.0.113.1"));
  CHECK(from_ice(*w.clients[1]->client.mapped_address()).ip == ip("203.0.113.2"));
  CHECK(w.server->relay_ports() == 2);

  for (int i = 0; i < 2; ++i) {
    REQUIRE(w.clients[i]->client.bind_channel(relayed[1 - i], w.loop.now()).ok());
    w.clients[i]->flush(w.loop.now());
  }
  w.run(1_s);
  REQUIRE(w.clients[0]->client.channel_for(relayed[1]).has_value());
  REQUIRE(w.clients[1]->client.channel_for(relayed[0]).has_value());

  constexpr int kPackets = 50;
  for (int n = 0; n < kPackets; ++n) {
    for (int i = 0; i < 2; ++i) {
      const std::vector<uint8_t> payload{static_cast<uint8_t>(i), static_cast<uint8_t>(n), 0xAB};
      REQUIRE(w.clients[i]->client.send(relayed[1 - i], payload).ok());
      w.clients[i]->flush(w.loop.now());
    }
    w.run(20_ms);
  }
  w.run(1_s);
  for (int i = 0; i < 2; ++i) {
    int got = 0;
    while (auto r = w.clients[i]->client.pop_received()) {
      CHECK(r->via_channel);
      CHECK(r->peer == relayed[1 - i]);
      REQUIRE(r->data.size() == 3);
      CHECK(r->data[0] == 1 - i);
      CHECK(r->data[1] == got);
      ++got;
    }
    CHECK(got == kPackets);
    CHECK(w.clients[i]->client.counters().channel_data_sent == kPackets);
  }
  CHECK(w.server->server().counters().relayed_to_peer == 2 * kPackets);
  CHECK(w.server->server().counters().relayed_to_client == 2 * kPackets);
  CHECK(w.server->server().counters().peer_no_permission == 0);

  // Both deallocate: the relay ports are released.
  for (auto& c : w.clients) {
    c->client.deallocate(w.loop.now());
    c->flush(w.loop.now());
  }
  w.run(1_s);
  CHECK(w.server->relay_ports() == 0);
  CHECK(w.server->server().allocation_count() == 0);
}

TEST_CASE("The TURN server's listening port is also a STUN server: Binding returns the NAT mapping") {
  World w;
  ice::TransactionId tid{};
  tid.bytes[0] = 1;
  ice::StunMessageBuilder b(ice::StunClass::kRequest, ice::StunMethod::kBinding, tid);
  std::vector<uint8_t> reply;
  struct Catch : netsim::DatagramReceiver {
    std::vector<uint8_t>* out;
    void on_datagram(netsim::HostId, netsim::Datagram d, Timestamp) override { *out = std::move(d.data); }
  } catcher;
  catcher.out = &reply;
  w.net.set_receiver(w.hosts[0], &catcher);
  REQUIRE(w.net.send(w.hosts[0], netsim::Datagram{TransportAddress{ip("192.168.1.10"), 5000}, w.server->listen_address(),
                                                  std::move(b).finish().value()},
                     w.loop.now())
              .ok());
  w.run(500_ms);
  auto m = ice::StunMessage::parse(reply);
  REQUIRE(m.ok());
  CHECK(m->is(ice::StunClass::kSuccess, ice::StunMethod::kBinding));
  CHECK(from_ice(*m->xor_mapped_address()).ip == ip("203.0.113.1"));
  CHECK(w.server->server().counters().bindings == 1);
}

}  // namespace
