// SctpAssociation: two associations back to back in memory (virtual time, seeded loss), and one
// pair over tern's DtlsTransport so that DTLS -> SCTP -> DCEP runs as in a call.
#include <doctest/doctest.h>

#include <functional>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "support/dtls_pair.h"
#include "support/sctp_pair.h"

using namespace tern;
using namespace tern::sctp;
using tern::test::SctpPair;
using Type = SctpEvent::Type;

namespace {

std::vector<uint8_t> Payload(size_t size, uint32_t seed) {
  std::vector<uint8_t> p(size);
  for (size_t i = 0; i < size; ++i) p[i] = static_cast<uint8_t>((i * 31 + seed * 7) >> 2);
  return p;
}

std::vector<const SctpEvent*> Messages(const std::vector<SctpEvent>& events, uint16_t channel) {
  std::vector<const SctpEvent*> out;
  for (const auto& e : events) {
    if (e.type == Type::kMessage && e.channel == channel) out.push_back(&e);
  }
  return out;
}

DataChannelInit Init(std::string label, bool ordered = true, std::optional<uint16_t> id = std::nullopt,
                     bool negotiated = false) {
  DataChannelInit init;
  init.label = std::move(label);
  init.ordered = ordered;
  init.id = id;
  init.negotiated = negotiated;
  return init;
}

void Connect(SctpPair& p) {
  p.start();
  REQUIRE(p.run_until([&] { return p.a->is_up() && p.b->is_up(); }, TimeDelta::Seconds(5)));
}

}  // namespace

