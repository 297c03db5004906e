#include "tern/rtp/receive_statistics.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <vector>

#include "tern/core/random.h"
#include "tern/rtp/rtt_estimator.h"

using namespace tern;
using namespace tern::rtp;

namespace {

constexpr uint8_t kPt = 96;
constexpr uint32_t kRate = 90000;
constexpr size_t kPayload = 100;

RtpHeader make_header(uint32_t ssrc, uint16_t seq, uint32_t ts = 0) {
  RtpHeader h;
  h.ssrc = ssrc;
  h.sequence_number = seq;
  h.timestamp = ts;
  h.payload_type = kPt;
  h.header_size = 12;
  h.payload_size = kPayload;
  return h;
}

ReceiveStatistics make_stats(size_t max_streams = 64) {
  auto r = ReceiveStatistics::Create({.max_streams = max_streams, .default_clock_rate = 0});
  REQUIRE(r.ok());
  REQUIRE(r->register_payload_type(kPt, kRate).ok());
  return std::move(r).value();
}

// Feeds one packet of the default size at `t_ms`.
bool feed(ReceiveStatistics& s, uint32_t ssrc, uint16_t seq, int64_t t_ms = 0) {
  return s.on_rtp_packet(make_header(ssrc, seq), Timestamp::Millis(t_ms), 12 + kPayload);
}

rtcp::ReportBlock only_block(ReceiveStatistics& s, Timestamp now = Timestamp::Zero()) {
  auto blocks = s.report_blocks(now, 31);
  REQUIRE(blocks.size() == 1);
  return blocks[0];
}

}  // namespace

TEST_CASE("ReceiveStatistics: config and payload type registration are validated") {
  CHECK_FALSE(ReceiveStatistics::Create({.max_streams = 0}).ok());
  CHECK_FALSE(ReceiveStatistics::Create({.max_streams = 5000}).ok());
  auto s = make_stats();
  CHECK_FALSE(s.register_payload_type(128, 8000).ok());
  CHECK_FALSE(s.register_payload_type(0, 0).ok());
  CHECK(s.register_payload_type(0, 8000).ok());
}

TEST_CASE("ReceiveStatistics: A.1 probation needs two sequential packets") {
  auto s = make_stats();
  CHECK_FALSE(feed(s, 1, 1000));  // first packet: on probation
  CHECK(s.report_blocks(Timestamp::Zero(), 31).empty());
  CHECK_FALSE(feed(s, 1, 1005));  // not sequential: probation restarts
  CHECK(feed(s, 1, 1006));        // sequential to the previous: valid, base = 1006
  auto b = only_block(s);
  CHECK(b.extended_highest_sequence == 1006u);
  CHECK(b.cumulative_lost == 0);
  CHECK(b.fraction_lost == 0);
  CHECK(feed(s, 1, 1007));
  auto c = s.stats(1).value();
  CHECK(c.packets_received == 4);
  CHECK(c.packets_invalid == 2);
  CHECK(c.packets_lost == 0);
}

TEST_CASE("ReceiveStatistics: A.1 large jump resyncs only when confirmed by the next packet") {
  auto s = make_stats();
  for (uint16_t q = 100; q <= 110; ++q) feed(s, 7, q);
  (void)only_block(s);
  // A jump of 5000 (> MAX_DROPOUT) is discarded...
  CHECK_FALSE(feed(s, 7, 5110));
  // ...and another unrelated jump does not confirm it.
  CHECK_FALSE(feed(s, 7, 9000));
  CHECK(s.stream(7)->extended_highest_sequence() == 110u);
  // The packet after 9000 confirms the restart: stats start over from 9001.
  CHECK(feed(s, 7, 9001));
  auto b = only_block(s);
  CHECK(b.extended_highest_sequence == 9001u);
  CHECK(b.cumulative_lost == 0);
  CHECK(feed(s, 7, 9003));  // one lost after the restart
  CHECK(s.stats(7)->packets_lost == 1);
  // Within MAX_DROPOUT the gap is loss, not a restart.
  CHECK(feed(s, 7, static_cast<uint16_t>(9003 + 2999)));
  CHECK(s.stats(7)->packets_lost == 1 + 2998);
  // Old packets within MAX_MISORDER behind count as received (reordered).
  CHECK(feed(s, 7, static_cast<uint16_t>(9003 + 2999 - 50)));
  CHECK(s.stats(7)->packets_lost == 1 + 2997);
}

