// SctpAssociation: two associations back to back in memory (virtual time, seeded loss), and one
// pair over tern's DtlsTransport so that DTLS -> SCTP -> DCEP runs as in a call.
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

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
}