TEST_CASE("data channels: open/ack both ways by parity, ordered 1000 incl. 256 KiB, unordered, sizes") {
  SctpConfig big;
  big.remote_max_message_size = 262144;
  SctpPair p(1, big, big);
  // A channel made before the association is up opens with it.
  const uint16_t early = p.a->create_channel(Init("early"), p.now).value();
  CHECK(early == 0);
  CHECK(p.a->channel_state(early) == DataChannelState::kConnecting);
  Connect(p);
  CHECK(p.a->negotiated_streams() == 1024);
  CHECK(p.a->channel_state(early) == DataChannelState::kOpen);
  const uint16_t from_b = p.b->create_channel([] { auto i = Init("odd", false); i.protocol = "chat"; return i; }(), p.now).value();
  CHECK(from_b == 1);
  CHECK(p.a->create_channel(Init("x"), p.now).value() == 2);
  REQUIRE(p.run_until([&] { return SctpPair::count(p.events_b, Type::kChannelOpened) == 3 &&
                                   SctpPair::count(p.events_a, Type::kChannelOpened) == 3; },
                      TimeDelta::Seconds(2)));
  // Remote-opened channels carry the label, protocol and ordering of the DCEP OPEN.
  CHECK(p.a->channel_stats(1)->label == "odd");
  CHECK(p.a->channel_stats(1)->protocol == "chat");
  CHECK(p.b->channel_stats(0)->label == "early");
  CHECK(p.b->channel_stats(2)->state == DataChannelState::kOpen);
  // A channel id of the peer's parity is refused locally.
  CHECK_FALSE(p.a->create_channel(Init("bad", true, 5), p.now).ok());

  // 1000 ordered messages, every 100th one 256 KiB, mixed string and binary, all in order.
  size_t bytes = 0;
  int sent = 0;
  for (int i = 0; i < 1000; ++i) {
    const size_t size = i % 100 == 50 ? 262144 : 1 + static_cast<size_t>(i * 37 % 3000);
    const auto msg = Payload(size, static_cast<uint32_t>(i));
    // Keep the send FIFO moving: the whole run would otherwise exceed max_buffered_amount.
    if (!p.a->send(early, msg, i % 2 == 0, p.now).ok()) break;
    ++sent;
    bytes += size;
    if (i % 20 == 0) p.step();
  }
  CHECK(sent == 1000);
  REQUIRE(p.run_until([&] { return Messages(p.events_b, early).size() == 1000; }, TimeDelta::Seconds(30)));
  auto got = Messages(p.events_b, early);
  bool in_order = true;
  for (int i = 0; i < 1000; ++i) {
    const size_t size = i % 100 == 50 ? 262144 : 1 + static_cast<size_t>(i * 37 % 3000);
    in_order = in_order && got[i]->data == Payload(size, static_cast<uint32_t>(i)) && got[i]->binary == (i % 2 == 0);
  }
  CHECK(in_order);
  CHECK(p.b->channel_stats(early)->messages_received == 1000);
  CHECK(p.b->channel_stats(early)->bytes_received == bytes);
  CHECK(p.a->channel_stats(early)->messages_sent == 1000);
  CHECK(p.a->channel_stats(early)->bytes_sent == bytes);

  // Unordered from B, empty string and binary messages (PPIDs 56 and 57).
  for (int i = 0; i < 50; ++i) CHECK(p.b->send(from_b, Payload(100, i), true, p.now).ok());
  CHECK(p.b->send(from_b, {}, false, p.now).ok());
  CHECK(p.b->send(from_b, {}, true, p.now).ok());
  REQUIRE(p.run_until([&] { return Messages(p.events_a, from_b).size() == 52; }, TimeDelta::Seconds(5)));
  auto unordered = Messages(p.events_a, from_b);
  CHECK(unordered[50]->data.empty());
  CHECK_FALSE(unordered[50]->binary);
  CHECK(unordered[51]->data.empty());
  CHECK(unordered[51]->binary);

  // Sizes: above the peer's max-message-size refused with a reason; the limit itself passes.
  p.a->set_remote_max_message_size(65536);
  const Status too_large = p.a->send(early, Payload(65537, 1), true, p.now);
  CHECK_FALSE(too_large.ok());
  CHECK(std::string(too_large.error()).find("max-message-size") != std::string::npos);
  CHECK(p.a->counters().refused_messages == 1);
  CHECK(p.a->send(early, Payload(65536, 2), true, p.now).ok());
  CHECK(p.run_until([&] { return Messages(p.events_b, early).size() == 1001; }, TimeDelta::Seconds(5)));
  CHECK(p.a->counters().dcep_errors == 0);
  CHECK(p.b->counters().dcep_errors == 0);

  // A negotiated channel (same id on both sides, no DCEP) carries data both ways.
  const DataChannelInit negotiated = Init("n", true, 7, true);
  CHECK(p.a->create_channel(negotiated, p.now).value() == 7);
  CHECK(p.b->create_channel(negotiated, p.now).value() == 7);
  CHECK(p.a->send(7, Payload(10, 3), false, p.now).ok());
  CHECK(p.b->send(7, Payload(11, 4), false, p.now).ok());
  CHECK(p.run_until([&] { return Messages(p.events_b, 7).size() == 1 && Messages(p.events_a, 7).size() == 1; },
                    TimeDelta::Seconds(2)));
  // Every packet fitted max_packet_size (full-size packets carried the 256 KiB messages).
  CHECK(p.a_to_b.largest == p.a->config().max_packet_size);
  CHECK(p.b_to_a.largest <= p.b->config().max_packet_size);
}

