// PacketStore (a sender's packets shared by the hops' RTX histories) and PacketHistory's entries
// by reference into it: bounds and the policy when full, RTX bytes identical to a history that
// copies, a NACK after the sender's packet left the store, the store pinned while referenced.
#include "tern/recovery/packet_store.h"

#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "recovery_test_util.h"
#include "tern/core/byte_io.h"
#include "tern/recovery/packet_history.h"

using namespace tern;
using namespace tern::recovery;
using tern::recovery::test::random_packet;
using tern::recovery::test::same_bytes;

namespace {

constexpr uint32_t kStoreMediaSsrc = 0x5151, kStoreRtxSsrc = 0x5252;

PacketHistory::Config history_config() {
  PacketHistory::Config c;
  c.rtx_ssrc = kStoreRtxSsrc;
  c.rtx_payload_type = 97;
  c.retransmission_rate = DataRate::MegabitsPerSec(100);
  c.max_age = TimeDelta::Seconds(1);
  return c;
}

// What a forwarding hop sends of `original`: its own sequence number, SSRC and payload type, and
// the first payload bytes rewritten (a layer selector's picture id), the rest untouched.
rtp::RtpPacket as_forwarded(const rtp::RtpPacket& original, uint16_t seq) {
  rtp::RtpPacket sent = original;
  sent.set_sequence_number(seq);
  sent.set_ssrc(kStoreMediaSsrc);
  sent.set_payload_type(96);
  std::span<uint8_t> payload = sent.mutable_payload();
  for (size_t i = 0; i < payload.size() && i < 3; ++i) payload[i] = static_cast<uint8_t>(payload[i] ^ 0x5A);
  return sent;
}

std::vector<uint8_t> bytes_of(std::span<const uint8_t> s) { return std::vector<uint8_t>(s.begin(), s.end()); }

}  // namespace

TEST_CASE("packet store: numbers, bounded by count (the oldest dropped when full) and by age") {
  CHECK_FALSE(PacketStore::Create({.max_packets = 0, .max_age = TimeDelta::Seconds(1)}).ok());
  CHECK_FALSE(PacketStore::Create({.max_packets = 8, .max_age = TimeDelta::Zero()}).ok());
  auto created = PacketStore::Create({.max_packets = 8, .max_age = TimeDelta::Millis(100)});
  REQUIRE(created.ok());
  PacketStore& store = **created;
  Random rng(7);
  std::vector<rtp::RtpPacket> packets;
  for (int i = 0; i < 20; ++i) packets.push_back(random_packet(rng, static_cast<uint16_t>(i), 0, 0x77, 96, 300));
  // Full: each put beyond 8 drops the oldest.
  for (int i = 0; i < 20; ++i) {
    CHECK(store.put(packets[static_cast<size_t>(i)], Timestamp::Millis(i)) == static_cast<uint64_t>(i + 1));
    CHECK(store.size() <= 8);
  }
  CHECK(store.size() == 8);
  CHECK(store.capacity() <= 8);
  CHECK(store.dropped_full() == 12);
  CHECK_FALSE(store.get(0).has_value());
  CHECK_FALSE(store.get(12).has_value());
  for (uint64_t n = 13; n <= 20; ++n) {
    const auto held = store.get(n);
    REQUIRE(held.has_value());
    CHECK(bytes_of(held->bytes) == bytes_of(packets[n - 1].data()));
    CHECK(held->payload_offset == packets[n - 1].header().header_size);
  }
  CHECK_FALSE(store.get(21).has_value());
  // By age: a put 100 ms after the newest drops everything older than 100 ms.
  CHECK(store.put(packets[0], Timestamp::Millis(19 + 101)) == 21);
  CHECK(store.size() == 1);
  CHECK(store.dropped_age() == 8);
  CHECK(store.get(21).has_value());
}

