// TurnClient against a scripted fake TURN server (in this file): the long-term-credential dance
// (401, 438), refresh timing, permissions and channels and their refreshes, Send/Data indications
// and ChannelData, RFC 8489 retransmission timing over UDP and the single send over TCP, response
// authentication, table bounds, deallocation.
#include <doctest/doctest.h>

#include <malloc.h>

#include <cstdlib>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "tern/ice/channel_data.h"
#include "tern/ice/stun_stream_framer.h"
#include "tern/ice/turn_client.h"

using namespace tern;
using namespace tern::ice;

// Live heap bytes of this test program, for the memory figure (operator new/delete replaced here;
// the size of each block is what malloc reports for it).
namespace {
long long g_live_heap = 0;
}  // namespace
void* operator new(size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  g_live_heap += static_cast<long long>(malloc_usable_size(p));
  return p;
}
void operator delete(void* p) noexcept {
  if (p == nullptr) return;
  g_live_heap -= static_cast<long long>(malloc_usable_size(p));
  std::free(p);
}
void operator delete(void* p, size_t) noexcept { operator delete(p); }

namespace {

const TransportAddress kRelayed = TransportAddress::V4(192, 0, 2, 15, 50000);
const TransportAddress kMapped = TransportAddress::V4(198, 51, 100, 2, 40000);
const TransportAddress kPeer = TransportAddress::V4(203, 0, 113, 7, 6000);
const TransportAddress kPeer2 = TransportAddress::V4(203, 0, 113, 8, 6001);

// A TURN server that answers what the client sends, with switches for the cases under test.
struct FakeServer {
  std::string user = "alice", password = "secret", realm = "tern.test", nonce = "nonce-1";
  uint32_t lifetime = 600;
  bool silent = false;          // answer nothing
  bool corrupt_integrity = false;
  int requests = 0;
  int keepalives = 0;  // Binding indications
  std::vector<uint16_t> methods;  // of every request seen, in order
  std::vector<std::pair<TransportAddress, std::vector<uint8_t>>> sent_indications;
  std::vector<std::pair<uint16_t, std::vector<uint8_t>>> channel_data;
  std::vector<uint32_t> refresh_lifetimes;

  StunKey key() const { return long_term_key(user, realm, password); }

  std::optional<std::vector<uint8_t>> handle(std::span<const uint8_t> bytes) {
    if (!bytes.empty() && (bytes[0] & 0xF0) == 0x40) {
      auto cd = ChannelData::parse(bytes);
      REQUIRE(cd.ok());
      channel_data.emplace_back(cd->channel, std::vector<uint8_t>(cd->data.begin(), cd->data.end()));
      return std::nullopt;
    }
    auto m = StunMessage::parse(bytes);
    REQUIRE(m.ok());
    CHECK(m->check_fingerprint().ok() == m->has_fingerprint());
    if (m->message_class() == StunClass::kIndication && m->method() == StunMethod::kBinding) {
      ++keepalives;
      return std::nullopt;
    }
    if (m->message_class() == StunClass::kIndication) {
      REQUIRE(m->method() == StunMethod::kSend);
      sent_indications.emplace_back(*m->xor_peer_address(),
                                    std::vector<uint8_t>(m->data()->begin(), m->data()->end()));
      return std::nullopt;
    }
    ++requests;
    methods.push_back(m->method_value());
    if (silent) return std::nullopt;
    if (!m->has_message_integrity()) return error(*m, 401, true);
    if (!m->check_integrity(key()).ok()) return error(*m, 401, true);
    if (m->nonce() != nonce) return error(*m, 438, true);
    StunMessageBuilder b(StunClass::kSuccess, m->method(), m->transaction_id());
    switch (m->method()) {
      case StunMethod::kAllocate:
        CHECK(m->requested_transport() == 17);
        b.add_xor_relayed_address(kRelayed).add_xor_mapped_address(kMapped).add_lifetime(lifetime);
        break;
      case StunMethod::kRefresh:
        refresh_lifetimes.push_back(*m->lifetime_seconds());
        b.add_lifetime(std::min(*m->lifetime_seconds(), lifetime));
        break;
      case StunMethod::kCreatePermission:
        CHECK(m->xor_peer_address().has_value());
        break;
      case StunMethod::kChannelBind:
        CHECK(ChannelData::valid_channel(*m->channel_number()));
        break;
      default:
        FAIL("unexpected method");
    }
    b.add_message_integrity(corrupt_integrity ? long_term_key(user, realm, "wrong") : key()).add_fingerprint();
    return std::move(b).finish().value();
  }