TEST_CASE("data channels under seeded loss: max-retransmits=0 loses some without stalling, reliable loses none, lifetime expires") {
  SctpPair p(16);
  Connect(p);
  const uint16_t lossy = p.a->create_channel([] { auto i = Init("rtx0", false); i.max_retransmits = 0; return i; }(), p.now).value();
  const uint16_t reliable = p.a->create_channel(Init("reliable"), p.now).value();
  REQUIRE(p.run_until([&] { return SctpPair::count(p.events_b, Type::kChannelOpened) == 2; }, TimeDelta::Seconds(2)));
  CHECK(p.b->channel_stats(lossy)->label == "rtx0");
  p.a_to_b.loss = 0.10;
  p.b_to_a.loss = 0.10;
  // 600 messages on each channel, 60 per 100 ms (one message is one packet).
  for (int i = 0; i < 600; ++i) {
    CHECK(p.a->send(lossy, Payload(800, i), true, p.now).ok());
    CHECK(p.a->send(reliable, Payload(800, i + 1000), true, p.now).ok());
    if (i % 6 == 5) p.run_for(TimeDelta::Millis(10));
  }
  const bool all_reliable = p.run_until([&] { return Messages(p.events_b, reliable).size() == 600; }, TimeDelta::Seconds(60));
  CHECK(all_reliable);
  auto got = Messages(p.events_b, reliable);
  bool in_order = got.size() == 600;
  for (size_t i = 0; in_order && i < got.size(); ++i) in_order = got[i]->data == Payload(800, static_cast<int>(i) + 1000);
  CHECK(in_order);
  // The unreliable channel: fewer messages, each intact, and the association keeps going.
  p.run_for(TimeDelta::Seconds(2));
  const size_t lossy_received = Messages(p.events_b, lossy).size();
  MESSAGE("max-retransmits=0 delivered " << lossy_received << " of 600; abandoned " << p.a->counters().abandoned_messages
                                         << "; virtual time " << (p.now - Timestamp::Seconds(1)).ms() << " ms");
  CHECK(lossy_received < 600);
  CHECK(lossy_received > 400);
  CHECK(p.a->counters().abandoned_messages > 0);
  CHECK(p.a_to_b.dropped > 0);
  p.a_to_b.loss = p.b_to_a.loss = 0;
  CHECK(p.a->send(lossy, Payload(10, 1), true, p.now).ok());
  CHECK(p.run_until([&] { return Messages(p.events_b, lossy).size() == lossy_received + 1; }, TimeDelta::Seconds(2)));
  CHECK(p.a_to_b.largest <= p.a->config().max_packet_size);
  CHECK(p.b_to_a.largest <= p.b->config().max_packet_size);

  // max-packet-lifetime (PR-SCTP TTL, measured on usrsctp's gettimeofday, here the virtual clock):
  // messages sent into a 1 s outage with a 100 ms lifetime are abandoned, later ones arrive.
  const uint16_t timed = p.a->create_channel([] { auto i = Init("ttl"); i.max_packet_lifetime_ms = 100; return i; }(), p.now).value();
  REQUIRE(p.run_until([&] { return SctpPair::count(p.events_b, Type::kChannelOpened) == 3; }, TimeDelta::Seconds(2)));
  p.a_to_b.loss = 1.0;
  const uint64_t abandoned = p.a->counters().abandoned_messages;
  for (int i = 0; i < 5; ++i) CHECK(p.a->send(timed, Payload(100, i), true, p.now).ok());
  p.run_for(TimeDelta::Seconds(1));
  p.a_to_b.loss = 0;
  CHECK(p.a->send(timed, Payload(100, 77), true, p.now).ok());
  REQUIRE(p.run_until([&] { return Messages(p.events_b, timed).size() >= 1; }, TimeDelta::Seconds(5)));
  p.run_for(TimeDelta::Millis(500));
  CHECK(Messages(p.events_b, timed).size() == 1);
  CHECK(Messages(p.events_b, timed).back()->data == Payload(100, 77));
  CHECK(p.a->counters().abandoned_messages >= abandoned + 5);
}

