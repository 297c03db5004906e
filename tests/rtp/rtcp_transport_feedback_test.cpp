// Transport-wide CC feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 3.1): hand-assembled
// wire vectors for each chunk kind, builder limits and chunk choice, seeded build -> parse round
// trips with loss, reordering, gaps and wraparound, and rejection of truncated or lying input.
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "rtp/rtcp_test_util.h"
#include "tern/core/random.h"
#include "tern/rtp/rtcp/transport_feedback.h"

using namespace tern;
using namespace tern::rtcp;
using namespace tern::rtcp::test;

namespace {

using Tcc = TransportFeedback;

// Parses `payload` under a synthesized RTPFB FMT 15 header (no length check involved).
Result<Tcc> parse_payload(std::span<const uint8_t> payload) {
  CommonHeader h;
  h.count = Tcc::kFormat;
  h.packet_type = Tcc::kPacketType;
  h.packet_size = kCommonHeaderSize + payload.size();
  h.payload = payload;
  return Tcc::parse(h);
}

std::optional<TimeDelta> ms(double v) { return TimeDelta::MillisF(v); }

}  // namespace

TEST_CASE("rtcp tcc: run-length chunk of received packets with small deltas") {
  const std::vector<uint8_t> wire = {
      0x8F, 0xCD, 0x00, 0x06,  // FMT=15 PT=205 length=6
      0x00, 0x00, 0x00, 0x01,  // sender SSRC
      0x00, 0x00, 0x00, 0x02,  // media SSRC
      0x00, 0x64, 0x00, 0x05,  // base seq 100, status count 5
      0x00, 0x00, 0x10, 0x07,  // reference time 16 (x 64 ms), feedback count 7
      0x20, 0x05,              // run length: T=0 S=01 (small delta) length 5
      0x04, 0x08,              // deltas 4, 8 (x 250 us)
      0x00, 0xFF, 0x01,        // deltas 0, 255, 1
      0x00,                    // zero padding
  };
  auto fb = parse_one<Tcc>(wire);
  REQUIRE_MESSAGE(fb.ok(), fb.error());
  CHECK(fb->sender_ssrc() == 1);
  CHECK(fb->media_ssrc() == 2);
  CHECK(fb->base_sequence() == 100);
  CHECK(fb->packet_status_count() == 5);
  CHECK(fb->feedback_sequence() == 7);
  CHECK(fb->base_time() == Timestamp::Millis(1024));
  const std::vector<Tcc::PacketResult> expected = {
      {100, ms(1)}, {101, ms(3)}, {102, ms(3)}, {103, ms(66.75)}, {104, ms(67)}};
  CHECK(fb->packets() == expected);
  REQUIRE(fb->received_packets().size() == 5);
  CHECK(fb->received_packets()[3].delta() == TimeDelta::MillisF(63.75));
  // Our encoder picks the same chunk, so the bytes come back unchanged.
  CHECK(serialize(*fb) == wire);
}

TEST_CASE("rtcp tcc: one-bit status vector across the sequence wrap") {
  const std::vector<uint8_t> wire = {
      0x8F, 0xCD, 0x00, 0x07,  // length=7
      0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
      0xFF, 0xFA, 0x00, 0x0E,  // base seq 65530, status count 14
      0x00, 0x00, 0x00, 0x00,  // reference time 0, feedback count 0
      0xB4, 0xF7,              // T=1 S=0: 1101 0011 1101 11 (1 = received, small delta)
      0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // ten deltas
  };
  auto fb = parse_one<Tcc>(wire);
  REQUIRE_MESSAGE(fb.ok(), fb.error());
  const auto packets = fb->packets();
  REQUIRE(packets.size() == 14);
  const bool received[14] = {true, true, false, true, false, false, true, true, true, true, false, true, true, true};
  int64_t sum = 0;
  for (size_t i = 0; i < 14; ++i) {
    CAPTURE(i);
    CHECK(packets[i].sequence_number == static_cast<uint16_t>(65530 + i));
    CHECK(packets[i].received() == received[i]);
  }
  // Deltas accumulate over received packets only: 1, 1+2, 1+2+3, ...
  size_t k = 0;
  for (const auto& p : packets) {
    if (!p.received()) continue;
    sum += static_cast<int64_t>(++k);
    CHECK(*p.receive_delta_from_base == TimeDelta::Micros(250 * sum));
  }
  CHECK(fb->received_packets()[3].sequence_number == 0);  // 65530, 65531, 65533, then 0
  CHECK(serialize(*fb) == wire);
}

