#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "tern/netsim/nat.h"

using namespace tern;
using namespace tern::netsim;
using namespace tern::unit_literals;

namespace {

TransportAddress nat_addr(const char* text) { return TransportAddress::Parse(text).value(); }

const TransportAddress kInternal = nat_addr("192.168.1.10:5000");
const TransportAddress kR1 = nat_addr("198.51.100.1:3478");
const TransportAddress kR1OtherPort = nat_addr("198.51.100.1:3479");
const TransportAddress kR2 = nat_addr("198.51.100.2:3478");
const IpAddress kPublic = IpAddress::V4(203, 0, 113, 1);

Timestamp at(TimeDelta d) { return Timestamp::Zero() + d; }

Nat make(NatConfig c) { return Nat::Create(c).value(); }

}  // namespace

TEST_CASE("Each NAT kind maps and filters as RFC 4787 defines") {
  struct Row {
    NatKind kind;
    bool same_port_other_remote_port;  // mapping reused toward the same IP, other port
    bool same_port_other_ip;           // mapping reused toward another IP
    bool in_from_same_ip_other_port;   // filter passes R1's other port after sending to R1 only
    bool in_from_other_ip;             // filter passes R2 after sending to R1 only
  };
  const Row rows[] = {
      {NatKind::kFullCone, true, true, true, true},
      {NatKind::kAddressRestricted, true, true, true, false},
      {NatKind::kPortRestricted, true, true, false, false},
      {NatKind::kSymmetric, false, false, false, false},
  };
  for (const Row& row : rows) {
    CAPTURE(to_string(row.kind));
    {  // mapping
      Nat nat = make(NatConfig::Of(row.kind, kPublic));
      const auto e1 = nat.translate_outbound(kInternal, kR1, at(0_ms));
      const auto e1p = nat.translate_outbound(kInternal, kR1OtherPort, at(0_ms));
      const auto e2 = nat.translate_outbound(kInternal, kR2, at(0_ms));
      REQUIRE(e1);
      REQUIRE(e1p);
      REQUIRE(e2);
      CHECK(e1->ip == kPublic);
      CHECK((e1->port == e1p->port) == row.same_port_other_remote_port);
      CHECK((e1->port == e2->port) == row.same_port_other_ip);
      CHECK(nat.stats().mappings_created == (row.kind == NatKind::kSymmetric ? 3u : 1u));
      // Another internal endpoint never shares an external port.
      const auto other = nat.translate_outbound(nat_addr("192.168.1.11:5000"), kR1, at(0_ms));
      REQUIRE(other);
      CHECK(other->port != e1->port);
    }
    {  // filtering, after sending to R1 only
      Nat nat = make(NatConfig::Of(row.kind, kPublic));
      const auto ext = nat.translate_outbound(kInternal, kR1, at(0_ms)).value();
      CHECK(nat.translate_inbound(kR1, ext, at(1_ms)) == kInternal);
      CHECK(nat.translate_inbound(kR1OtherPort, ext, at(1_ms)).has_value() == row.in_from_same_ip_other_port);
      CHECK(nat.translate_inbound(kR2, ext, at(1_ms)).has_value() == row.in_from_other_ip);
      // Unmapped port: dropped whatever the kind.
      CHECK(!nat.translate_inbound(kR1, TransportAddress{kPublic, static_cast<uint16_t>(ext.port + 100)}, at(1_ms)));
      CHECK(nat.stats().dropped_no_mapping == 1);
      // Once the internal endpoint has sent to R2, R2 passes on the mapping it used.
      const auto ext2 = nat.translate_outbound(kInternal, kR2, at(2_ms)).value();
      CHECK(nat.translate_inbound(kR2, ext2, at(3_ms)) == kInternal);
    }
  }
}

TEST_CASE("Address-dependent mapping: one port per remote IP") {
  NatConfig c = NatConfig::Of(NatKind::kPortRestricted, kPublic);
  c.mapping = NatBehavior::kAddressDependent;
  Nat nat = make(c);
  const auto a = nat.translate_outbound(kInternal, kR1, at(0_ms)).value();
  const auto b = nat.translate_outbound(kInternal, kR1OtherPort, at(0_ms)).value();
  const auto d = nat.translate_outbound(kInternal, kR2, at(0_ms)).value();
  CHECK(a == b);
  CHECK(a != d);
}