  std::vector<uint8_t> error(const StunMessage& m, uint16_t code, bool with_nonce) {
    StunMessageBuilder b(StunClass::kError, m.method(), m.transaction_id());
    b.add_error_code(code, code == 401 ? "Unauthorized" : "Stale Nonce");
    if (with_nonce) b.add_realm(realm).add_nonce(nonce);
    b.add_fingerprint();
    return std::move(b).finish().value();
  }

  std::vector<uint8_t> data_indication(const TransportAddress& peer, std::vector<uint8_t> data) {
    StunMessageBuilder b(StunClass::kIndication, StunMethod::kData, TransactionId{{9, 9, 9}});
    b.add_xor_peer_address(peer).add_data(data);
    return std::move(b).finish().value();
  }
};

// Keepalives off unless asked: the timing tests below count the wakeups of refreshes alone.
TurnClientConfig Config(TurnTransport transport = TurnTransport::kUdp, TimeDelta keepalive = TimeDelta::Zero()) {
  TurnClientConfig c;
  c.username = "alice";
  c.password = "secret";
  c.transport = transport;
  c.seed = 42;
  c.keepalive = keepalive;
  return c;
}

// Delivers everything the client queued to the server and its answers back.
void Exchange(TurnClient& client, FakeServer& server, Timestamp now) {
  for (int round = 0; round < 10; ++round) {
    std::vector<std::vector<uint8_t>> answers;
    while (auto out = client.pop_outgoing()) {
      if (auto a = server.handle(*out)) answers.push_back(*a);
    }
    if (answers.empty()) return;
    for (auto& a : answers) client.on_datagram(a, now);
  }
}

std::vector<TurnEvent::Type> Events(TurnClient& client) {
  std::vector<TurnEvent::Type> types;
  while (auto e = client.pop_event()) types.push_back(e->type);
  return types;
}

TurnClient Allocated(FakeServer& server, Timestamp now, TurnTransport transport = TurnTransport::kUdp,
                     TimeDelta keepalive = TimeDelta::Zero()) {
  auto client = TurnClient::Create(Config(transport, keepalive)).value();
  client.allocate(now);
  Exchange(client, server, now);
  REQUIRE(client.state() == TurnState::kAllocated);
  return client;
}

constexpr uint16_t kAllocate = 0x003, kRefresh = 0x004, kPermission = 0x008, kChannelBind = 0x009;

}  // namespace

TEST_CASE("Allocate: 401 challenge - then authenticated request - relayed and mapped addresses") {
  FakeServer server;
  const Timestamp t0 = Timestamp::Seconds(100);
  auto client = TurnClient::Create(Config()).value();
  CHECK(client.state() == TurnState::kIdle);
  client.allocate(t0);
  CHECK(client.state() == TurnState::kAllocating);
  Exchange(client, server, t0);
  CHECK(client.state() == TurnState::kAllocated);
  CHECK(server.methods == std::vector<uint16_t>{kAllocate, kAllocate});
  CHECK(client.relayed_address() == kRelayed);
  CHECK(client.mapped_address() == kMapped);
  CHECK(client.lifetime() == TimeDelta::Seconds(600));
  CHECK(client.realm() == "tern.test");
  CHECK(client.counters().auth_challenges == 1);
  CHECK(Events(client) == std::vector{TurnEvent::Type::kAllocated});
  // Refresh is due one minute before expiry.
  CHECK(client.next_wakeup() == t0 + TimeDelta::Seconds(540));
}

TEST_CASE("wrong password: the second 401 fails the allocation with its code") {
  FakeServer server;
  auto cfg = Config();
  cfg.password = "wrong";
  auto client = TurnClient::Create(cfg).value();
  client.allocate(Timestamp::Seconds(1));
  Exchange(client, server, Timestamp::Seconds(1));
  CHECK(client.state() == TurnState::kFailed);
  auto e = client.pop_event();
  REQUIRE(e.has_value());
  CHECK(e->type == TurnEvent::Type::kAllocationFailed);
  CHECK(e->error_code == 401);
  CHECK(server.requests == 2);
  CHECK_FALSE(client.next_wakeup().has_value());
}