TEST_CASE("rtcp tcc: two-bit status vector with large and negative deltas, negative reference time") {
  const std::vector<uint8_t> wire = {
      0x8F, 0xCD, 0x00, 0x07,  // length=7
      0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
      0x03, 0xE8, 0x00, 0x07,  // base seq 1000, status count 7
      0xFF, 0xFF, 0xFF, 0xFF,  // reference time -1 (x 64 ms), feedback count 255
      0xD8, 0x91,              // T=1 S=1: 01 10 00 10 01 00 01 (small large lost large small lost small)
      0x08,                    // +8 ticks (2 ms)
      0x04, 0x00,              // +1024 ticks (256 ms), large
      0xFF, 0xFC,              // -4 ticks (-1 ms): negative deltas are always large
      0x10, 0x20,              // +16, +32 ticks
      0x00, 0x00, 0x00,        // zero padding
  };
  auto fb = parse_one<Tcc>(wire);
  REQUIRE_MESSAGE(fb.ok(), fb.error());
  CHECK(fb->base_time() == Timestamp::Millis(-64));
  CHECK(fb->feedback_sequence() == 255);
  const std::vector<Tcc::PacketResult> expected = {{1000, ms(2)},   {1001, ms(258)}, {1002, std::nullopt},
                                                   {1003, ms(257)}, {1004, ms(261)}, {1005, std::nullopt},
                                                   {1006, ms(269)}};
  CHECK(fb->packets() == expected);
  CHECK(fb->received_packets()[2].delta() == TimeDelta::Millis(-1));
  CHECK(serialize(*fb) == wire);
}

TEST_CASE("rtcp tcc: foreign chunk choices parse to the same content as ours") {
  // Run of 20 lost, then a one-bit vector of which only the first 10 symbols are covered.
  const std::vector<uint8_t> payload = {
      0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x10, 0x00, 0x1E,  // base 16, count 30
      0x00, 0x00, 0x01, 0x00,  // reference time 1, feedback count 0
      0x00, 0x14,              // run of 20 not received
      0xBF, 0xF3,              // 10 received; the last 4 symbols lie past the count and are ignored
      0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04,
      0x00, 0x00,  // padding
  };
  auto fb = parse_payload(payload);
  REQUIRE_MESSAGE(fb.ok(), fb.error());
  CHECK(fb->packet_status_count() == 30);
  CHECK(fb->received_packets().size() == 10);
  CHECK_FALSE(fb->packets()[19].received());
  CHECK(*fb->packets()[29].receive_delta_from_base == TimeDelta::Millis(10));

  // The same content built through the API is equal, and re-encodes as two run-length chunks.
  Tcc built(1, 2);
  built.set_base(16, Timestamp::Millis(64));
  for (uint16_t s = 36; s < 46; ++s) REQUIRE(built.add_received_packet(s, Timestamp::Millis(64 + s - 35)));
  CHECK(built == *fb);
  const auto bytes = serialize(built);
  CHECK(load_be16(&bytes[20]) == 0x0014);
  CHECK(load_be16(&bytes[22]) == 0x200A);

  // A large-symbol delta whose value would fit one byte is accepted and re-encoded small.
  const std::vector<uint8_t> large_small = {0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0,
                                            0x40, 0x01,  // run of 1 large delta
                                            0x00, 0x05, 0x00, 0x00};
  auto ls = parse_payload(large_small);
  REQUIRE_MESSAGE(ls.ok(), ls.error());
  CHECK(ls->received_packets()[0].delta_ticks == 5);
  CHECK(ls->size() == 24);
}