TEST_CASE("Mappings expire after the timeout, outbound refreshes, inbound only when configured") {
  for (bool inbound_refreshes : {false, true}) {
    CAPTURE(inbound_refreshes);
    NatConfig c = NatConfig::Of(NatKind::kFullCone, kPublic);
    c.mapping_timeout = 30_s;
    c.inbound_refreshes = inbound_refreshes;
    Nat nat = make(c);
    const auto ext = nat.translate_outbound(kInternal, kR1, at(0_s)).value();
    CHECK(nat.translate_inbound(kR2, ext, at(29_s)).has_value());
    CHECK(nat.mapping_count(at(29_s)) == 1);
    // At 30 s without outbound traffic the mapping is gone, unless the inbound at 29 s refreshed it.
    CHECK(nat.translate_inbound(kR2, ext, at(30_s)).has_value() == inbound_refreshes);
    CHECK(nat.mapping_count(Timestamp::Seconds(58)) == (inbound_refreshes ? 1u : 0u));
  }
  NatConfig c = NatConfig::Of(NatKind::kPortRestricted, kPublic);
  c.mapping_timeout = 30_s;
  Nat nat = make(c);
  const auto ext = nat.translate_outbound(kInternal, kR1, at(0_s)).value();
  CHECK(nat.translate_outbound(kInternal, kR1, at(20_s)) == ext);  // refresh keeps the same port
  CHECK(nat.translate_inbound(kR1, ext, at(49_s)) == kInternal);
  CHECK(!nat.translate_inbound(kR1, ext, at(50_s)));
  CHECK(nat.stats().mappings_expired == 1);
  // A new flow after expiry gets a fresh mapping (sequential allocation moves on).
  const auto again = nat.translate_outbound(kInternal, kR1, at(60_s)).value();
  CHECK(again.port != ext.port);
  CHECK(nat.stats().mappings_created == 2);
}

TEST_CASE("Filter permissions expire with the timeout even while the mapping lives") {
  NatConfig c = NatConfig::Of(NatKind::kPortRestricted, kPublic);
  c.mapping_timeout = 30_s;
  Nat nat = make(c);
  const auto ext = nat.translate_outbound(kInternal, kR1, at(0_s)).value();
  CHECK(nat.translate_outbound(kInternal, kR2, at(25_s)) == ext);  // keeps the mapping alive
  CHECK(!nat.translate_inbound(kR1, ext, at(31_s)));               // R1's permission is 31 s old
  CHECK(nat.translate_inbound(kR2, ext, at(31_s)) == kInternal);
  CHECK(nat.stats().dropped_filtered == 1);
}

TEST_CASE("Full mapping table: drop-new keeps existing flows, evict-least-recent replaces the oldest") {
  NatConfig c = NatConfig::Of(NatKind::kSymmetric, kPublic);
  c.max_mappings = 3;
  {
    Nat nat = make(c);
    for (uint16_t i = 0; i < 3; ++i)
      CHECK(nat.translate_outbound(kInternal, TransportAddress{kR1.ip, static_cast<uint16_t>(1000 + i)}, at(0_s)));
    CHECK(!nat.translate_outbound(kInternal, kR2, at(1_s)));
    CHECK(nat.stats().dropped_table_full == 1);
    CHECK(nat.mapping_count(at(1_s)) == 3);
    // Once the old ones expire (120 s default), there is room again.
    CHECK(nat.translate_outbound(kInternal, kR2, at(121_s)));
    CHECK(nat.stats().mappings_expired == 3);
  }
  {
    c.when_full = NatConfig::WhenFull::kEvictLeastRecent;
    Nat nat = make(c);
    std::vector<TransportAddress> ext;
    for (uint16_t i = 0; i < 3; ++i) {
      const TransportAddress remote{kR1.ip, static_cast<uint16_t>(1000 + i)};
      ext.push_back(nat.translate_outbound(kInternal, remote, Timestamp::Seconds(i)).value());
    }
    // Refresh the first flow so the second is the least recently used.
    CHECK(nat.translate_outbound(kInternal, TransportAddress{kR1.ip, 1000}, at(5_s)) == ext[0]);
    CHECK(nat.translate_outbound(kInternal, kR2, at(6_s)));
    CHECK(nat.stats().mappings_evicted == 1);
    CHECK(nat.translate_inbound(TransportAddress{kR1.ip, 1000}, ext[0], at(7_s)));
    CHECK(!nat.translate_inbound(TransportAddress{kR1.ip, 1001}, ext[1], at(7_s)));
    CHECK(nat.translate_inbound(TransportAddress{kR1.ip, 1002}, ext[2], at(7_s)));
  }
}