TEST_CASE("ReceiveStatistics: sequence numbers wrap over many cycles") {
  auto s = make_stats();
  Random rng(42);
  uint16_t seq = 65000;
  int64_t sent = 0, dropped = 0;
  // 10 full cycles plus a bit; drops are always followed by a delivered packet.
  const int64_t total = 10 * 65536 + 1234;
  for (int64_t i = 0; i < total; ++i, ++seq, ++sent) {
    const bool drop = i > 2 && i < total - 1 && rng.bernoulli(0.01);
    if (drop) {
      ++dropped;
      continue;
    }
    feed(s, 3, seq);
  }
  const uint16_t last = static_cast<uint16_t>(seq - 1);
  const auto* st = s.stream(3);
  REQUIRE(st != nullptr);
  // base is the second packet (65001); the extended highest = 65000 + total - 1.
  CHECK(st->extended_highest_sequence() == static_cast<uint32_t>(65000 + total - 1));
  CHECK((st->extended_highest_sequence() & 0xFFFF) == last);
  CHECK(st->cumulative_lost() == dropped);
  CHECK(s.stats(3)->packets_received == sent - dropped);
}

TEST_CASE("ReceiveStatistics: duplicates make cumulative loss negative, fraction stays zero") {
  auto s = make_stats();
  for (uint16_t q = 1; q <= 10; ++q) feed(s, 9, q);
  (void)only_block(s);
  CHECK(feed(s, 9, 11));
  CHECK(feed(s, 9, 5));
  CHECK(feed(s, 9, 5));
  CHECK(feed(s, 9, 11));
  auto b = only_block(s);
  CHECK(b.cumulative_lost == -3);
  CHECK(b.fraction_lost == 0);
  CHECK(b.extended_highest_sequence == 11u);
  CHECK(s.stats(9)->packets_duplicated == 3);
}

TEST_CASE("ReceiveStatistics: reordering is not loss") {
  auto s = make_stats();
  feed(s, 2, 0);
  feed(s, 2, 1);
  for (uint16_t q = 2; q < 200; q += 2) {
    CHECK(feed(s, 2, static_cast<uint16_t>(q + 1)));
    CHECK(feed(s, 2, q));
  }
  auto b = only_block(s);
  CHECK(b.cumulative_lost == 0);
  CHECK(b.fraction_lost == 0);
  CHECK(b.extended_highest_sequence == 199u);
  CHECK(s.stats(2)->packets_duplicated == 0);
}

TEST_CASE("ReceiveStatistics: fraction lost covers the interval since the last block") {
  auto s = make_stats();
  feed(s, 4, 0);
  for (uint16_t q = 1; q <= 100; ++q) feed(s, 4, q);  // base 1, 100 expected, none lost
  CHECK(only_block(s).fraction_lost == 0);
  for (uint16_t q = 101; q <= 200; ++q)
    if (q % 4 != 1) feed(s, 4, q);  // 25 of 100 lost (101, 105, ..., 197)
  auto b = only_block(s);
  CHECK(b.fraction_lost == 64);  // 25/100 * 256
  CHECK(b.cumulative_lost == 25);
  // Nothing new: no block (RFC 3550 6.4: only sources heard since the last report).
  CHECK(s.report_blocks(Timestamp::Zero(), 31).empty());
}