TEST_CASE("rtcp tcc: builder chunk choice and sizes") {
  SUBCASE("100 in-order packets: one run-length chunk") {
    Tcc fb(7, 8);
    fb.set_base(500, Timestamp::Millis(10'000));
    for (int i = 0; i < 100; ++i) REQUIRE(fb.add_received_packet(static_cast<uint16_t>(500 + i), Timestamp::Millis(10'000 + 5 * i)));
    CHECK(fb.size() == 4 + 16 + 2 + 100 + 2);
    const auto bytes = serialize(fb);
    CHECK(load_be16(&bytes[20]) == 0x2064);
    CHECK(roundtrip(fb) == fb);
  }
  SUBCASE("alternating loss: one-bit vectors of 14") {
    Tcc fb(7, 8);
    fb.set_base(0, Timestamp::Zero());
    for (int i = 0; i < 28; i += 2) REQUIRE(fb.add_received_packet(static_cast<uint16_t>(i), Timestamp::Millis(i)));
    // 27 symbols: one full one-bit vector (14) and an open one of 13.
    const auto bytes = serialize(fb);
    CHECK(load_be16(&bytes[20]) == 0xAAAA);
    CHECK(load_be16(&bytes[22]) == 0xAAAA);  // 13 symbols, the 14th slot zero
    CHECK(fb.size() == 4 + 16 + 4 + 14 + 2);
    CHECK(roundtrip(fb) == fb);
  }
  SUBCASE("a large delta forces a two-bit vector") {
    Tcc fb(7, 8);
    fb.set_base(0, Timestamp::Zero());
    REQUIRE(fb.add_received_packet(0, Timestamp::Millis(1)));
    REQUIRE(fb.add_received_packet(2, Timestamp::Millis(200)));  // 199 ms: large
    const auto bytes = serialize(fb);
    CHECK(load_be16(&bytes[20]) == 0xD200);  // 01 00 10 then padding symbols
    CHECK(fb.size() == 4 + 16 + 2 + 1 + 2 + 3);
    CHECK(roundtrip(fb) == fb);
  }
}

TEST_CASE("rtcp tcc: builder refuses what it cannot represent, changing nothing") {
  Tcc fb(1, 2);
  fb.set_base(65530, Timestamp::Millis(1000));
  REQUIRE(fb.add_received_packet(65531, Timestamp::Millis(1001)));  // 65530 reported lost
  const Tcc before = fb;
  CHECK_FALSE(fb.add_received_packet(65531, Timestamp::Millis(1002)));  // duplicate
  CHECK_FALSE(fb.add_received_packet(65529, Timestamp::Millis(1002)));  // before the base
  CHECK_FALSE(fb.add_received_packet(65532, Timestamp::PlusInfinity()));
  CHECK_FALSE(fb.add_received_packet(65532, Timestamp::Millis(1001) + TimeDelta::Micros(8'191'875)));  // > int16 ticks
  CHECK_FALSE(fb.add_received_packet(65532, Timestamp::Millis(1001) - TimeDelta::Micros(8'192'126)));
  CHECK(fb == before);
  // The extremes of the signed 16-bit delta are accepted.
  CHECK(fb.add_received_packet(65532, Timestamp::Millis(1001) + TimeDelta::Micros(8'191'750)));
  CHECK(fb.add_received_packet(1, Timestamp::Micros(1'000'750)));  // exactly -8.192 s
  CHECK(fb.packet_status_count() == 8);
  // Base time 960 ms (1000 ms rounded down to 64 ms): 41 ms, + 8191.75 ms, - 8192 ms.
  CHECK(*fb.packets().back().receive_delta_from_base == TimeDelta::Micros(40'750));
  CHECK(roundtrip(fb) == fb);

  // set_base clears what was added.
  fb.set_base(5, Timestamp::Zero());
  CHECK(fb.packet_status_count() == 0);
  CHECK(fb.received_packets().empty());
}

TEST_CASE("rtcp tcc: size limit and status count limit") {
  // Large deltas (alternating direction) cost two bytes each and force two-bit vectors.
  Tcc fb(1, 2);
  fb.set_base(0, Timestamp::Zero());
  int accepted = 0;
  for (int i = 0; i < 1000; ++i) {
    const Timestamp t = Timestamp::Millis(i % 2 == 0 ? 1000 : 0);
    if (!fb.add_received_packet(static_cast<uint16_t>(i), t)) break;
    ++accepted;
  }
  CHECK(accepted > 300);
  CHECK(accepted < 1000);
  CHECK(fb.size() <= Tcc::kMaxSizeBytes);
  const Tcc full = fb;
  CHECK_FALSE(fb.add_received_packet(static_cast<uint16_t>(accepted), Timestamp::Millis(500)));
  CHECK(fb == full);
  CHECK(roundtrip(fb) == fb);

  // Status count: gaps are cheap (runs) but the count stops at 65535.
  Tcc gaps(1, 2);
  gaps.set_base(100, Timestamp::Zero());
  REQUIRE(gaps.add_received_packet(static_cast<uint16_t>(100 + 30000), Timestamp::Millis(1)));
  REQUIRE(gaps.add_received_packet(static_cast<uint16_t>(100 + 60000), Timestamp::Millis(2)));
  REQUIRE(gaps.add_received_packet(static_cast<uint16_t>(100 + 65534), Timestamp::Millis(3)));
  CHECK(gaps.packet_status_count() == 65535);
  CHECK_FALSE(gaps.add_received_packet(static_cast<uint16_t>(100 + 65535), Timestamp::Millis(4)));
  CHECK(gaps.size() < 100);
  const Tcc back = roundtrip(gaps);
  CHECK(back == gaps);
  CHECK(back.packets().size() == 65535);
  CHECK(back.received_packets().size() == 3);
}

TEST_CASE("rtcp tcc: reference time wraps modulo 2^24 ticks, deltas stay right") {
  const Timestamp ref = Timestamp::Zero() + Tcc::kBaseTimeWrapPeriod * 3 + TimeDelta::Millis(64 * 5 + 10);
  Tcc fb(1, 2);
  fb.set_base(0, ref);
  CHECK(fb.base_time() == Timestamp::Millis(64 * 5));
  REQUIRE(fb.add_received_packet(0, ref + TimeDelta::Millis(1)));
  CHECK(*fb.packets()[0].receive_delta_from_base == TimeDelta::Millis(11));

  // Past half the wrap the field reads negative.
  Tcc high(1, 2);
  high.set_base(0, Timestamp::Zero() + Tcc::kBaseTimeWrapPeriod / 2 + TimeDelta::Millis(64));
  CHECK(high.base_time() == Timestamp::Zero() - Tcc::kBaseTimeWrapPeriod / 2 + TimeDelta::Millis(64));
  REQUIRE(high.add_received_packet(0, high.base_time() + TimeDelta::Millis(3)));
  CHECK(roundtrip(high).base_time() == high.base_time());
  CHECK(roundtrip(high) == high);

  // Negative timestamps round down to the 64 ms tick below.
  Tcc neg(1, 2);
  neg.set_base(0, Timestamp::Millis(-1));
  CHECK(neg.base_time() == Timestamp::Millis(-64));

  // Deltas between consecutive feedbacks' reference times go across the wrap.
  Tcc a(1, 2);
  Tcc b(1, 2);
  a.set_base(0, Timestamp::Zero() + Tcc::kBaseTimeWrapPeriod - TimeDelta::Millis(128));
  b.set_base(0, Timestamp::Zero() + Tcc::kBaseTimeWrapPeriod + TimeDelta::Millis(64));
  CHECK(b.base_time_delta_since(a) == TimeDelta::Millis(192));
  CHECK(a.base_time_delta_since(b) == TimeDelta::Millis(-192));
}

TEST_CASE("rtcp tcc: seeded round trips with loss, reordering, gaps and wraparound") {
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    CAPTURE(seed);
    Random rng(seed);
    const int n = static_cast<int>(seed <= 200 ? rng.uniform_int(1, 100) : rng.uniform_int(100, 500));
    const uint16_t base = rng.bernoulli(0.3) ? static_cast<uint16_t>(65535 - rng.uniform_int(0, 50))
                                              : static_cast<uint16_t>(rng.next_u32());
    const Timestamp ref = Timestamp::Micros(rng.uniform_int(-100'000'000'000, 100'000'000'000));
    const double loss = rng.uniform(0.0, 0.3);
    Tcc fb(rng.next_u32(), rng.next_u32());
    fb.set_base(base, ref);
    fb.set_feedback_sequence(static_cast<uint8_t>(seed));
    const Timestamp base_full = Timestamp::Micros((ref.us() >= 0 ? ref.us() : ref.us() - 63'999) / 64'000 * 64'000);

    std::vector<std::optional<TimeDelta>> truth;  // index = offset from base: true arrival - base
    uint16_t seq = base;
    Timestamp send = ref + TimeDelta::Millis(rng.uniform_int(0, 60));
    for (int i = 0; i < n; ++i) {
      if (rng.bernoulli(0.02)) seq = static_cast<uint16_t>(seq + rng.uniform_int(1, 2000));  // big gap
      send += TimeDelta::Micros(rng.uniform_int(0, 20'000));
      if (rng.bernoulli(loss)) {
        seq = static_cast<uint16_t>(seq + 1);
        continue;
      }
      // Jitter up to +-30 ms reorders arrivals (negative deltas); rare multi-second spikes.
      TimeDelta jitter = TimeDelta::Micros(rng.uniform_int(-30'000, 30'000));
      if (rng.bernoulli(0.01)) jitter += TimeDelta::Millis(rng.uniform_int(-3000, 3000));
      const Timestamp arrival = send + jitter;
      if (!fb.add_received_packet(seq, arrival)) {
        CHECK(fb.size() > Tcc::kMaxSizeBytes - 16);  // only refuses when full (deltas here fit 8 s)
        break;
      }
      const size_t offset = static_cast<uint16_t>(seq - base);
      truth.resize(offset + 1);
      truth[offset] = arrival - base_full;
      seq = static_cast<uint16_t>(seq + 1);
    }
    REQUIRE(fb.size() <= Tcc::kMaxSizeBytes);
    CHECK(fb.packet_status_count() == truth.size());
    const auto packets = fb.packets();
    REQUIRE(packets.size() == truth.size());
    for (size_t i = 0; i < truth.size(); ++i) {
      CHECK(packets[i].sequence_number == static_cast<uint16_t>(base + i));
      REQUIRE(packets[i].received() == truth[i].has_value());
      if (truth[i]) CHECK((*packets[i].receive_delta_from_base - *truth[i]).abs() <= TimeDelta::Micros(125));
    }
    if (truth.empty()) continue;  // an empty feedback has status count 0, which parse() rejects
    const Tcc back = roundtrip(fb);
    CHECK(back == fb);
    CHECK(back.packets() == packets);
    CHECK(serialize(back) == serialize(fb));
  }
}

TEST_CASE("rtcp tcc: every truncation into the content is rejected") {
  std::vector<std::vector<uint8_t>> payloads;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Random rng(seed);
    Tcc fb(1, 2);
    fb.set_base(static_cast<uint16_t>(rng.next_u32()), Timestamp::Millis(rng.uniform_int(0, 100000)));
    Timestamp t = fb.base_time();
    for (uint16_t s = fb.base_sequence(), i = 0; i < 60; ++i, ++s) {
      t += TimeDelta::Micros(rng.uniform_int(-5000, 70'000));
      if (!rng.bernoulli(0.2)) (void)fb.add_received_packet(s, t);
    }
    if (fb.packet_status_count() == 0) continue;
    const auto bytes = serialize(fb);
    payloads.emplace_back(bytes.begin() + 4, bytes.end());
  }
  REQUIRE(payloads.size() >= 15);
  for (const auto& payload : payloads) {
    REQUIRE(parse_payload(payload).ok());
    // Cutting only zero padding still parses; anything shorter than that cuts content.
    size_t unpadded = payload.size();
    while (unpadded > 0 && parse_payload(std::span(payload).first(unpadded - 1)).ok()) --unpadded;
    CHECK(payload.size() - unpadded <= 3);
    for (size_t len = 0; len < unpadded; ++len) {
      CAPTURE(len);
      auto r = parse_payload(std::span(payload).first(len));
      CHECK_FALSE(r.ok());
    }
  }
  // Through the common header too: the length field no longer fits.
  const auto bytes = serialize(*parse_payload(payloads[0]));
  for (size_t len = 0; len < bytes.size(); ++len) CHECK_FALSE(parse_one<Tcc>(std::span(bytes).first(len)).ok());
}

TEST_CASE("rtcp tcc: bad input is rejected with reasons") {
  // 100 received at +8 ms each: run chunk 0x2064, deltas 0x20.
  Tcc fb(1, 2);
  fb.set_base(0, Timestamp::Zero());
  for (uint16_t s = 0; s < 100; ++s) REQUIRE(fb.add_received_packet(s, Timestamp::Millis(8 * (s + 1))));
  const auto bytes = serialize(fb);
  const std::vector<uint8_t> payload(bytes.begin() + 4, bytes.end());
  auto with_count = [&](uint16_t count) {
    std::vector<uint8_t> p = payload;
    store_be16(&p[10], count);
    return parse_payload(p);
  };
  CHECK(with_count(100).ok());
  CHECK(std::string(with_count(0).error()) == "rtcp tcc: packet status count is zero");
  // Lower counts leave deltas unread (more than the 3 bytes padding could explain); higher ones read
  // deltas as chunks and then run out. Only a count within the final chunk's slack (99, whose
  // missing delta byte looks like padding) is indistinguishable from the truth.
  for (uint32_t c = 1; c <= 98; ++c) CHECK_FALSE(with_count(static_cast<uint16_t>(c)).ok());
  for (uint32_t c = 101; c <= 2000; ++c) CHECK_FALSE(with_count(static_cast<uint16_t>(c)).ok());
  CHECK_FALSE(with_count(65535).ok());
  CHECK(std::string(with_count(50).error()) == "rtcp tcc: trailing bytes after the receive deltas");
  CHECK(std::string(with_count(101).error()) == "rtcp tcc: receive deltas run past the end");

  const std::vector<uint8_t> head = {0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0};  // count 3
  auto with_tail = [&](std::vector<uint8_t> tail) {
    std::vector<uint8_t> p = head;
    p.insert(p.end(), tail.begin(), tail.end());
    return parse_payload(p);
  };
  CHECK(std::string(with_tail({0x60, 0x03, 0, 0}).error()) == "rtcp tcc: run of the reserved status symbol");
  CHECK(std::string(with_tail({0xF0, 0x00, 0, 0}).error()) == "rtcp tcc: reserved status symbol");
  // Reserved symbols beyond the status count are padding and ignored: 01 01 01 11 11 11 11.
  CHECK(with_tail({0xD5, 0xFF, 1, 2, 3, 0, 0, 0}).ok());
  CHECK(std::string(with_tail({}).error()) == "rtcp tcc: packet chunks run past the end");
  CHECK(std::string(with_tail({0x20, 0x03, 1, 2}).error()) == "rtcp tcc: receive deltas run past the end");
  CHECK(with_tail({0x20, 0x03, 1, 2, 3, 0}).ok());
  CHECK(std::string(with_tail({0x20, 0x03, 1, 2, 3, 0, 0, 0, 0, 0}).error()) ==
        "rtcp tcc: trailing bytes after the receive deltas");
  CHECK(std::string(parse_payload(std::span(head).first(15)).error()) == "rtcp tcc: shorter than the fixed fields");

  CommonHeader wrong;
  wrong.packet_type = kPtRtpfb;
  wrong.count = 1;
  wrong.payload = payload;
  CHECK(std::string(Tcc::parse(wrong).error()) == "rtcp tcc: wrong type");
}

TEST_CASE("rtcp tcc: random garbage never crashes, what parses survives a round trip") {
  Random rng(77);
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    auto payload = random_bytes(rng, static_cast<size_t>(rng.uniform_int(0, 80)));
    if (payload.size() >= 12 && rng.bernoulli(0.7)) {
      store_be16(&payload[10], static_cast<uint16_t>(rng.uniform_int(1, 40)));  // plausible counts
    }
    auto fb = parse_payload(payload);
    if (!fb) continue;
    ++parsed;
    CHECK(roundtrip(*fb) == *fb);
  }
  CHECK(parsed > 100);
}
