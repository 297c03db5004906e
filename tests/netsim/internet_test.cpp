#include <doctest/doctest.h>

#include <optional>
#include <vector>

#include "tern/netsim/event_loop.h"
#include "tern/netsim/internet.h"

using namespace tern;
using namespace tern::netsim;
using namespace tern::unit_literals;

namespace {

IpAddress ip(const char* text) { return IpAddress::Parse(text).value(); }
TransportAddress addr(const char* text) { return TransportAddress::Parse(text).value(); }

struct Received {
  HostId host;
  Datagram datagram;
  Timestamp at;
};

// Records what reaches a host; the `echo` host answers every datagram to its source from the
// address it arrived on (what a STUN server does with a Binding request).
struct Probe : DatagramReceiver {
  Internet* net = nullptr;
  std::optional<HostId> echo;
  std::vector<Received> got;
  void on_datagram(HostId host, Datagram d, Timestamp now) override {
    if (echo == host) {
      Datagram reply{d.destination, d.source, d.data};
      CHECK(net->send(host, std::move(reply), now).ok());
    }
    got.push_back(Received{host, std::move(d), now});
  }
};

AccessLinks delay(TimeDelta one_way) {
  AccessLinks l;
  l.up.delay = one_way;
  l.down.delay = one_way;
  return l;
}

struct World {
  Internet net{7};
  EventLoop loop;
  Probe probe;
  World() {
    probe.net = &net;
    loop.add_pollable(&net);
  }
  HostId host(RealmId realm, std::vector<IpAddress> ips, AccessLinks links = {}) {
    const HostId h = net.add_host(realm, ips, links).value();
    net.set_receiver(h, &probe);
    return h;
  }
  TransportAddress bind(HostId h, const char* a) { return net.bind(h, addr(a)).value(); }
  void send(HostId h, const TransportAddress& from, const TransportAddress& to, uint8_t tag = 1) {
    CHECK(net.send(h, Datagram{from, to, {tag}}, loop.now()).ok());
  }
  void run(TimeDelta d) { CHECK(loop.run_for(d).ok()); }
};

}  // namespace

TEST_CASE("Public hosts exchange datagrams through their access links") {
  World w;
  const HostId a = w.host(kPublicRealm, {ip("198.51.100.1")}, delay(10_ms));
  const HostId b = w.host(kPublicRealm, {ip("198.51.100.2")}, delay(15_ms));
  const auto sa = w.bind(a, "198.51.100.1:5000");
  const auto sb = w.bind(b, "198.51.100.2:6000");
  w.send(a, sa, sb, 42);
  w.run(100_ms);
  REQUIRE(w.probe.got.size() == 1);
  CHECK(w.probe.got[0].host == b);
  CHECK(w.probe.got[0].datagram.source == sa);
  CHECK(w.probe.got[0].datagram.destination == sb);
  CHECK(w.probe.got[0].datagram.data == std::vector<uint8_t>{42});
  CHECK(w.probe.got[0].at == Timestamp::Millis(25));  // a's uplink + b's downlink
  CHECK(w.net.uplink(a).stats().bytes_sent == DataSize::Bytes(1 + 28));  // IPv4 + UDP header counted

  // Unbound port and unknown destination are dropped and counted.
  w.send(a, sa, addr("198.51.100.2:6001"));
  w.send(a, sa, addr("198.51.100.9:6000"));
  CHECK(!w.net.send(a, Datagram{addr("198.51.100.1:5001"), sb, {}}, w.loop.now()).ok());  // not bound
  w.run(100_ms);
  CHECK(w.net.stats().dropped_no_listener == 1);
  CHECK(w.net.stats().dropped_unroutable == 1);
}

