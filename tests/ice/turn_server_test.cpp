// TurnServer driven by the project's TurnClient over in-memory datagrams (allocation with the
// 401/438 dance, permissions, channels, data both ways, refresh, deallocation, expiry of every
// table at its lifetime, quotas), and by hand-built requests for the error rules the client never
// provokes (437, 420, 442, 400, 403, retransmitted Allocate).
#include <doctest/doctest.h>

#include <array>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tern/ice/channel_data.h"
#include "tern/ice/turn_client.h"
#include "tern/ice/turn_server.h"

using namespace tern;
using namespace tern::ice;

namespace {

const TransportAddress kClientA = TransportAddress::V4(198, 51, 100, 2, 40000);
const TransportAddress kClientB = TransportAddress::V4(198, 51, 100, 3, 40000);
const TransportAddress kServerPeer = TransportAddress::V4(203, 0, 113, 7, 6000);
const TransportAddress kServerPeer2 = TransportAddress::V4(203, 0, 113, 8, 6001);
constexpr uint32_t kListener = 7;

// Hands out relay ports 192.0.2.1:50000+n; `full` refuses.
struct FakeRelays : RelayPorts {
  std::map<RelayId, TransportAddress> open_ports;
  std::vector<RelayId> closed;
  RelayId next = 1;
  bool full = false;
  std::optional<Opened> open(const TransportAddress&, Timestamp) override {
    if (full) return std::nullopt;
    const RelayId id = next++;
    const TransportAddress a = TransportAddress::V4(192, 0, 2, 1, static_cast<uint16_t>(50000 + id));
    open_ports[id] = a;
    return Opened{id, a};
  }
  std::optional<Pair> open_even(const TransportAddress& c, bool reserve_next, Timestamp now) override {
    if (next % 2 != 0) ++next;  // ports 50000 + id: even ids give even ports
    auto even = open(c, now);
    if (!even) return std::nullopt;
    Pair p{*even, std::nullopt};
    if (reserve_next) p.next = open(c, now);
    return p;
  }
  void close(RelayId id) override {
    open_ports.erase(id);
    closed.push_back(id);
  }
};

TurnServerConfig server_config() {
  TurnServerConfig c;
  c.realm = "tern.test";
  c.users = {{"alice", "secret"}, {"bob", "hunter2"}};
  c.nonce_secret = 42;
  return c;
}

TurnClientConfig client_config(std::string user = "alice", std::string password = "secret") {
  TurnClientConfig c;
  c.username = std::move(user);
  c.password = std::move(password);
  c.seed = 9;
  return c;
}

struct Rig {
  explicit Rig(TurnServerConfig config = server_config()) : server(TurnServer::Create(std::move(config), &relays).value()) {}

  TurnClient& add_client(const TransportAddress& at, TurnClientConfig config = client_config()) {
    config.seed = 9 + clients.size();
    clients.emplace_back(at, TurnClient::Create(std::move(config)).value());
    return clients.back().second;
  }

  // Moves datagrams until nobody has anything to say (bounded).
  void pump() {
    for (int round = 0; round < 100; ++round) {
      bool moved = false;
      for (auto& [addr, c] : clients) {
        while (auto d = c.pop_outgoing()) {
          server.on_client_datagram(kListener, addr, *d, now);
          moved = true;
        }
      }
      while (auto d = server.pop_outgoing()) {
        moved = true;
        if (d->from == TurnServerDatagram::From::kRelay) {
          to_peers.push_back(std::move(*d));
          continue;
        }
        CHECK(d->socket == kListener);
        for (auto& [addr, c] : clients)
          if (addr == d->to) c.on_datagram(d->data, now);
      }
      if (!moved) return;
    }
    FAIL("pump did not settle");
  }

  // Advances time in 1 s steps, running every wakeup; `with_clients` false leaves them silent
  // (a client that vanished).
  void advance(TimeDelta d, bool with_clients = true) {
    const Timestamp end = now + d;
    while (now < end) {
      now = std::min(end, now + TimeDelta::Seconds(1));
      if (with_clients)
        for (auto& [addr, c] : clients) c.process(now);
      server.process(now);
      if (with_clients) pump();
    }
  }

  std::optional<TurnEvent> last_event(TurnClient& c) {
    std::optional<TurnEvent> e;
    while (auto x = c.pop_event()) e = x;
    return e;
  }