TEST_CASE("data channels: buffered amount and its low-water mark, full send buffer, close by reset on both sides, garbage") {
  SctpConfig small;
  small.send_buffer = 64 * 1024;          // usrsctp's own buffer
  small.max_buffered_amount = 512 * 1024;  // tern's FIFO behind it
  SctpPair p(3, small, {});
  Connect(p);
  const uint16_t id = p.a->create_channel(Init("bulk"), p.now).value();
  p.a->set_buffered_amount_low_threshold(id, 100 * 1024);
  int accepted = 0;
  Status refused;
  for (int i = 0; i < 100 && refused.ok(); ++i) {
    refused = p.a->send(id, Payload(16 * 1024, i), true, p.now);
    if (refused.ok()) ++accepted;
  }
  CHECK_FALSE(refused.ok());
  CHECK(std::string(refused.error()).find("buffer full") != std::string::npos);
  CHECK(p.a->buffered_amount(id) > 400 * 1024);
  CHECK(p.a->buffered_amount(id) <= 512 * 1024);
  REQUIRE(p.run_until([&] { return SctpPair::count(p.events_a, Type::kBufferedAmountLow) == 1; }, TimeDelta::Seconds(5)));
  CHECK(p.a->buffered_amount(id) <= 100 * 1024);
  REQUIRE(p.run_until([&] { return Messages(p.events_b, id).size() == static_cast<size_t>(accepted); }, TimeDelta::Seconds(5)));
  CHECK(p.a->buffered_amount(id) == 0);
  CHECK(SctpPair::count(p.events_a, Type::kBufferedAmountLow) == 1);  // fired once, on the crossing

  // Close with messages still queued: they arrive first, then both sides see the close.
  for (int i = 0; i < 30; ++i) CHECK(p.a->send(id, Payload(16 * 1024, i), true, p.now).ok());
  p.a->close_channel(id, p.now);
  CHECK(p.a->channel_state(id) == DataChannelState::kClosing);
  CHECK_FALSE(p.a->send(id, Payload(1, 0), true, p.now).ok());
  REQUIRE(p.run_until([&] { return SctpPair::count(p.events_a, Type::kChannelClosed) == 1 &&
                                   SctpPair::count(p.events_b, Type::kChannelClosed) == 1; },
                      TimeDelta::Seconds(5)));
  CHECK(Messages(p.events_b, id).size() == static_cast<size_t>(accepted) + 30);
  CHECK(p.a->channel_state(id) == DataChannelState::kClosed);
  CHECK(p.b->channel_state(id) == DataChannelState::kClosed);
  // The id is free again and opens a new channel on both sides; the peer closes it this time.
  CHECK(p.a->create_channel(Init("again"), p.now).value() == id);
  REQUIRE(p.run_until([&] { return SctpPair::count(p.events_b, Type::kChannelOpened) == 2; }, TimeDelta::Seconds(2)));
  p.b->close_channel(id, p.now);
  REQUIRE(p.run_until([&] { return SctpPair::count(p.events_a, Type::kChannelClosed) == 2 &&
                                   SctpPair::count(p.events_b, Type::kChannelClosed) == 2; },
                      TimeDelta::Seconds(5)));

  // Garbage: random packets, truncated and bit-flipped real ones, and bad DCEP on a live stream
  // are counted or dropped; the association stays up and carries data.
  const uint16_t live = p.a->create_channel(Init("live"), p.now).value();
  REQUIRE(p.run_until([&] { return SctpPair::count(p.events_b, Type::kChannelOpened) == 3; }, TimeDelta::Seconds(2)));
  const size_t before = Messages(p.events_b, live).size();  // the id was used before
  Random random(99);
  for (int i = 0; i < 300; ++i) {
    std::vector<uint8_t> junk(random.next_u32() % 1300);
    for (auto& byte : junk) byte = static_cast<uint8_t>(random.next_u32());
    p.b->on_packet(junk, p.now);
  }
  CHECK(p.a->send(live, Payload(500, 5), false, p.now).ok());
  while (auto packet = p.a->pop_outgoing()) {
    auto cut = *packet;
    cut.resize(cut.size() / 2);
    p.b->on_packet(cut, p.now);
    auto flipped = *packet;
    flipped[flipped.size() - 1] ^= 0x40;
    p.b->on_packet(flipped, p.now);
    p.b->on_packet(*packet, p.now);
  }
  CHECK(p.run_until([&] { return Messages(p.events_b, live).size() == before + 1; }, TimeDelta::Seconds(2)));
  CHECK(Messages(p.events_b, live).back()->data == Payload(500, 5));
  CHECK(p.a->is_up());
  CHECK(p.b->is_up());
  CHECK(SctpPair::count(p.events_b, Type::kAssociationDown) == 0);
}