TEST_CASE("ReceiveStatistics: cumulative and interval loss match a seeded reference model") {
  for (uint64_t seed : {1u, 7u, 1234u}) {
    CAPTURE(seed);
    Random rng(seed);
    auto s = make_stats();
    const auto start = static_cast<uint16_t>(rng.uniform_int(0, 65535));
    // Reference model: A.3 over the extended numbers we generate ourselves.
    int64_t base = -1, max_ext = -1, received = 0, expected_prior = 0, received_prior = 0;
    std::vector<int64_t> pending;  // packets held back for reordering
    auto deliver = [&](int64_t ext) {
      const bool valid = feed(s, 5, static_cast<uint16_t>(start + ext));
      if (ext == 0) {  // first packet: probation
        CHECK_FALSE(valid);
        return;
      }
      CHECK(valid);
      if (base < 0) base = ext;
      ++received;
      if (ext > max_ext) max_ext = ext;
    };
    deliver(0);
    deliver(1);
    for (int64_t ext = 2; ext < 30000; ++ext) {
      const double u = rng.uniform();
      if (u < 0.08) continue;  // lost
      if (u < 0.10 && pending.size() < 20) {
        pending.push_back(ext);  // delivered later (reordered, at most 20 behind)
        continue;
      }
      deliver(ext);
      if (u > 0.98) deliver(ext);  // duplicate
      if (!pending.empty() && rng.bernoulli(0.3)) {
        deliver(pending.back());
        pending.pop_back();
      }
      if (ext % 997 == 0) {
        const auto b = only_block(s);
        const int64_t expected = max_ext - base + 1;
        CHECK(b.cumulative_lost == expected - received);
        CHECK(b.extended_highest_sequence == static_cast<uint32_t>(start + max_ext));
        const int64_t ei = expected - expected_prior, ri = received - received_prior;
        expected_prior = expected;
        received_prior = received;
        const int64_t li = ei - ri;
        CHECK(b.fraction_lost == (ei == 0 || li <= 0 ? 0 : (li << 8) / ei));
      }
    }
    CHECK(s.stream(5)->cumulative_lost() == max_ext - base + 1 - received);
  }
}

TEST_CASE("ReceiveStatistics: jitter is zero for constant transit, 2d for alternating +/-d") {
  auto s = make_stats();
  const uint32_t ts0 = 0xFFFF0000u;  // wraps the RTP timestamp during the run
  for (int i = 0; i < 2000; ++i) {
    RtpHeader h = make_header(11, static_cast<uint16_t>(i), ts0 + static_cast<uint32_t>(i) * 1800);
    s.on_rtp_packet(h, Timestamp::Millis(1000 + 20 * i), 112);
  }
  CHECK(s.stats(11)->jitter_rtp_units == 0u);
  // Transit alternates between base + d and base - d (d = 5 ms): every |D| is 2d = 900 ticks, and
  // J <- J + (|D| - J)/16 converges to 2d. The A.8 integer form settles where
  // (J16 + 8) >> 4 == 900, approached from below: J16 = 14392, reported as 899 (truncation).
  auto t = make_stats();
  for (int i = 0; i < 2000; ++i) {
    RtpHeader h = make_header(12, static_cast<uint16_t>(i), ts0 + static_cast<uint32_t>(i) * 1800);
    const int64_t arrival_us = 1000000 + 20000 * i + (i % 2 == 0 ? 5000 : -5000);
    t.on_rtp_packet(h, Timestamp::Micros(arrival_us), 112);
  }
  const auto c = t.stats(12).value();
  CHECK(c.jitter_rtp_units == 899u);
  CHECK(c.jitter_seconds == doctest::Approx(0.010).epsilon(0.001));
  CHECK(only_block(t).jitter == 899u);
}

TEST_CASE("ReceiveStatistics: A.8 integer jitter tracks the floating-point definition") {
  auto s = make_stats();
  Random rng(99);
  double j_ref = 0;
  int64_t prev_transit = 0;
  for (int i = 0; i < 5000; ++i) {
    const auto ts = static_cast<uint32_t>(i * 900);  // 10 ms of 90 kHz
    const int64_t arrival_ticks = int64_t{900} * i + 4500 + rng.uniform_int(0, 1800);
    // Arrival expressed in microseconds exactly on a tick (1 tick = 100/9 us): use multiples of 9.
    const int64_t arrival_us = arrival_ticks * 100 / 9;
    const int64_t ticks_seen = (arrival_us * 9 + 50) / 100;  // rounded, as the statistician does
    RtpHeader h = make_header(13, static_cast<uint16_t>(i), ts);
    s.on_rtp_packet(h, Timestamp::Micros(arrival_us), 112);
    const int64_t transit = ticks_seen - ts;
    if (i > 1) j_ref += (std::abs(transit - prev_transit) - j_ref) / 16.0;
    prev_transit = transit;
    if (i > 1) {
      const double got = static_cast<double>(s.stream(13)->jitter());
      CHECK(std::abs(got - std::floor(j_ref)) <= 1.0);
    }
  }
}