  FakeRelays relays;
  TurnServer server;
  Timestamp now = Timestamp::Seconds(1000);
  std::deque<std::pair<TransportAddress, TurnClient>> clients;  // stable references
  std::vector<TurnServerDatagram> to_peers;
};

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

TEST_CASE("Allocate: 401 challenge, then authenticated allocation with relayed and mapped addresses") {
  Rig rig;
  TurnClient& c = rig.add_client(kClientA);
  c.allocate(rig.now);
  rig.pump();
  REQUIRE(c.state() == TurnState::kAllocated);
  CHECK(*c.relayed_address() == TransportAddress::V4(192, 0, 2, 1, 50001));
  CHECK(*c.mapped_address() == kClientA);
  CHECK(c.lifetime() == TimeDelta::Seconds(600));
  CHECK(c.counters().auth_challenges == 1);
  CHECK(c.counters().integrity_failures == 0);
  CHECK(rig.server.counters().rejected_unauthenticated == 1);
  CHECK(rig.server.counters().allocations_created == 1);
  CHECK(rig.server.allocation_count() == 1);
  CHECK(rig.server.allocation_count("alice") == 1);
  CHECK(rig.relays.open_ports.size() == 1);
}

TEST_CASE("Wrong password: 401 again and nothing allocated") {
  Rig rig;
  TurnClient& c = rig.add_client(kClientA, client_config("alice", "wrong"));
  c.allocate(rig.now);
  rig.pump();
  CHECK(c.state() == TurnState::kFailed);
  CHECK(rig.server.allocation_count() == 0);
  CHECK(rig.relays.open_ports.empty());
  CHECK(rig.server.counters().rejected_bad_credentials >= 1);
  TurnClient& d = rig.add_client(kClientB, client_config("mallory", "secret"));
  d.allocate(rig.now);
  rig.pump();
  CHECK(d.state() == TurnState::kFailed);
  CHECK(rig.server.allocation_count() == 0);
}

TEST_CASE("438 after the nonce expires: the client retries with the fresh nonce") {
  TurnServerConfig config = server_config();
  config.nonce_lifetime = TimeDelta::Seconds(30);
  Rig rig(config);
  TurnClient& c = rig.add_client(kClientA);
  c.allocate(rig.now);
  rig.pump();
  REQUIRE(c.state() == TurnState::kAllocated);
  const std::string first_nonce = c.nonce();
  rig.advance(TimeDelta::Seconds(31));
  REQUIRE(c.create_permission(kServerPeer, rig.now).ok());
  rig.pump();
  CHECK(rig.server.counters().rejected_stale_nonce == 1);
  CHECK(c.counters().stale_nonces == 1);
  CHECK(c.nonce() != first_nonce);
  CHECK(c.permission_installed(kServerPeer));
  CHECK(rig.server.allocation(kListener, kClientA)->permissions == 1);
}

TEST_CASE("Permission, Send and Data indications both ways, no permission, no relaying") {
  Rig rig;
  TurnClient& c = rig.add_client(kClientA);
  c.allocate(rig.now);
  rig.pump();
  const RelayId relay = rig.server.allocation(kListener, kClientA)->relay;

  // Before a permission: nothing passes either way.
  REQUIRE(c.send(kServerPeer, bytes("early")).ok());
  rig.pump();
  CHECK(rig.to_peers.empty());
  CHECK(rig.server.counters().send_no_permission == 1);
  rig.server.on_peer_datagram(relay, kServerPeer, bytes("knock"), rig.now);
  CHECK(!rig.server.has_outgoing());
  CHECK(rig.server.counters().peer_no_permission == 1);

  REQUIRE(c.create_permission(kServerPeer, rig.now).ok());
  rig.pump();
  REQUIRE(c.permission_installed(kServerPeer));
  REQUIRE(c.send(kServerPeer, bytes("hello peer")).ok());
  rig.pump();
  REQUIRE(rig.to_peers.size() == 1);
  CHECK(rig.to_peers[0].from == TurnServerDatagram::From::kRelay);
  CHECK(rig.to_peers[0].socket == relay);
  CHECK(rig.to_peers[0].to == kServerPeer);
  CHECK(rig.to_peers[0].data == bytes("hello peer"));

  // Permissions are per IP: another port of the same peer IP passes, another IP does not.
  TransportAddress other_port = kServerPeer;
  other_port.port = 7000;
  rig.server.on_peer_datagram(relay, other_port, bytes("hello client"), rig.now);
  rig.server.on_peer_datagram(relay, kServerPeer2, bytes("stranger"), rig.now);
  rig.pump();
  auto r = c.pop_received();
  REQUIRE(r.has_value());
  CHECK(r->peer == other_port);
  CHECK(r->data == bytes("hello client"));
  CHECK(!r->via_channel);
  CHECK(!c.pop_received().has_value());
  CHECK(rig.server.counters().peer_no_permission == 2);
  CHECK(rig.server.counters().relayed_to_peer == 1);
  CHECK(rig.server.counters().relayed_to_client == 1);
}

TEST_CASE("ChannelBind: ChannelData both ways") {
  Rig rig;
  TurnClient& c = rig.add_client(kClientA);
  c.allocate(rig.now);
  rig.pump();
  const RelayId relay = rig.server.allocation(kListener, kClientA)->relay;
  auto channel = c.bind_channel(kServerPeer, rig.now);
  REQUIRE(channel.ok());
  rig.pump();
  REQUIRE(c.channel_for(kServerPeer).has_value());
  CHECK(rig.server.counters().channels_bound == 1);
  CHECK(rig.server.allocation(kListener, kClientA)->channels == 1);
  CHECK(rig.server.allocation(kListener, kClientA)->permissions == 1);  // installed by the bind

  REQUIRE(c.send(kServerPeer, bytes("over the channel")).ok());
  rig.pump();
  CHECK(c.counters().channel_data_sent == 1);
  REQUIRE(rig.to_peers.size() == 1);
  CHECK(rig.to_peers[0].to == kServerPeer);
  CHECK(rig.to_peers[0].data == bytes("over the channel"));

  rig.server.on_peer_datagram(relay, kServerPeer, bytes("back"), rig.now);
  rig.pump();
  auto r = c.pop_received();
  REQUIRE(r.has_value());
  CHECK(r->via_channel);
  CHECK(r->peer == kServerPeer);
  CHECK(r->data == bytes("back"));

  const size_t heap = rig.server.allocation_heap_bytes(kListener, kClientA);
  CHECK(heap > 0);
  CHECK(heap < 1024);
  MESSAGE("TurnServer: per allocation " << TurnServer::allocation_struct_size() << " B of table entries + " << heap
                                        << " B heap (cached Allocate success, one permission, one channel)");
}

TEST_CASE("Refresh keeps the allocation, Refresh 0 deletes it and closes the relay port") {
  Rig rig;
  TurnClient& c = rig.add_client(kClientA);
  c.allocate(rig.now);
  rig.pump();
  REQUIRE(c.bind_channel(kServerPeer, rig.now).ok());
  // The client refreshes channels every 9 minutes, so the peer's permission (5 minutes) needs its
  // own refreshes: the channel alone would leave it to lapse between 300 s and 540 s.
  REQUIRE(c.create_permission(kServerPeer, rig.now).ok());
  rig.pump();
  rig.advance(TimeDelta::Seconds(1500));  // 2.5 allocation lifetimes, 2.5 channel lifetimes
  CHECK(c.state() == TurnState::kAllocated);
  CHECK(rig.server.allocation_count() == 1);
  CHECK(rig.server.counters().refreshes >= 2);
  CHECK(rig.server.counters().allocations_expired == 0);
  CHECK(rig.server.counters().channels_expired == 0);
  CHECK(rig.server.counters().permissions_expired == 0);
  CHECK(rig.server.allocation(kListener, kClientA)->channels == 1);

  c.deallocate(rig.now);
  rig.pump();
  CHECK(c.state() == TurnState::kClosed);
  CHECK(rig.server.allocation_count() == 0);
  CHECK(rig.server.counters().deallocations == 1);
  CHECK(rig.relays.closed.size() == 1);
  CHECK(rig.server.allocation_count("alice") == 0);
}

TEST_CASE("Lifetimes: a requested lifetime is clamped, permission, channel and allocation expire on time") {
  TurnServerConfig config = server_config();
  config.max_lifetime = TimeDelta::Seconds(1200);
  Rig rig(config);
  TurnClientConfig cc = client_config();
  cc.requested_lifetime = TimeDelta::Seconds(5000);
  TurnClient& c = rig.add_client(kClientA, cc);
  c.allocate(rig.now);
  rig.pump();
  REQUIRE(c.state() == TurnState::kAllocated);
  CHECK(c.lifetime() == TimeDelta::Seconds(1200));
  REQUIRE(c.create_permission(kServerPeer2, rig.now).ok());
  REQUIRE(c.bind_channel(kServerPeer, rig.now).ok());
  rig.pump();
  REQUIRE(rig.server.allocation(kListener, kClientA)->permissions == 2);
  const RelayId relay = rig.server.allocation(kListener, kClientA)->relay;
  const Timestamp start = rig.now;

  // The client goes silent: nothing is refreshed any more.
  rig.advance(TimeDelta::Seconds(299), false);
  CHECK(rig.server.allocation(kListener, kClientA)->permissions == 2);
  rig.advance(TimeDelta::Seconds(1), false);
  CHECK(rig.now - start == TimeDelta::Seconds(300));
  // kServerPeer2's permission is gone; kServerPeer's permission too (channels refresh it only when rebound).
  CHECK(rig.server.allocation(kListener, kClientA)->permissions == 0);
  CHECK(rig.server.counters().permissions_expired == 2);
  rig.server.on_peer_datagram(relay, kServerPeer2, bytes("late"), rig.now);
  CHECK(rig.server.counters().peer_no_permission == 1);

  rig.advance(TimeDelta::Seconds(299), false);
  CHECK(rig.server.allocation(kListener, kClientA)->channels == 1);
  rig.advance(TimeDelta::Seconds(1), false);
  CHECK(rig.server.allocation(kListener, kClientA)->channels == 0);
  CHECK(rig.server.counters().channels_expired == 1);
  auto cd = std::vector<uint8_t>{};
  REQUIRE(ChannelData::write(*c.channel_for(kServerPeer), bytes("x"), false, cd).ok());
  rig.server.on_client_datagram(kListener, kClientA, cd, rig.now);
  CHECK(rig.server.counters().channel_data_unbound == 1);

  rig.advance(TimeDelta::Seconds(599), false);
  CHECK(rig.server.allocation_count() == 1);
  rig.advance(TimeDelta::Seconds(1), false);
  CHECK(rig.server.allocation_count() == 0);
  CHECK(rig.server.counters().allocations_expired == 1);
  CHECK(rig.relays.closed == std::vector<RelayId>{relay});
  CHECK(!rig.server.next_wakeup().has_value());
}

TEST_CASE("Quotas: per user and global, 486, 508 without a relay port") {
  TurnServerConfig config = server_config();
  config.max_allocations_per_user = 1;
  config.max_allocations = 2;
  Rig rig(config);
  TurnClient& a = rig.add_client(kClientA);
  TurnClient& a2 = rig.add_client(kClientB);
  a.allocate(rig.now);
  a2.allocate(rig.now);
  rig.pump();
  CHECK(a.state() == TurnState::kAllocated);
  CHECK(a2.state() == TurnState::kFailed);
  CHECK(rig.last_event(a2)->error_code == 486);
  CHECK(rig.server.counters().rejected_user_quota == 1);

  TurnClient& b = rig.add_client(TransportAddress::V4(198, 51, 100, 4, 1), client_config("bob", "hunter2"));
  b.allocate(rig.now);
  rig.pump();
  CHECK(b.state() == TurnState::kAllocated);
  TurnServerConfig more = server_config();
  more.users.push_back({"carol", "pw"});
  more.max_allocations = 2;
  Rig rig2(more);
  for (int i = 0; i < 3; ++i) {
    const char* users[] = {"alice", "bob", "carol"};
    const char* pws[] = {"secret", "hunter2", "pw"};
    TurnClient& x = rig2.add_client(TransportAddress::V4(10, 0, 0, static_cast<uint8_t>(i + 1), 5000),
                                    client_config(users[i], pws[i]));
    x.allocate(rig2.now);
    rig2.pump();
    CHECK(x.state() == (i < 2 ? TurnState::kAllocated : TurnState::kFailed));
  }
  CHECK(rig2.server.counters().rejected_global_quota == 1);
  CHECK(rig2.server.allocation_count() == 2);

  Rig rig3;
  rig3.relays.full = true;
  TurnClient& y = rig3.add_client(kClientA);
  y.allocate(rig3.now);
  rig3.pump();
  CHECK(y.state() == TurnState::kFailed);
  CHECK(rig3.last_event(y)->error_code == 508);
  CHECK(rig3.server.counters().rejected_capacity == 1);
}

// Hand-built requests, authenticated with the nonce from a first challenge.
struct RawClient {
  explicit RawClient(TurnServer& s, TransportAddress f = kClientA) : server(s), from(f) {}
  TurnServer& server;
  TransportAddress from;
  std::string nonce;
  StunKey key = long_term_key("alice", "tern.test", "secret");
  uint8_t next_id = 1;