TEST_CASE("A host behind a NAT learns its reflexive address, unsolicited traffic obeys the filter") {
  for (NatKind kind : {NatKind::kFullCone, NatKind::kAddressRestricted, NatKind::kPortRestricted, NatKind::kSymmetric}) {
    CAPTURE(to_string(kind));
    World w;
    const RealmId lan = w.net.add_nat(NatConfig::Of(kind, ip("203.0.113.1")), kPublicRealm, delay(5_ms)).value();
    const HostId inside = w.host(lan, {ip("192.168.1.10")}, delay(1_ms));
    const HostId server = w.host(kPublicRealm, {ip("198.51.100.1")}, delay(10_ms));
    const HostId other = w.host(kPublicRealm, {ip("198.51.100.2")}, delay(10_ms));
    const auto local = w.bind(inside, "192.168.1.10:5000");
    const auto stun = w.bind(server, "198.51.100.1:3478");
    const auto stun_alt = w.bind(server, "198.51.100.1:3479");
    const auto other_addr = w.bind(other, "198.51.100.2:3478");

    w.probe.echo = server;
    w.send(inside, local, stun);
    w.run(100_ms);
    w.probe.echo.reset();
    REQUIRE(w.probe.got.size() == 2);  // request at the server, answer back inside
    const TransportAddress reflexive = w.probe.got[0].datagram.source;
    CHECK(reflexive.ip == ip("203.0.113.1"));
    CHECK(w.probe.got[1].host == inside);
    CHECK(w.probe.got[1].datagram.source == stun);
    CHECK(w.probe.got[1].datagram.destination == local);
    CHECK(w.probe.got[1].at == Timestamp::Millis(2 * (1 + 5 + 10)));

    // Unsolicited datagrams to the reflexive address from the server's other port and another host.
    w.send(server, stun_alt, reflexive, 2);
    w.send(other, other_addr, reflexive, 3);
    w.run(100_ms);
    size_t passed_alt = 0, passed_other = 0;
    for (const auto& r : w.probe.got) {
      passed_alt += r.host == inside && r.datagram.data[0] == 2;
      passed_other += r.host == inside && r.datagram.data[0] == 3;
    }
    CHECK(passed_alt == (kind == NatKind::kFullCone || kind == NatKind::kAddressRestricted ? 1u : 0u));
    CHECK(passed_other == (kind == NatKind::kFullCone ? 1u : 0u));
    CHECK(w.net.stats().dropped_at_nat == 2 - passed_alt - passed_other);
  }
}

TEST_CASE("Hosts on one LAN talk directly, hairpinning is off by default") {
  for (bool hairpin : {false, true}) {
    CAPTURE(hairpin);
    World w;
    NatConfig c = NatConfig::Of(NatKind::kFullCone, ip("203.0.113.1"));
    c.hairpinning = hairpin;
    const RealmId lan = w.net.add_nat(c).value();
    const HostId a = w.host(lan, {ip("192.168.1.10")});
    const HostId b = w.host(lan, {ip("192.168.1.11")});
    const HostId server = w.host(kPublicRealm, {ip("198.51.100.1")});
    const auto sa = w.bind(a, "192.168.1.10:5000");
    const auto sb = w.bind(b, "192.168.1.11:5000");
    const auto stun = w.bind(server, "198.51.100.1:3478");
    w.send(a, sa, sb, 1);  // private to private: no NAT involved
    w.send(b, sb, stun, 2);  // gives b a mapping
    w.run(10_ms);
    REQUIRE(w.probe.got.size() == 2);
    CHECK(w.probe.got[0].datagram.source == sa);
    const TransportAddress b_public = w.probe.got[1].datagram.source;
    w.send(a, sa, b_public, 3);  // a to b's public address: a hairpin
    w.run(10_ms);
    if (hairpin) {
      REQUIRE(w.probe.got.size() == 3);
      CHECK(w.probe.got[2].host == b);
      CHECK(w.probe.got[2].datagram.source.ip == ip("203.0.113.1"));  // external source (REQ-9)
      CHECK(w.net.stats().hairpinned == 1);
    } else {
      CHECK(w.probe.got.size() == 2);
      CHECK(w.net.stats().dropped_hairpin == 1);
    }
  }
}