TEST_CASE("Refresh before expiry - and a stale nonce (438) is retried with the new nonce") {
  FakeServer server;
  Timestamp now = Timestamp::Seconds(10);
  auto client = Allocated(server, now);
  (void)Events(client);  // the allocation's event, checked elsewhere
  server.nonce = "nonce-2";  // the server's nonce went stale
  now = *client.next_wakeup();
  CHECK(now == Timestamp::Seconds(10 + 540));
  client.process(now);
  Exchange(client, server, now);
  CHECK(server.methods == std::vector<uint16_t>{kAllocate, kAllocate, kRefresh, kRefresh});
  CHECK(server.refresh_lifetimes == std::vector<uint32_t>{600});
  CHECK(client.counters().stale_nonces == 1);
  CHECK(client.nonce() == "nonce-2");
  CHECK(client.state() == TurnState::kAllocated);
  CHECK(Events(client) == std::vector{TurnEvent::Type::kRefreshed});
  CHECK(client.next_wakeup() == now + TimeDelta::Seconds(540));
}

TEST_CASE("a short server lifetime refreshes at half the lifetime") {
  FakeServer server;
  server.lifetime = 60;
  auto client = Allocated(server, Timestamp::Seconds(0));
  CHECK(client.lifetime() == TimeDelta::Seconds(60));
  CHECK(client.next_wakeup() == Timestamp::Seconds(30));
}

TEST_CASE("permissions and channels refresh every 4 minutes (a channel keeps its 5-minute permission) - both survive 30 minutes") {
  FakeServer server;
  Timestamp now = Timestamp::Seconds(0);
  auto client = Allocated(server, now);
  REQUIRE(client.create_permission(kPeer, now).ok());
  auto channel = client.bind_channel(kPeer2, now);
  REQUIRE(channel.ok());
  CHECK(*channel == 0x4000);
  CHECK(client.bind_channel(kPeer2, now).value() == 0x4000);  // same peer, same channel
  Exchange(client, server, now);
  CHECK(client.permission_installed(kPeer));
  CHECK(client.permission_installed(kPeer2));  // the channel's permission
  CHECK(client.channel_for(kPeer2) == 0x4000);
  server.methods.clear();
  // Run 30 minutes of wakeups (bounded loop).
  int permissions = 0, channels = 0, refreshes = 0;
  for (int i = 0; i < 100 && client.next_wakeup() && *client.next_wakeup() <= Timestamp::Seconds(1800); ++i) {
    now = *client.next_wakeup();
    client.process(now);
    Exchange(client, server, now);
  }
  for (uint16_t m : server.methods) {
    permissions += m == kPermission;
    channels += m == kChannelBind;
    refreshes += m == kRefresh;
  }
  CHECK(permissions == 1800 / 240);  // at 240, 480, ..., 1680 s
  CHECK(channels == 1800 / 240);     // at 240, ..., 1680 s: each also refreshes the permission
  CHECK(refreshes == 1800 / 540);
  CHECK(client.permission_installed(kPeer));
  CHECK(client.channel_for(kPeer2) == 0x4000);
}