  TransactionId id() {
    TransactionId t{};
    t.bytes[0] = next_id++;
    return t;
  }
  std::vector<uint8_t> exchange(std::span<const uint8_t> request, Timestamp now) {
    server.on_client_datagram(kListener, from, request, now);
    auto d = server.pop_outgoing();
    REQUIRE(d.has_value());
    CHECK(!server.has_outgoing());
    return d->data;
  }
  // Builds and sends a request; `attrs` adds the method's attributes.
  std::vector<uint8_t> request(StunMethod m, const std::function<void(StunMessageBuilder&)>& attrs, Timestamp now,
                               std::optional<TransactionId> tid = std::nullopt) {
    if (nonce.empty()) {
      StunMessageBuilder b(StunClass::kRequest, StunMethod::kAllocate, id());
      b.add_requested_transport();
      auto reply = exchange(std::move(b).finish().value(), now);
      auto m401 = StunMessage::parse(reply);
      REQUIRE(m401.ok());
      REQUIRE(m401->error_code()->code == 401);
      nonce = std::string(*m401->nonce());
    }
    StunMessageBuilder b(StunClass::kRequest, m, tid.value_or(id()));
    attrs(b);
    b.add_username("alice").add_realm("tern.test").add_nonce(nonce).add_message_integrity(key).add_fingerprint();
    return exchange(std::move(b).finish().value(), now);
  }
};

uint16_t error_of(const std::vector<uint8_t>& reply) {
  auto m = StunMessage::parse(reply);
  REQUIRE(m.ok());
  CHECK(m->check_fingerprint().ok());
  if (m->message_class() != StunClass::kError) return 0;
  return m->error_code()->code;
}

auto udp = [](StunMessageBuilder& b) { b.add_requested_transport(17); };

TEST_CASE("437: requests without an allocation, and a second Allocate on the same 5-tuple") {
  FakeRelays relays;
  TurnServer server = TurnServer::Create(server_config(), &relays).value();
  RawClient raw(server);
  const Timestamp now = Timestamp::Seconds(10);
  CHECK(error_of(raw.request(StunMethod::kRefresh, [](StunMessageBuilder&) {}, now)) == 437);
  CHECK(error_of(raw.request(StunMethod::kCreatePermission, [](auto& b) { b.add_xor_peer_address(kServerPeer); }, now)) == 437);
  CHECK(error_of(raw.request(StunMethod::kAllocate, udp, now)) == 0);
  auto second = raw.request(StunMethod::kAllocate, udp, now);
  CHECK(error_of(second) == 437);
  // Error responses to authenticated requests are authenticated.
  CHECK(StunMessage::parse(second)->check_integrity(raw.key).ok());
  CHECK(server.counters().rejected_mismatch == 3);
  CHECK(server.allocation_count() == 1);
}

TEST_CASE("A retransmitted Allocate gets the same success, another user on the 5-tuple gets 441") {
  FakeRelays relays;
  TurnServer server = TurnServer::Create(server_config(), &relays).value();
  RawClient raw(server);
  const Timestamp now = Timestamp::Seconds(10);
  TransactionId tid{};
  tid.bytes = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};
  auto first = raw.request(StunMethod::kAllocate, udp, now, tid);
  auto again = raw.request(StunMethod::kAllocate, udp, now + TimeDelta::Millis(500), tid);
  CHECK(error_of(first) == 0);
  CHECK(first == again);
  CHECK(server.counters().allocate_retransmits == 1);
  CHECK(server.allocation_count() == 1);
  CHECK(relays.open_ports.size() == 1);

