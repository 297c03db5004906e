#include "tern/recovery/fec_window.h"

#include <doctest/doctest.h>

#include <vector>

#include "recovery_test_util.h"

using namespace tern;
using namespace tern::recovery;
using tern::recovery::test::random_packet;
using tern::recovery::test::same_bytes;

TEST_CASE("fec window: media and FEC stores stay within their bounds") {
  Random rng(1);
  FecWindow w({16, 4});
  std::vector<rtp::RtpPacket> recovered;
  for (uint16_t s = 0; s < 100; ++s) w.add_media(random_packet(rng, static_cast<uint16_t>(65500 + s), 0, 1, 96, 50), recovered);
  CHECK(w.media_count() == 16);
  CHECK(w.has_media(static_cast<uint16_t>(65500 + 99)));
  CHECK(!w.has_media(static_cast<uint16_t>(65500 + 83)));
  // FEC packets each missing two future packets cannot recover yet: the oldest are dropped.
  for (uint16_t i = 0; i < 10; ++i) {
    const uint16_t seqs[] = {static_cast<uint16_t>(65500 + 100 + 2 * i), static_cast<uint16_t>(65500 + 101 + 2 * i)};
    XorParity parity;
    parity.payload.assign(10, 0);
    w.add_fec(seqs, parity, 1, recovered);
  }
  CHECK(w.fec_count() == 4);
  CHECK(w.stats().fec_packets_received == 10);
  CHECK(w.stats().fec_packets_discarded == 6);
  CHECK(recovered.empty());
}

TEST_CASE("fec window: FEC for evicted packets is discarded, never misread as a loss") {
  Random rng(2);
  FecWindow w({8, 8});
  std::vector<rtp::RtpPacket> recovered;
  std::vector<rtp::RtpPacket> sent;
  for (uint16_t s = 0; s < 20; ++s) {
    sent.push_back(random_packet(rng, s, 0, 1, 96, 50));
    w.add_media(sent.back(), recovered);
  }
  const rtp::RtpPacket* members[] = {&sent[2], &sent[3]};
  const uint16_t seqs[] = {2, 3};
  w.add_fec(seqs, compute_parity(members), 1, recovered);
  CHECK(recovered.empty());
  CHECK(w.stats().fec_packets_discarded == 1);
  // Old media arriving late is not stored either.
  w.add_media(sent[1], recovered);
  CHECK(!w.has_media(1));
}

TEST_CASE("fec window: duplicates are ignored and a recovered packet is reported once") {
  Random rng(3);
  FecWindow w({64, 8});
  std::vector<rtp::RtpPacket> recovered;
  auto a = random_packet(rng, 10, 0, 1, 96, 50);
  auto b = random_packet(rng, 11, 0, 1, 96, 50);
  const rtp::RtpPacket* members[] = {&a, &b};
  const uint16_t seqs[] = {10, 11};
  w.add_media(a, recovered);
  w.add_media(a, recovered);
  CHECK(w.media_count() == 1);
  w.add_fec(seqs, compute_parity(members), 1, recovered);
  REQUIRE(recovered.size() == 1);
  CHECK(same_bytes(recovered[0], b));
  w.add_fec(seqs, compute_parity(members), 1, recovered);  // the same FEC again: nothing missing
  w.add_media(b, recovered);                               // the late original: a duplicate
  CHECK(recovered.size() == 1);
  CHECK(w.stats().packets_recovered == 1);
  // The first FEC packet was used; the second had nothing to repair (webrtc-stats: discarded).
  CHECK(w.stats().fec_packets_received == 2);
  CHECK(w.stats().fec_packets_discarded == 1);
}