TEST_CASE("send: Send indication until the channel is bound - then ChannelData - receive both kinds") {
  FakeServer server;
  const Timestamp now = Timestamp::Seconds(5);
  auto client = Allocated(server, now);
  const std::vector<uint8_t> hello = {'h', 'e', 'l', 'l', 'o'};
  REQUIRE(client.create_permission(kPeer, now).ok());
  Exchange(client, server, now);
  REQUIRE(client.send(kPeer, hello).ok());
  Exchange(client, server, now);
  REQUIRE(server.sent_indications.size() == 1);
  CHECK(server.sent_indications[0].first == kPeer);
  CHECK(server.sent_indications[0].second == hello);
  REQUIRE(client.bind_channel(kPeer, now).ok());
  REQUIRE(client.send(kPeer, hello).ok());  // bind not answered yet: still an indication
  Exchange(client, server, now);
  CHECK(server.sent_indications.size() == 2);
  REQUIRE(client.send(kPeer, hello).ok());
  Exchange(client, server, now);
  REQUIRE(server.channel_data.size() == 1);
  CHECK(server.channel_data[0].first == 0x4000);
  CHECK(server.channel_data[0].second == hello);
  CHECK(client.counters().channel_data_sent == 1);
  CHECK(client.counters().send_indications == 2);

  client.on_datagram(server.data_indication(kPeer, {1, 2, 3}), now);
  std::vector<uint8_t> cd;
  REQUIRE(ChannelData::write(0x4000, std::vector<uint8_t>{4, 5}, false, cd).ok());
  client.on_datagram(cd, now);
  std::vector<uint8_t> unknown;
  REQUIRE(ChannelData::write(0x4123, std::vector<uint8_t>{6}, false, unknown).ok());
  client.on_datagram(unknown, now);
  auto r1 = client.pop_received();
  auto r2 = client.pop_received();
  REQUIRE(r1.has_value());
  REQUIRE(r2.has_value());
  CHECK(r1->peer == kPeer);
  CHECK(r1->data == std::vector<uint8_t>{1, 2, 3});
  CHECK_FALSE(r1->via_channel);
  CHECK(r2->peer == kPeer);
  CHECK(r2->data == std::vector<uint8_t>{4, 5});
  CHECK(r2->via_channel);
  CHECK_FALSE(client.pop_received().has_value());
  CHECK(client.counters().received_unknown_channel == 1);
}

TEST_CASE("UDP retransmission: RTO doubling - Rc = 7 sends - Rm = 16 RTO final wait (39.5 s)") {
  FakeServer server;
  server.silent = true;
  auto client = TurnClient::Create(Config()).value();
  const Timestamp t0 = Timestamp::Seconds(0);
  client.allocate(t0);
  std::vector<int64_t> send_times_ms;
  Timestamp now = t0;
  for (int i = 0; i < 20; ++i) {
    while (client.pop_outgoing()) send_times_ms.push_back((now - t0).ms());
    const auto next = client.next_wakeup();
    if (!next) break;
    now = *next;
    client.process(now);
  }
  CHECK(send_times_ms == std::vector<int64_t>{0, 500, 1500, 3500, 7500, 15500, 31500});
  CHECK((now - t0).ms() == 39500);
  CHECK(client.state() == TurnState::kFailed);
  CHECK(client.counters().timeouts == 1);
  CHECK(client.counters().retransmissions == 6);
  auto e = client.pop_event();
  REQUIRE(e.has_value());
  CHECK(e->type == TurnEvent::Type::kAllocationFailed);
  CHECK(std::string(e->reason) == "timeout");
}

TEST_CASE("TCP: one send - 39.5 s timeout - stream bytes split anywhere - ChannelData padded") {
  FakeServer server;
  {
    server.silent = true;
    auto client = TurnClient::Create(Config(TurnTransport::kTcp)).value();
    client.allocate(Timestamp::Seconds(0));
    CHECK(client.pop_outgoing().has_value());
    CHECK(client.next_wakeup() == Timestamp::Millis(39500));
    client.process(Timestamp::Millis(39500));
    CHECK_FALSE(client.pop_outgoing().has_value());
    CHECK(client.state() == TurnState::kFailed);
    server.silent = false;
  }
  auto client = TurnClient::Create(Config(TurnTransport::kTcp)).value();
  const Timestamp now = Timestamp::Seconds(1);
  client.allocate(now);
  // Feed the server's answers one byte at a time.
  for (int round = 0; round < 4; ++round) {
    while (auto out = client.pop_outgoing()) {
      if (auto a = server.handle(*out)) {
        for (uint8_t b : *a) client.on_stream_bytes(std::span<const uint8_t>(&b, 1), now);
      }
    }
  }
  REQUIRE(client.state() == TurnState::kAllocated);
  REQUIRE(client.bind_channel(kPeer, now).ok());
  while (auto out = client.pop_outgoing()) {
    if (auto a = server.handle(*out)) client.on_stream_bytes(*a, now);
  }
  REQUIRE(client.channel_for(kPeer).has_value());
  REQUIRE(client.send(kPeer, std::vector<uint8_t>{1, 2, 3, 4, 5}).ok());
  auto out = client.pop_outgoing();
  REQUIRE(out.has_value());
  CHECK(out->size() == 4 + 8);  // padded to 4 on a stream
  // Two messages in one chunk: a Data indication and padded ChannelData.
  std::vector<uint8_t> chunk = server.data_indication(kPeer, {7});
  REQUIRE(ChannelData::write(*client.channel_for(kPeer), std::vector<uint8_t>{8, 9}, true, chunk).ok());
  client.on_stream_bytes(chunk, now);
  CHECK(client.pop_received()->data == std::vector<uint8_t>{7});
  CHECK(client.pop_received()->data == std::vector<uint8_t>{8, 9});
  // A byte that is neither STUN nor ChannelData puts the stream out of step: the allocation is lost.
  const uint8_t garbage[4] = {0x80, 0, 0, 0};
  client.on_stream_bytes(garbage, now);
  CHECK(client.state() == TurnState::kFailed);
  CHECK(client.counters().stream_errors == 1);
}