  raw.key = long_term_key("bob", "tern.test", "hunter2");
  StunMessageBuilder b(StunClass::kRequest, StunMethod::kRefresh, raw.id());
  b.add_username("bob").add_realm("tern.test").add_nonce(raw.nonce).add_message_integrity(raw.key);
  CHECK(error_of(raw.exchange(std::move(b).finish().value(), now)) == 441);
}

TEST_CASE("420 for unknown comprehension-required attributes, 442 for TCP, 400 for missing fields") {
  FakeRelays relays;
  TurnServer server = TurnServer::Create(server_config(), &relays).value();
  RawClient raw(server);
  const Timestamp now = Timestamp::Seconds(10);
  const std::vector<uint8_t> four{1, 2, 3, 4};
  auto reply = raw.request(StunMethod::kAllocate, [&](StunMessageBuilder& b) {
    b.add_requested_transport(17);
    b.add_bytes(0x0030, four);  // unassigned, comprehension-required
  }, now);
  CHECK(error_of(reply) == 420);
  CHECK(StunMessage::parse(reply)->unknown_attributes() == std::vector<uint16_t>{0x0030});
  CHECK(server.counters().rejected_unknown_attribute == 1);
  // Comprehension-optional unknowns are ignored.
  CHECK(error_of(raw.request(StunMethod::kAllocate, [&](StunMessageBuilder& b) {
    b.add_requested_transport(17);
    b.add_bytes(0x8FF0, four);
  }, now)) == 0);
  CHECK(server.allocation_count() == 1);

  RawClient other(server, kClientB);
  CHECK(error_of(other.request(StunMethod::kAllocate, [](auto& b) { b.add_requested_transport(6); }, now)) == 442);
  CHECK(error_of(other.request(StunMethod::kAllocate, [](StunMessageBuilder&) {}, now)) == 400);
  CHECK(server.counters().rejected_transport == 1);
  // MESSAGE-INTEGRITY without USERNAME: 400.
  StunMessageBuilder b(StunClass::kRequest, StunMethod::kAllocate, other.id());
  b.add_requested_transport().add_realm("tern.test").add_nonce(other.nonce).add_message_integrity(other.key);
  CHECK(error_of(other.exchange(std::move(b).finish().value(), now)) == 400);
  // An unknown method: 400.
  StunMessageBuilder u(StunClass::kRequest, static_cast<StunMethod>(0x00F), other.id());
  CHECK(error_of(other.exchange(std::move(u).finish().value(), now)) == 400);
  CHECK(server.allocation_count() == 1);
}