TEST_CASE("Port range exhaustion drops new flows, peer permissions are bounded per mapping") {
  NatConfig c = NatConfig::Of(NatKind::kSymmetric, kPublic);
  c.port_min = 40000;
  c.port_max = 40001;
  Nat nat = make(c);
  CHECK(nat.translate_outbound(kInternal, kR1, at(0_s))->port == 40000);
  CHECK(nat.translate_outbound(kInternal, kR2, at(0_s))->port == 40001);
  CHECK(!nat.translate_outbound(kInternal, kR1OtherPort, at(0_s)));
  CHECK(nat.stats().dropped_no_port == 1);

  NatConfig p = NatConfig::Of(NatKind::kPortRestricted, kPublic);
  p.max_peers_per_mapping = 2;
  Nat restricted = make(p);
  const auto ext = restricted.translate_outbound(kInternal, kR1, at(0_s)).value();
  CHECK(restricted.translate_outbound(kInternal, kR1OtherPort, at(1_s)) == ext);
  CHECK(restricted.translate_outbound(kInternal, kR2, at(2_s)) == ext);  // evicts R1, the oldest
  CHECK(restricted.stats().peers_evicted == 1);
  CHECK(!restricted.translate_inbound(kR1, ext, at(3_s)));
  CHECK(restricted.translate_inbound(kR1OtherPort, ext, at(3_s)));
  CHECK(restricted.translate_inbound(kR2, ext, at(3_s)));
}

TEST_CASE("Port allocation: preserve, sequential and seeded random are deterministic") {
  NatConfig c = NatConfig::Of(NatKind::kSymmetric, kPublic);
  c.port_allocation = NatConfig::PortAllocation::kPreserve;
  Nat preserve = make(c);
  CHECK(preserve.translate_outbound(kInternal, kR1, at(0_s))->port == 5000);
  CHECK(preserve.translate_outbound(kInternal, kR2, at(0_s))->port == 1024);  // 5000 taken: sequential

  c.port_allocation = NatConfig::PortAllocation::kRandom;
  c.seed = 42;
  Nat r1 = make(c), r2 = make(c);
  std::vector<uint16_t> ports;
  for (uint16_t i = 0; i < 20; ++i) {
    const TransportAddress remote{kR1.ip, static_cast<uint16_t>(2000 + i)};
    const auto p1 = r1.translate_outbound(kInternal, remote, at(0_s));
    REQUIRE(p1);
    CHECK(p1 == r2.translate_outbound(kInternal, remote, at(0_s)));
    ports.push_back(p1->port);
  }
  CHECK(std::adjacent_find(ports.begin(), ports.end(), [](uint16_t a, uint16_t b) { return b != a + 1; }) !=
        ports.end());  // not sequential
  c.seed = 43;
  Nat r3 = make(c);
  CHECK(r3.translate_outbound(kInternal, TransportAddress{kR1.ip, 2000}, at(0_s))->port != ports[0]);
}

TEST_CASE("Nat rejects bad configuration") {
  CHECK(!Nat::Create(NatConfig::Of(NatKind::kFullCone, IpAddress())).ok());
  CHECK(!Nat::Create(NatConfig::Of(NatKind::kFullCone, IpAddress::Parse("2001:db8::1").value())).ok());
  NatConfig c = NatConfig::Of(NatKind::kFullCone, kPublic);
  c.port_min = 2000;
  c.port_max = 1000;
  CHECK(!Nat::Create(c).ok());
  c = NatConfig::Of(NatKind::kFullCone, kPublic);
  c.max_mappings = 0;
  CHECK(!Nat::Create(c).ok());
}