TEST_CASE("packet history by reference: RTX bytes identical to a history that copies") {
  auto store = PacketStore::Create({});
  REQUIRE(store.ok());
  auto by_copy = PacketHistory::Create(history_config());
  auto by_reference = PacketHistory::Create(history_config());
  REQUIRE(by_copy.ok());
  REQUIRE(by_reference.ok());
  Random rng(11);
  std::vector<uint16_t> seqs;
  Timestamp now = Timestamp::Seconds(5);
  for (int i = 0; i < 400; ++i, now += TimeDelta::Millis(1)) {
    // Random headers (CSRCs, extensions), payloads from 1 byte, padding: some fit by reference,
    // the shortest are copied; both histories must answer alike.
    const rtp::RtpPacket original = random_packet(rng, static_cast<uint16_t>(rng.next_u32()), rng.next_u32(), 0x77, 100);
    const uint64_t number = (*store)->put(original, now);
    const uint16_t seq = static_cast<uint16_t>(60000 + i);  // wraps
    const rtp::RtpPacket sent = as_forwarded(original, seq);
    by_copy->put(sent, now);
    by_reference->put(sent, StoredPacketRef{&*store, number}, now);
    seqs.push_back(seq);
    const rtp::RtpPacket* kept = by_reference->get(seq);
    REQUIRE(kept != nullptr);
    CHECK(same_bytes(*kept, sent));
  }
  CHECK(by_reference->pinned_stores() == 1);
  const auto from_copy = by_copy->on_nack(seqs, now, TimeDelta::Millis(50));
  const auto from_reference = by_reference->on_nack(seqs, now, TimeDelta::Millis(50));
  REQUIRE(from_copy.size() == seqs.size());
  REQUIRE(from_reference.size() == from_copy.size());
  for (size_t i = 0; i < from_copy.size(); ++i) CHECK(same_bytes(from_reference[i], from_copy[i]));
  CHECK(by_reference->stats().store_misses == 0);
}

TEST_CASE("packet history by reference: a NACK after the sender's packet left the store is not found") {
  auto store = PacketStore::Create({.max_packets = 4, .max_age = TimeDelta::Seconds(1)});
  REQUIRE(store.ok());
  auto h = PacketHistory::Create(history_config());
  REQUIRE(h.ok());
  Random rng(12);
  Timestamp now = Timestamp::Seconds(1);
  for (uint16_t i = 0; i < 10; ++i, now += TimeDelta::Millis(5)) {
    const rtp::RtpPacket original = random_packet(rng, i, 0, 0x77, 96, 500);
    const uint64_t number = (*store)->put(original, now);
    h->put(as_forwarded(original, static_cast<uint16_t>(100 + i)), StoredPacketRef{&*store, number}, now);
  }
  CHECK(h->size() == 10);  // the history keeps its entries; six of them refer to dropped packets
  const std::vector<uint16_t> nack = {100, 105, 106, 109};
  const auto rtx = h->on_nack(nack, now, TimeDelta::Millis(50));
  REQUIRE(rtx.size() == 2);
  CHECK(load_be16(rtx[0].payload().data()) == 106);  // the OSN: the first still in the store
  CHECK(load_be16(rtx[1].payload().data()) == 109);
  CHECK(h->stats().store_misses == 2);
  CHECK(h->stats().not_found == 2);
  CHECK(h->get(100) == nullptr);
}

TEST_CASE("packet history by reference: a store outlives its owner while referenced, released with its last entry") {
  auto created = PacketStore::Create({});
  REQUIRE(created.ok());
  std::shared_ptr<PacketStore> owner = std::move(created).value();
  const std::weak_ptr<PacketStore> watch = owner;
  auto h = PacketHistory::Create(history_config());
  REQUIRE(h.ok());
  Random rng(13);
  Timestamp now = Timestamp::Seconds(1);
  std::vector<rtp::RtpPacket> sent;
  for (uint16_t i = 0; i < 5; ++i, now += TimeDelta::Millis(10)) {
    const rtp::RtpPacket original = random_packet(rng, i, 0, 0x77, 96, 500);
    const uint64_t number = owner->put(original, now);
    sent.push_back(as_forwarded(original, i));
    h->put(sent.back(), StoredPacketRef{&owner, number}, now);
  }
  owner.reset();  // the sender's leg is gone
  REQUIRE_FALSE(watch.expired());
  const std::vector<uint16_t> nack = {2};
  const auto rtx = h->on_nack(nack, now, TimeDelta::Millis(50));
  REQUIRE(rtx.size() == 1);
  CHECK(load_be16(rtx[0].payload().data()) == 2);
  CHECK(same_bytes(*h->get(2), sent[2]));
  const rtp::RtpPacket other = random_packet(rng, 9, 0, 0x77, 96, 500);
  CHECK(h->pinned_stores() == 1);
  // Once every entry referring to it left (by age here), the history lets the store go.
  h->put(other, now + TimeDelta::Seconds(2));
  CHECK(h->size() == 1);
  CHECK(h->pinned_stores() == 0);
  CHECK(watch.expired());
}