TEST_CASE("ChannelBind rules (RFC 8656 11.2): 400 for bad numbers and rebinding, 443, 403 by policy") {
  FakeRelays relays;
  TurnServerConfig config = server_config();
  config.peer_allowed = [](const TransportAddress& p) { return p.ip[0] != 10; };
  TurnServer server = TurnServer::Create(config, &relays).value();
  RawClient raw(server);
  const Timestamp now = Timestamp::Seconds(10);
  REQUIRE(error_of(raw.request(StunMethod::kAllocate, udp, now)) == 0);
  auto bind = [&](uint16_t ch, const TransportAddress& peer) {
    return error_of(raw.request(StunMethod::kChannelBind, [&](StunMessageBuilder& b) {
      b.add_channel_number(ch).add_xor_peer_address(peer);
    }, now));
  };
  CHECK(bind(0x3FFF, kServerPeer) == 400);
  CHECK(bind(0x5000, kServerPeer) == 400);
  CHECK(bind(0x4000, kServerPeer) == 0);
  CHECK(bind(0x4000, kServerPeer) == 0);      // refresh
  CHECK(bind(0x4000, kServerPeer2) == 400);   // channel bound to another peer
  CHECK(bind(0x4001, kServerPeer) == 400);    // peer bound to another channel
  CHECK(bind(0x4001, kServerPeer2) == 0);
  std::array<uint8_t, 16> v6{0x20, 0x01, 0x0d, 0xb8};
  v6[15] = 1;
  CHECK(bind(0x4002, TransportAddress::V6(v6, 9)) == 443);
  CHECK(bind(0x4002, TransportAddress::V4(10, 0, 0, 1, 9)) == 403);
  CHECK(error_of(raw.request(StunMethod::kCreatePermission, [](auto& b) {
    b.add_xor_peer_address(TransportAddress::V4(10, 1, 1, 1, 1));
  }, now)) == 403);
  CHECK(server.counters().rejected_forbidden == 2);
  CHECK(server.counters().rejected_family == 1);
  CHECK(server.counters().channels_bound == 3);
  CHECK(server.allocation(kListener, kClientA)->channels == 2);
}