TEST_CASE("ReceiveStatistics: retransmissions count but do not feed the jitter") {
  auto s = make_stats();
  for (int i = 0; i < 100; ++i)
    s.on_rtp_packet(make_header(14, static_cast<uint16_t>(i), static_cast<uint32_t>(i) * 1800),
                    Timestamp::Millis(20 * i), 112);
  // Packet 50 lost earlier arrives as a retransmission much later: loss drops, jitter unchanged.
  s.on_rtp_packet(make_header(14, 100, 100 * 1800), Timestamp::Millis(2000), 112);
  s.on_rtp_packet(make_header(14, 102, 102 * 1800), Timestamp::Millis(2040), 112);
  CHECK(s.stats(14)->packets_lost == 1);
  const uint32_t before = s.stats(14)->jitter_rtp_units;
  CHECK(s.on_rtp_packet(make_header(14, 101, 101 * 1800), Timestamp::Millis(2300), 112, true));
  const auto c = s.stats(14).value();
  CHECK(c.jitter_rtp_units == before);
  CHECK(c.packets_lost == 0);
  CHECK(c.retransmitted_packets_received == 1);
  CHECK(c.retransmitted_bytes_received == 100);
  CHECK(c.packets_received == 103);
  CHECK(c.bytes_received == 103 * 100);
  CHECK(c.header_bytes_received == 103 * 12);
  CHECK(c.last_packet_received == Timestamp::Millis(2300));
}

TEST_CASE("ReceiveStatistics: LSR and DLSR from the last sender report, RTT per RFC 3550 6.4.1") {
  auto s = make_stats();
  feed(s, 21, 1, 0);
  feed(s, 21, 2, 0);
  // No SR yet: LSR = DLSR = 0.
  auto b0 = only_block(s, Timestamp::Seconds(1));
  CHECK(b0.last_sr == 0u);
  CHECK(b0.delay_since_last_sr == 0u);
  // SR with NTP 0xb705:2000 in compact form (46853.125 s) received at t = 10 s; the receiver
  // reports 5.25 s later, so DLSR = 0x0005:4000.
  s.on_sender_report(21, NtpTime(0xb705u, 0x20000000u), Timestamp::Seconds(10));
  feed(s, 21, 3, 15000);
  auto b = only_block(s, Timestamp::Millis(15250));
  CHECK(b.last_sr == 0xb7052000u);
  CHECK(b.delay_since_last_sr == 0x00054000u);
  // The sender gets it when its clock reads 0xb710:8000 (46864.5 s): RTT = 6.125 s.
  const NtpClock sender_clock(NtpTime(0xb710u, 0x80000000u));
  const auto rtt = rtt_from_report_block(b, Timestamp::Zero(), sender_clock);
  REQUIRE(rtt.has_value());
  CHECK(*rtt == TimeDelta::Millis(6125));
}

TEST_CASE("ReceiveStatistics: report blocks rotate through sources beyond max_blocks") {
  auto s = make_stats();
  const uint32_t ssrcs[] = {50, 10, 40, 20, 30};
  uint16_t seq = 0;
  auto feed_all = [&] {
    for (uint32_t x : ssrcs) feed(s, x, seq);
    ++seq;
  };
  feed_all();
  feed_all();
  std::vector<uint32_t> order;
  for (int round = 0; round < 5; ++round) {
    auto blocks = s.report_blocks(Timestamp::Zero(), 2);
    CHECK(blocks.size() == 2);
    for (const auto& b : blocks) order.push_back(b.source_ssrc);
    feed_all();
  }
  const std::vector<uint32_t> want = {10, 20, 30, 40, 50, 10, 20, 30, 40, 50};
  CHECK(order == want);
  CHECK(s.report_blocks(Timestamp::Zero(), 0).empty());
}

TEST_CASE("ReceiveStatistics: the SSRC table is bounded, least recently active evicted") {
  auto s = make_stats(3);
  feed(s, 1, 0, 10);
  feed(s, 2, 0, 20);
  feed(s, 3, 0, 30);
  feed(s, 1, 1, 40);  // 1 is now the most recent, 2 the oldest
  feed(s, 4, 0, 50);
  CHECK(s.num_streams() == 3);
  CHECK(s.evicted_streams() == 1);
  CHECK(s.stream(2) == nullptr);
  CHECK(s.ssrcs() == std::vector<uint32_t>{1, 3, 4});
  s.remove_stream(3);
  CHECK(s.ssrcs() == std::vector<uint32_t>{1, 4});
  // Fuzz-ish: many SSRCs never grow the table past its bound.
  Random rng(5);
  for (int i = 0; i < 10000; ++i) feed(s, rng.next_u32(), static_cast<uint16_t>(i), i);
  CHECK(s.num_streams() == 3);
}