TEST_CASE("data channels over DtlsTransport: DTLS -> SCTP -> DCEP, both roles, 256 KiB echoed, close") {
  Timestamp now = Timestamp::Seconds(1);
  dtls::ScopedOpenSslVirtualClock clock([&] { return now; });
  test::DtlsPair dtls = test::ConnectedPair(test::PairConfigs(), now);
  SctpConfig client_config;
  client_config.role = SctpRole::kDtlsClient;
  client_config.max_packet_size = dtls.client->max_application_size();
  client_config.remote_max_message_size = 262144;  // as Chromium advertises
  SctpConfig server_config = client_config;
  server_config.role = SctpRole::kDtlsServer;
  server_config.max_packet_size = dtls.server->max_application_size();
  auto client = SctpAssociation::Create(client_config).value();
  auto server = SctpAssociation::Create(server_config).value();
  std::vector<SctpEvent> client_events, server_events;
  uint64_t records = 0;
  // One pass: SCTP packets into DTLS records, datagrams across, records back into SCTP.
  auto pump = [&] {
    for (int round = 0; round < 1000; ++round) {
      bool moved = false;
      for (auto [sctp, tls] : {std::pair{client.get(), dtls.client.get()}, std::pair{server.get(), dtls.server.get()}}) {
        while (auto packet = sctp->pop_outgoing()) {
          const Status sent = tls->send_application(*packet, now);
          REQUIRE_MESSAGE(sent.ok(), std::string(sent.error()));
          moved = true;
        }
      }
      moved |= test::Deliver(*dtls.client, *dtls.server, now) > 0;
      moved |= test::Deliver(*dtls.server, *dtls.client, now) > 0;
      for (auto [sctp, tls] : {std::pair{client.get(), dtls.client.get()}, std::pair{server.get(), dtls.server.get()}}) {
        while (auto record = tls->pop_application()) {
          ++records;
          sctp->on_packet(*record, now);
          moved = true;
        }
      }
      if (!moved) break;
    }
    while (auto e = client->pop_event()) client_events.push_back(std::move(*e));
    while (auto e = server->pop_event()) server_events.push_back(std::move(*e));
  };
  auto run_until = [&](const std::function<bool()>& done) {
    for (int i = 0; i < 20000 && !done(); ++i) {
      pump();
      Timestamp next = Timestamp::PlusInfinity();
      for (auto* s : {client.get(), server.get()}) {
        if (auto w = s->next_wakeup()) next = std::min(next, *w);
      }
      now = std::max(now, next);
      for (auto* s : {client.get(), server.get()}) {
        if (auto w = s->next_wakeup(); w && *w <= now) s->process(now);
      }
    }
    return done();
  };
  client->start(now);
  server->start(now);
  REQUIRE(run_until([&] { return client->is_up() && server->is_up(); }));
  const uint16_t from_client = client->create_channel(Init("from-client"), now).value();
  const uint16_t from_server = server->create_channel(Init("from-server"), now).value();
  CHECK(from_client % 2 == 0);
  CHECK(from_server % 2 == 1);
  REQUIRE(run_until([&] { return SctpPair::count(client_events, Type::kChannelOpened) == 2 &&
                                 SctpPair::count(server_events, Type::kChannelOpened) == 2; }));
  // The client sends on its channel, the server echoes each message back on the same channel.
  const std::vector<size_t> sizes = {1, 1000, 262144, 5000, 262144, 0};
  for (size_t i = 0; i < sizes.size(); ++i) CHECK(client->send(from_client, Payload(sizes[i], i), i % 2 == 0, now).ok());
  REQUIRE(run_until([&] { return Messages(server_events, from_client).size() == sizes.size(); }));
  for (const SctpEvent* m : Messages(server_events, from_client)) CHECK(server->send(from_client, m->data, m->binary, now).ok());
  REQUIRE(run_until([&] { return Messages(client_events, from_client).size() == sizes.size(); }));
  auto echoed = Messages(client_events, from_client);
  for (size_t i = 0; i < sizes.size(); ++i) {
    CHECK(echoed[i]->data == Payload(sizes[i], i));
    CHECK(echoed[i]->binary == (i % 2 == 0));
  }
  CHECK(server->send(from_server, Payload(3, 9), false, now).ok());
  REQUIRE(run_until([&] { return Messages(client_events, from_server).size() == 1; }));
  CHECK(client->channel_stats(from_server)->label == "from-server");
  CHECK(records > 400);  // 2 x 512 KiB went through DTLS records
  CHECK(dtls.client->counters().application_dropped == 0);
  CHECK(dtls.server->counters().application_dropped == 0);
  server->close_channel(from_client, now);
  REQUIRE(run_until([&] { return SctpPair::count(client_events, Type::kChannelClosed) == 1 &&
                                 SctpPair::count(server_events, Type::kChannelClosed) == 1; }));
  CHECK(client->channel_state(from_server) == DataChannelState::kOpen);
  CHECK(client->counters().dcep_errors + server->counters().dcep_errors == 0);
}