TEST_CASE("Table bounds: permissions and channels beyond the limit get 508, existing ones stay") {
  FakeRelays relays;
  TurnServerConfig config = server_config();
  config.max_permissions = 2;
  config.max_channels = 1;
  TurnServer server = TurnServer::Create(config, &relays).value();
  RawClient raw(server);
  const Timestamp now = Timestamp::Seconds(10);
  REQUIRE(error_of(raw.request(StunMethod::kAllocate, udp, now)) == 0);
  auto permit = [&](uint8_t last) {
    return error_of(raw.request(StunMethod::kCreatePermission, [&](auto& b) {
      b.add_xor_peer_address(TransportAddress::V4(203, 0, 113, last, 1));
    }, now));
  };
  CHECK(permit(1) == 0);
  CHECK(permit(2) == 0);
  CHECK(permit(3) == 508);
  CHECK(permit(1) == 0);  // refreshing an existing one is fine when full
  CHECK(error_of(raw.request(StunMethod::kChannelBind, [&](StunMessageBuilder& b) {
    b.add_channel_number(0x4000).add_xor_peer_address(TransportAddress::V4(203, 0, 113, 1, 1));
  }, now)) == 0);
  CHECK(error_of(raw.request(StunMethod::kChannelBind, [&](StunMessageBuilder& b) {
    b.add_channel_number(0x4001).add_xor_peer_address(TransportAddress::V4(203, 0, 113, 2, 1));
  }, now)) == 508);
  CHECK(server.allocation(kListener, kClientA)->permissions == 2);
  CHECK(server.allocation(kListener, kClientA)->channels == 1);
  CHECK(server.counters().rejected_capacity == 2);
}

TEST_CASE("Binding requests are answered without credentials, garbage is counted, not answered") {
  FakeRelays relays;
  TurnServer server = TurnServer::Create(server_config(), &relays).value();
  TransactionId tid{};
  tid.bytes[3] = 5;
  StunMessageBuilder b(StunClass::kRequest, StunMethod::kBinding, tid);
  server.on_client_datagram(kListener, kClientA, std::move(b).finish().value(), Timestamp::Seconds(1));
  auto d = server.pop_outgoing();
  REQUIRE(d.has_value());
  auto m = StunMessage::parse(d->data);
  REQUIRE(m.ok());
  CHECK(m->is(StunClass::kSuccess, StunMethod::kBinding));
  CHECK(*m->xor_mapped_address() == kClientA);
  CHECK(m->transaction_id() == tid);

  server.on_client_datagram(kListener, kClientA, bytes("not stun at all, definitely"), Timestamp::Seconds(1));
  const std::vector<uint8_t> short_cd{0x40, 0x00, 0x00, 0x10, 1};
  server.on_client_datagram(kListener, kClientA, short_cd, Timestamp::Seconds(1));
  CHECK(!server.has_outgoing());
  CHECK(server.counters().malformed == 2);
  CHECK(server.allocation_count() == 0);
}

TEST_CASE("Create rejects bad configurations") {
  FakeRelays relays;
  TurnServerConfig c = server_config();
  c.users.clear();
  CHECK(!TurnServer::Create(c, &relays).ok());
  c = server_config();
  c.default_lifetime = TimeDelta::Seconds(4000);
  CHECK(!TurnServer::Create(c, &relays).ok());
  c = server_config();
  c.max_channels = 5000;
  CHECK(!TurnServer::Create(c, &relays).ok());
  CHECK(!TurnServer::Create(server_config(), nullptr).ok());
  MESSAGE("per allocation: " << TurnServer::allocation_struct_size() << " bytes of tables' nodes");
}

}  // namespace

namespace {

TEST_CASE("REQUESTED-ADDRESS-FAMILY: IPv4 accepted, IPv6 refused with 440 (relays are IPv4)") {
  FakeRelays relays;
  TurnServer server = TurnServer::Create(server_config(), &relays).value();
  RawClient raw(server);
  const Timestamp now = Timestamp::Seconds(10);
  const std::vector<uint8_t> v6{2, 0, 0, 0}, v4{1, 0, 0, 0};
  CHECK(error_of(raw.request(StunMethod::kAllocate, [&](StunMessageBuilder& b) {
    b.add_requested_transport(17);
    b.add_bytes(0x0017, v6);
  }, now)) == 440);
  CHECK(server.allocation_count() == 0);
  CHECK(error_of(raw.request(StunMethod::kAllocate, [&](StunMessageBuilder& b) {
    b.add_requested_transport(17);
    b.add_bytes(0x0017, v4);
  }, now)) == 0);
  CHECK(server.allocation_count() == 1);
}

}  // namespace

namespace {

TEST_CASE("EVEN-PORT with R reserves the next port, RESERVATION-TOKEN takes it, unused reservations expire") {
  FakeRelays relays;
  TurnServer server = TurnServer::Create(server_config(), &relays).value();
  RawClient rtp(server), rtcp(server, kClientB), late(server, TransportAddress::V4(198, 51, 100, 9, 1));
  Timestamp now = Timestamp::Seconds(10);
  const std::vector<uint8_t> r_bit{0x80};
  auto reply = rtp.request(StunMethod::kAllocate, [&](StunMessageBuilder& b) {
    b.add_requested_transport(17);
    b.add_bytes(0x0018, r_bit);
  }, now);
  REQUIRE(error_of(reply) == 0);
  auto m = StunMessage::parse(reply);
  CHECK(m->xor_relayed_address()->port % 2 == 0);
  const auto token_attr = m->reservation_token();
  REQUIRE(token_attr.has_value());
  const std::vector<uint8_t> token(token_attr->begin(), token_attr->end());
  REQUIRE(token.size() == 8);
  CHECK(relays.open_ports.size() == 2);
  auto second = rtcp.request(StunMethod::kAllocate, [&](StunMessageBuilder& b) {
    b.add_requested_transport(17);
    b.add_bytes(0x0022, token);
  }, now);
  REQUIRE(error_of(second) == 0);
  CHECK(StunMessage::parse(second)->xor_relayed_address()->port == m->xor_relayed_address()->port + 1);
  CHECK(relays.open_ports.size() == 2);
  CHECK(server.counters().reservations_used == 1);
  // The token is spent: a third Allocate with it finds no reservation (508).
  CHECK(error_of(late.request(StunMethod::kAllocate, [&](StunMessageBuilder& b) {
    b.add_requested_transport(17);
    b.add_bytes(0x0022, token);
  }, now)) == 508);
  // Both attributes at once: 400.
  RawClient both(server, TransportAddress::V4(198, 51, 100, 10, 1));
  CHECK(error_of(both.request(StunMethod::kAllocate, [&](StunMessageBuilder& b) {
    b.add_requested_transport(17);
    b.add_bytes(0x0018, r_bit);
    b.add_bytes(0x0022, token);
  }, now)) == 400);
  // An unused reservation is released after 30 s.
  RawClient again(server, TransportAddress::V4(198, 51, 100, 11, 1));
  REQUIRE(error_of(again.request(StunMethod::kAllocate, [&](StunMessageBuilder& b) {
    b.add_requested_transport(17);
    b.add_bytes(0x0018, r_bit);
  }, now)) == 0);
  CHECK(relays.open_ports.size() == 4);
  now = now + TimeDelta::Seconds(31);
  server.process(now);
  CHECK(relays.open_ports.size() == 3);
  CHECK(server.counters().reservations_expired == 1);
}

}  // namespace