TEST_CASE("responses with a bad MESSAGE-INTEGRITY are dropped - then the retransmission succeeds") {
  FakeServer server;
  auto client = TurnClient::Create(Config()).value();
  Timestamp now = Timestamp::Seconds(0);
  client.allocate(now);
  Exchange(client, server, now);  // 401 then authenticated Allocate answered
  REQUIRE(client.state() == TurnState::kAllocated);
  (void)Events(client);
  server.corrupt_integrity = true;
  REQUIRE(client.create_permission(kPeer, now).ok());
  Exchange(client, server, now);
  CHECK(client.counters().integrity_failures == 1);
  CHECK_FALSE(client.permission_installed(kPeer));
  server.corrupt_integrity = false;
  now = *client.next_wakeup();
  CHECK(now == Timestamp::Millis(500));
  client.process(now);
  Exchange(client, server, now);
  CHECK(client.permission_installed(kPeer));
  CHECK(Events(client) == std::vector{TurnEvent::Type::kPermissionCreated});
  // An answer to no request is counted, not acted on.
  auto stray = server.data_indication(kPeer, {});
  stray[1] = 0x03;  // turn it into a success response of some unknown transaction
  stray[0] = 0x01;
  client.on_datagram(stray, now);
  CHECK(client.counters().responses_unmatched == 1);
  const uint8_t junk[3] = {1, 2, 3};
  client.on_datagram(junk, now);
  CHECK(client.counters().malformed == 1);
}

TEST_CASE("tables are bounded: a new entry when full is refused - existing ones kept") {
  FakeServer server;
  auto cfg = Config();
  cfg.max_permissions = 2;
  cfg.max_channels = 1;
  auto client = TurnClient::Create(cfg).value();
  const Timestamp now = Timestamp::Seconds(0);
  CHECK_FALSE(client.create_permission(kPeer, now).ok());  // not allocated yet
  client.allocate(now);
  Exchange(client, server, now);
  REQUIRE(client.create_permission(TransportAddress::V4(10, 0, 0, 1, 1), now).ok());
  REQUIRE(client.create_permission(TransportAddress::V4(10, 0, 0, 2, 1), now).ok());
  CHECK(client.create_permission(TransportAddress::V4(10, 0, 0, 1, 9), now).ok());  // same IP
  CHECK(std::string(client.create_permission(TransportAddress::V4(10, 0, 0, 3, 1), now).error()) ==
        "permission table full");
  REQUIRE(client.bind_channel(kPeer, now).ok());
  CHECK(std::string(client.bind_channel(kPeer2, now).error()) == "channel table full");
  CHECK(client.permission_count() == 2);
  CHECK(client.channel_count() == 1);
  CHECK_FALSE(TurnClient::Create([] { auto c = Config(); c.username = ""; return c; }()).ok());
  CHECK_FALSE(TurnClient::Create([] { auto c = Config(); c.max_channels = 5000; return c; }()).ok());
}

TEST_CASE("memory of one client holding an allocation - a permission and a channel") {
  FakeServer server;
  const Timestamp now = Timestamp::Seconds(0);
  {  // warm up OpenSSL's lazily loaded providers and tables, which are per process, not per client
    auto warm = Allocated(server, now);
    REQUIRE(warm.create_permission(kPeer, now).ok());
  }
  const long long before = g_live_heap;
  auto client = std::make_unique<TurnClient>(Allocated(server, now));
  REQUIRE(client->create_permission(kPeer, now).ok());
  REQUIRE(client->bind_channel(kPeer2, now).ok());
  Exchange(*client, server, now);
  while (client->pop_event()) {
  }
  REQUIRE(client->channel_for(kPeer2).has_value());
  const long long heap = g_live_heap - before - static_cast<long long>(malloc_usable_size(client.get()));
  MESSAGE("TurnClient: sizeof " << sizeof(TurnClient) << " B + heap " << heap
                                << " B with one allocation, one permission, one channel (queues drained)");
  CHECK(heap > 0);
  CHECK(heap < 16 * 1024);  // a guard against an accidental per-client buffer, not a benchmark
}