namespace {

// usrsctp's own timer defaults (what tern ran with before SctpConfig set them).
sctp::SctpConfig UsrsctpDefaultTimers() {
  sctp::SctpConfig c;
  c.rto_initial = TimeDelta::Seconds(3);
  c.rto_min = TimeDelta::Seconds(1);
  c.rto_max = TimeDelta::Seconds(60);
  c.max_retransmissions = 10;
  return c;
}

struct OutageOutcome {
  bool delivered = false;
  TimeDelta after_restore = TimeDelta::Zero();  // restore -> the message arrived
  bool association_down = false;
};

// A reliable message sent as the link goes dark both ways for `outage`: when it arrives after the
// link returns, and whether the association survived.
OutageOutcome ReliableAcrossOutage(sctp::SctpConfig config, TimeDelta outage) {
  SctpPair p(23, config, config);
  Connect(p);
  const uint16_t ch = p.a->create_channel(Init("outage"), p.now).value();
  REQUIRE(p.run_until([&] { return SctpPair::count(p.events_b, Type::kChannelOpened) == 1; }, TimeDelta::Seconds(2)));
  for (int i = 0; i < 20; ++i) {  // a little traffic first: the RTO comes from measured RTTs
    REQUIRE(p.a->send(ch, Payload(200, i), true, p.now).ok());
    p.run_for(TimeDelta::Millis(20));
  }
  REQUIRE(p.run_until([&] { return Messages(p.events_b, ch).size() == 20; }, TimeDelta::Seconds(2)));
  p.a_to_b.loss = p.b_to_a.loss = 1.0;
  REQUIRE(p.a->send(ch, Payload(300, 99), true, p.now).ok());
  p.run_for(outage);

  p.a_to_b.loss = p.b_to_a.loss = 0;
  const Timestamp restored = p.now;
  OutageOutcome o;
  o.delivered = p.run_until([&] { return Messages(p.events_b, ch).size() == 21; }, TimeDelta::Seconds(70));
  o.after_restore = p.now - restored;
  o.association_down = SctpPair::count(p.events_a, Type::kAssociationDown) > 0;
  return o;
}

}  // namespace

TEST_CASE("data channels after an outage: the retransmission backoff is capped at rto_max, the association outlives it") {
  // 16 s dark: with usrsctp's timers the retransmissions go 1, 2, 4, 8, 16 s apart (1, 3, 7, 15,
  // 31 s into the outage), so the message waits ~15 s after the link is back; with tern's
  // (400 ms .. 3 s) at most ~3 s.
  const OutageOutcome tern16 = ReliableAcrossOutage({}, TimeDelta::Seconds(16));
  const OutageOutcome usrsctp16 = ReliableAcrossOutage(UsrsctpDefaultTimers(), TimeDelta::Seconds(16));
  MESSAGE("16 s outage: the message arrived " << tern16.after_restore.ms() << " ms after the link returned (tern's timers), "
          << usrsctp16.after_restore.ms() << " ms (usrsctp's defaults)");
  CHECK(tern16.delivered);
  CHECK_FALSE(tern16.association_down);
  CHECK(tern16.after_restore <= TimeDelta::Millis(3200));
  CHECK(usrsctp16.delivered);
  CHECK(usrsctp16.after_restore > TimeDelta::Seconds(8));  // what the setting changes
  // 40 s dark (ICE would have restarted): the association is still there and delivers; with
  // usrsctp's limit of 10 retransmissions it had given up.
  const OutageOutcome tern40 = ReliableAcrossOutage({}, TimeDelta::Seconds(40));
  CHECK(tern40.delivered);
  CHECK_FALSE(tern40.association_down);
  CHECK(tern40.after_restore <= TimeDelta::Millis(3200));
  sctp::SctpConfig ten = sctp::SctpConfig{};
  ten.max_retransmissions = 10;
  const OutageOutcome limited40 = ReliableAcrossOutage(ten, TimeDelta::Seconds(40));
  CHECK(limited40.association_down);
  CHECK_FALSE(limited40.delivered);
  // Bad bounds are refused.
  sctp::SctpConfig bad;
  bad.rto_min = TimeDelta::Seconds(2);  // above rto_initial
  CHECK_FALSE(sctp::SctpAssociation::Create(bad).ok());
  bad = sctp::SctpConfig{};
  bad.max_retransmissions = 0;
  CHECK_FALSE(sctp::SctpAssociation::Create(bad).ok());
}