namespace {

TEST_CASE("max_channel 0x7FFF admits RFC 5766 channel numbers, with ChannelData both ways") {
  FakeRelays relays;
  TurnServerConfig config = server_config();
  config.max_channel = 0x7FFF;
  TurnServer server = TurnServer::Create(config, &relays).value();
  RawClient raw(server);
  const Timestamp now = Timestamp::Seconds(10);
  REQUIRE(error_of(raw.request(StunMethod::kAllocate, udp, now)) == 0);
  CHECK(error_of(raw.request(StunMethod::kChannelBind, [](StunMessageBuilder& b) {
    b.add_channel_number(0x8000).add_xor_peer_address(kServerPeer);
  }, now)) == 400);
  REQUIRE(error_of(raw.request(StunMethod::kChannelBind, [](StunMessageBuilder& b) {
    b.add_channel_number(0x7AF0).add_xor_peer_address(kServerPeer);
  }, now)) == 0);
  const std::vector<uint8_t> cd{0x7A, 0xF0, 0x00, 0x02, 'h', 'i', 0, 0};  // padded: accepted over UDP
  server.on_client_datagram(kListener, kClientA, cd, now);
  auto out = server.pop_outgoing();
  REQUIRE(out.has_value());
  CHECK(out->to == kServerPeer);
  CHECK(out->data == bytes("hi"));
  server.on_peer_datagram(server.allocation(kListener, kClientA)->relay, kServerPeer, bytes("yo"), now);
  out = server.pop_outgoing();
  REQUIRE(out.has_value());
  CHECK(out->data == std::vector<uint8_t>{0x7A, 0xF0, 0x00, 0x02, 'y', 'o'});
  CHECK(out->relayed);
}

}  // namespace

TEST_CASE("Permissions stay alive behind a channel and without one: a peer reaches the client for 11 minutes") {
  // RFC 8656 9 and 12: a permission lasts 5 minutes, a channel 10. A ChannelBind refresh also
  // refreshes the peer's permission, but the server drops what a peer sends once the permission
  // has expired, even while its channel is bound. Peer 1 has only a channel, peer 2 only a
  // permission; each sends every 10 s and every datagram must reach the client.
  Rig rig;
  TurnClient& c = rig.add_client(kClientA);
  c.allocate(rig.now);
  rig.pump();
  REQUIRE(c.state() == TurnState::kAllocated);
  const RelayId relay = rig.server.allocation(kListener, kClientA)->relay;
  REQUIRE(c.bind_channel(kServerPeer, rig.now).ok());
  REQUIRE(c.create_permission(kServerPeer2, rig.now).ok());
  rig.pump();
  int sent = 0;
  for (int step = 0; step < 66; ++step) {
    rig.server.on_peer_datagram(relay, kServerPeer, bytes("via channel"), rig.now);
    rig.server.on_peer_datagram(relay, kServerPeer2, bytes("via indication"), rig.now);
    sent += 2;
    rig.pump();
    rig.advance(TimeDelta::Seconds(10));
  }
  int via_channel = 0, via_indication = 0;
  while (auto r = c.pop_received()) ++(r->via_channel ? via_channel : via_indication);
  CHECK(via_channel == sent / 2);
  CHECK(via_indication == sent / 2);
  CHECK(rig.server.counters().peer_no_permission == 0);
  CHECK(c.channel_for(kServerPeer).has_value());
  CHECK(c.permission_installed(kServerPeer2));
}