TEST_CASE("IPv6 routes inside a realm but not across a NAT44 box") {
  World w;
  const RealmId lan = w.net.add_nat(NatConfig::Of(NatKind::kFullCone, ip("203.0.113.1"))).value();
  const HostId a = w.host(kPublicRealm, {ip("198.51.100.1"), ip("2001:db8::1")});
  const HostId b = w.host(kPublicRealm, {ip("2001:db8::2")});
  const HostId c = w.host(lan, {ip("192.168.1.10"), ip("fd00::10")});
  const auto a6 = w.bind(a, "[2001:db8::1]:5000");
  const auto b6 = w.bind(b, "[2001:db8::2]:5000");
  const auto c6 = w.bind(c, "[fd00::10]:5000");
  w.send(a, a6, b6);
  w.send(c, c6, a6);
  CHECK(!w.net.send(a, Datagram{a6, addr("198.51.100.2:1"), {}}, w.loop.now()).ok());  // family mismatch
  w.run(10_ms);
  REQUIRE(w.probe.got.size() == 1);
  CHECK(w.probe.got[0].datagram.source == a6);
  CHECK(w.net.uplink(a).stats().bytes_sent == DataSize::Bytes(1 + 48));
  CHECK(w.net.stats().dropped_ipv6_at_nat == 1);
}

TEST_CASE("Nested NATs (carrier-grade in front of a home NAT) translate twice") {
  World w;
  const RealmId cgn = w.net.add_nat(NatConfig::Of(NatKind::kPortRestricted, ip("203.0.113.1"))).value();
  const RealmId home = w.net.add_nat(NatConfig::Of(NatKind::kFullCone, ip("100.64.0.2")), cgn).value();
  const HostId h = w.host(home, {ip("192.168.1.10")});
  const HostId server = w.host(kPublicRealm, {ip("198.51.100.1")});
  const auto local = w.bind(h, "192.168.1.10:5000");
  const auto stun = w.bind(server, "198.51.100.1:3478");
  w.probe.echo = server;
  w.send(h, local, stun);
  w.run(10_ms);
  REQUIRE(w.probe.got.size() == 2);
  CHECK(w.probe.got[0].datagram.source.ip == ip("203.0.113.1"));
  CHECK(w.probe.got[1].host == h);
  CHECK(w.net.nat(cgn)->stats().translated_in == 1);
  CHECK(w.net.nat(home)->stats().translated_in == 1);
}

TEST_CASE("Bind: ephemeral ports, conflicts and foreign addresses") {
  Internet net;
  const HostId h = net.add_host(kPublicRealm, {ip("198.51.100.1")}).value();
  auto e1 = net.bind(h, addr("198.51.100.1:0"));
  auto e2 = net.bind(h, addr("198.51.100.1:0"));
  REQUIRE(e1.ok());
  REQUIRE(e2.ok());
  CHECK(e1->port == Internet::kEphemeralFirst);
  CHECK(e2->port == Internet::kEphemeralFirst + 1);
  CHECK(!net.bind(h, *e1).ok());
  CHECK(!net.bind(h, addr("198.51.100.2:5000")).ok());
  net.unbind(h, *e1);
  CHECK(net.bind(h, *e1).ok());
  CHECK(!net.add_host(kPublicRealm, {ip("198.51.100.1")}).ok());  // address in use
  CHECK(!net.add_host(5, {ip("198.51.100.3")}).ok());              // no such realm
}

TEST_CASE("Lossy links are deterministic for a seed") {
  auto run = [](uint64_t seed) {
    Internet net(seed);
    EventLoop loop;
    loop.add_pollable(&net);
    Probe probe;
    AccessLinks lossy;
    lossy.up.loss = LossConfig::Random(0.3);
    const HostId a = net.add_host(kPublicRealm, {ip("198.51.100.1")}, lossy).value();
    const HostId b = net.add_host(kPublicRealm, {ip("198.51.100.2")}).value();
    net.set_receiver(b, &probe);
    const auto sa = net.bind(a, addr("198.51.100.1:1")).value();
    const auto sb = net.bind(b, addr("198.51.100.2:1")).value();
    for (int i = 0; i < 200; ++i) {
      CHECK(net.send(a, Datagram{sa, sb, {static_cast<uint8_t>(i)}}, loop.now()).ok());
      CHECK(loop.run_for(1_ms).ok());
    }
    std::vector<uint8_t> got;
    for (const auto& r : probe.got) got.push_back(r.datagram.data[0]);
    return got;
  };
  const auto a = run(1), b = run(1), c = run(2);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(a.size() > 100);
  CHECK(a.size() < 180);
}