TEST_CASE("deallocate sends Refresh with LIFETIME 0 and closes") {
  FakeServer server;
  const Timestamp now = Timestamp::Seconds(0);
  auto client = Allocated(server, now);
  (void)Events(client);
  client.deallocate(now);
  CHECK(client.state() == TurnState::kDeallocating);
  Exchange(client, server, now);
  CHECK(server.refresh_lifetimes == std::vector<uint32_t>{0});
  CHECK(client.state() == TurnState::kClosed);
  CHECK(Events(client) == std::vector{TurnEvent::Type::kDeallocated});
  CHECK_FALSE(client.next_wakeup().has_value());
  CHECK_FALSE(client.send(kPeer, std::vector<uint8_t>{1}).ok());
}

TEST_CASE("StunStreamFramer: reassembles - bounds its buffer - fails on a stream out of step") {
  StunStreamFramer f;
  std::vector<uint8_t> stream;
  StunMessageBuilder b(StunClass::kRequest, StunMethod::kBinding, TransactionId{});
  b.add_username("abc");
  const auto msg = std::move(b).finish().value();
  stream.insert(stream.end(), msg.begin(), msg.end());
  REQUIRE(ChannelData::write(0x4001, std::vector<uint8_t>{1}, true, stream).ok());
  stream.insert(stream.end(), msg.begin(), msg.end());
  std::vector<size_t> sizes;
  for (size_t i = 0; i < stream.size(); i += 3) {
    REQUIRE(f.push(std::span(stream).subspan(i, std::min<size_t>(3, stream.size() - i))).ok());
    for (auto m = f.next(); !m.empty(); m = f.next()) sizes.push_back(m.size());
  }
  CHECK(sizes == std::vector<size_t>{msg.size(), 8, msg.size()});
  CHECK(f.buffered() == 0);
  const uint8_t bad[4] = {0xC0, 0, 0, 0};
  REQUIRE(f.push(bad).ok());
  CHECK(f.next().empty());
  CHECK(f.failed());
  CHECK_FALSE(f.push(bad).ok());

  StunStreamFramer g;
  std::vector<uint8_t> big(StunStreamFramer::kMaxBuffered + 1);
  CHECK_FALSE(g.push(big).ok());
  CHECK(g.failed());
}

TEST_CASE("NAT keepalive: a Binding indication after 15 s of silence toward the server, none while data flows") {
  FakeServer server;
  Timestamp now = Timestamp::Seconds(0);
  auto client = Allocated(server, now, TurnTransport::kUdp, TimeDelta::Seconds(15));
  REQUIRE(client.next_wakeup() == now + TimeDelta::Seconds(15));
  // 60 s idle: one every 15 s.
  for (int i = 0; i < 20 && *client.next_wakeup() <= Timestamp::Seconds(60); ++i) {
    now = *client.next_wakeup();
    client.process(now);
    Exchange(client, server, now);
  }
  CHECK(server.keepalives == 4);
  CHECK(client.counters().keepalives == 4);
  // Data every 5 s for 60 s: the NAT binding is kept by it, no keepalive.
  const std::vector<uint8_t> data{1, 2, 3};
  for (int i = 0; i < 12; ++i) {
    now = now + TimeDelta::Seconds(5);
    REQUIRE(client.send(kPeer, data).ok());
    client.process(now);
    Exchange(client, server, now);
  }
  CHECK(server.keepalives == 4);
  // Over TCP there is none (the connection is the binding); a negative interval is refused.
  auto tcp = Allocated(server, now, TurnTransport::kTcp, TimeDelta::Seconds(15));
  CHECK(tcp.next_wakeup() > now + TimeDelta::Seconds(15));
  CHECK_FALSE(TurnClient::Create([] {
                TurnClientConfig c;
                c.username = "u";
                c.keepalive = TimeDelta::Seconds(-1);
                return c;
              }())
                  .ok());
}