namespace {

std::string reason_of(const std::vector<uint8_t>& reply) {
  auto m = StunMessage::parse(reply);
  if (!m || !m->error_code()) return "";
  return std::string(m->error_code()->reason);
}

// A driver without even ports: RelayPorts::open_even's default.
struct PlainRelays : RelayPorts {
  RelayId next = 1;
  std::optional<Opened> open(const TransportAddress&, Timestamp) override {
    return Opened{next, TransportAddress::V4(192, 0, 2, 1, static_cast<uint16_t>(50000 + next++))};
  }
  void close(RelayId) override {}
};

TEST_CASE("Allocate attributes through the codec: malformed ones 400, IPv6 440, EVEN-PORT without driver support 508, each with its reason") {
  PlainRelays relays;
  TurnServer server = TurnServer::Create(server_config(), &relays).value();
  const Timestamp now = Timestamp::Seconds(10);
  uint8_t port = 1;
  auto allocate = [&](const std::function<void(StunMessageBuilder&)>& attrs) {
    RawClient raw(server, TransportAddress::V4(198, 51, 100, 20, port++));
    return raw.request(StunMethod::kAllocate, [&](StunMessageBuilder& b) {
      b.add_requested_transport(17);
      attrs(b);
    }, now);
  };
  auto r = allocate([](StunMessageBuilder& b) { b.add_requested_address_family(0x02); });
  CHECK(error_of(r) == 440);
  CHECK(reason_of(r) == "Address Family not Supported");
  const uint8_t two[2] = {1, 0};
  r = allocate([&](StunMessageBuilder& b) { b.add_bytes(stun_attr::kRequestedAddressFamily, two); });
  CHECK(error_of(r) == 400);
  CHECK(reason_of(r) == "Malformed REQUESTED-ADDRESS-FAMILY");
  r = allocate([&](StunMessageBuilder& b) { b.add_bytes(stun_attr::kEvenPort, two); });
  CHECK(error_of(r) == 400);
  CHECK(reason_of(r) == "Malformed EVEN-PORT");
  r = allocate([&](StunMessageBuilder& b) { b.add_bytes(stun_attr::kReservationToken, two); });
  CHECK(error_of(r) == 400);
  CHECK(reason_of(r) == "Malformed RESERVATION-TOKEN");
  const std::array<uint8_t, 8> token{9, 9, 9, 9, 9, 9, 9, 9};
  r = allocate([&](StunMessageBuilder& b) { b.add_even_port(false).add_reservation_token(token); });
  CHECK(error_of(r) == 400);
  CHECK(reason_of(r) == "EVEN-PORT with RESERVATION-TOKEN");
  r = allocate([](StunMessageBuilder& b) { b.add_even_port(true); });
  CHECK(error_of(r) == 508);
  CHECK(reason_of(r) == "No even port pair (EVEN-PORT) available");
  r = allocate([](StunMessageBuilder& b) { b.add_even_port(false); });
  CHECK(error_of(r) == 508);
  CHECK(reason_of(r) == "No even port (EVEN-PORT) available");
  r = allocate([&](StunMessageBuilder& b) { b.add_reservation_token(token); });
  CHECK(error_of(r) == 508);
  CHECK(reason_of(r) == "Unknown or expired RESERVATION-TOKEN");
  CHECK(server.allocation_count() == 0);
  r = allocate([](StunMessageBuilder& b) { b.add_requested_address_family(0x01); });
  CHECK(error_of(r) == 0);
  CHECK(server.allocation_count() == 1);
}

TEST_CASE("ChannelData with a reserved number (0x5000-0xFFFF) is dropped by the server unless max_channel admits RFC 5766's") {
  Rig rig;
  TurnClient& c = rig.add_client(kClientA);
  c.allocate(rig.now);
  rig.pump();
  REQUIRE(c.bind_channel(kServerPeer, rig.now).ok());
  rig.pump();
  const uint64_t malformed = rig.server.counters().malformed;
  for (const uint16_t n : {0x5000, 0x7FFF, 0x8000, 0xFFFF}) {
    const std::vector<uint8_t> cd{static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n), 0x00, 0x01, 'x'};
    rig.server.on_client_datagram(kListener, kClientA, cd, rig.now);
  }
  CHECK_FALSE(rig.server.has_outgoing());
  CHECK(rig.server.counters().malformed == malformed + 4);
  CHECK(rig.server.counters().ignored_messages == 0);  // not mistaken for STUN
}

}  // namespace

namespace {

TEST_CASE("A stream listener: ChannelData to its clients is padded to 4 (RFC 8656 12.5), closing the connection deletes the allocation") {
  FakeRelays relays;
  TurnServerConfig config = server_config();
  config.stream_listeners = {kListener};
  TurnServer server = TurnServer::Create(config, &relays).value();
  RawClient raw(server);
  const Timestamp now = Timestamp::Seconds(10);
  REQUIRE(error_of(raw.request(StunMethod::kAllocate, udp, now)) == 0);
  REQUIRE(error_of(raw.request(StunMethod::kChannelBind, [](StunMessageBuilder& b) {
    b.add_channel_number(0x4001).add_xor_peer_address(kServerPeer);
  }, now)) == 0);
  server.on_peer_datagram(server.allocation(kListener, kClientA)->relay, kServerPeer, bytes("abc"), now);
  auto out = server.pop_outgoing();
  REQUIRE(out.has_value());
  CHECK(out->data == std::vector<uint8_t>{0x40, 0x01, 0x00, 0x03, 'a', 'b', 'c', 0x00});
  CHECK(relays.open_ports.size() == 1);
  server.on_client_closed(kListener, kClientB);  // no allocation there: nothing happens
  CHECK(server.allocation_count() == 1);
  server.on_client_closed(kListener, kClientA);
  CHECK(server.allocation_count() == 0);
  CHECK(relays.open_ports.empty());
  CHECK(server.counters().closed_with_connection == 1);
}

}  // namespace
