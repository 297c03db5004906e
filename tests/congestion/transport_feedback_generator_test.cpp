// TransportFeedbackGenerator / CongestionControlFeedbackGenerator: receive-side feedback timing,
// splitting, reordering, wraparound and bounded memory.
#include "tern/congestion/transport_feedback_generator.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <vector>

#include "tern/core/random.h"

using namespace tern;
using namespace tern::congestion;
using namespace tern::unit_literals;

namespace {

// seq -> received? over every report, later reports overriding "not received".
std::map<int64_t, bool> coverage(const std::vector<rtcp::TransportFeedback>& fbs, RtpSeqUnwrapper& unwrap) {
  std::map<int64_t, bool> out;
  for (const auto& fb : fbs) {
    for (const auto& p : fb.packets()) {
      bool& r = out[unwrap.unwrap(p.sequence_number)];
      r = r || p.received();
    }
  }
  return out;
}

}  // namespace

TEST_CASE("Feedback interval follows 5 percent of the bitrate between 50 and 250 ms") {
  TransportFeedbackGenerator gen;
  CHECK(gen.interval() == 100_ms);
  gen.set_bitrate_hint(1_mbps);
  CHECK(gen.interval() == 50_ms);
  gen.set_bitrate_hint(10_kbps);
  CHECK(gen.interval() == 250_ms);
  gen.set_bitrate_hint(100_kbps);
  CHECK(gen.interval().ms() == 109);  // 68 bytes at 5 kbps
  gen.set_bitrate_hint(DataRate::Zero());
  CHECK(gen.interval() == 250_ms);
}

TEST_CASE("TransportFeedbackGenerator wakes one interval after the first arrival then periodically") {
  TransportFeedbackGenerator gen;
  CHECK_FALSE(gen.next_wakeup());
  const Timestamp t0 = Timestamp::Seconds(2);
  gen.on_received_packet(10, t0);
  gen.on_received_packet(12, t0 + 5_ms);
  REQUIRE(gen.next_wakeup());
  CHECK(*gen.next_wakeup() == t0 + 100_ms);
  CHECK(gen.process(t0 + 99_ms).empty());
  const auto fbs = gen.process(t0 + 100_ms);
  REQUIRE(fbs.size() == 1);
  CHECK(fbs[0].base_sequence() == 10);
  CHECK(fbs[0].packet_status_count() == 3);
  const auto pkts = fbs[0].packets();
  CHECK(pkts[0].received());
  CHECK_FALSE(pkts[1].received());
  CHECK(pkts[2].received());
  CHECK(fbs[0].base_time() + *pkts[2].receive_delta_from_base == t0 + 5_ms);
  CHECK_FALSE(gen.next_wakeup());  // nothing new
  gen.on_received_packet(13, t0 + 150_ms);
  REQUIRE(gen.next_wakeup());
  CHECK(*gen.next_wakeup() == t0 + 200_ms);
  const auto next = gen.process(t0 + 200_ms);
  REQUIRE(next.size() == 1);
  CHECK(next[0].base_sequence() == 13);
  CHECK(next[0].feedback_sequence() == static_cast<uint8_t>(fbs[0].feedback_sequence() + 1));
}

TEST_CASE("TransportFeedbackGenerator splits large reports under kMaxSizeBytes without gaps") {
  TransportFeedbackGenerator gen;
  Random random(3);
  const Timestamp t0 = Timestamp::Seconds(1);
  Timestamp arrival = t0;
  const uint16_t first = 65000;  // also crosses the sequence wrap
  std::map<int64_t, bool> sent;
  for (int i = 0; i < 5000; ++i) {
    // Irregular gaps force two-byte deltas, and some loss forces run-length and vector chunks.
    arrival += TimeDelta::Micros(random.uniform_int(0, 70'000));
    const bool received = !random.bernoulli(0.2) || i == 0 || i == 4999;
    sent[65000 + i] = received;
    if (received) gen.on_received_packet(static_cast<uint16_t>(first + i), arrival);
  }
  const auto fbs = gen.process(arrival + 1_s);
  REQUIRE(fbs.size() > 1);
  for (const auto& fb : fbs) CHECK(fb.size() <= rtcp::TransportFeedback::kMaxSizeBytes);
  RtpSeqUnwrapper unwrap;
  (void)unwrap.unwrap(first);
  auto got = coverage(fbs, unwrap);
  // Unwrapped relative to 65000 as the unwrapper's first value.
  CHECK(got == sent);
}

TEST_CASE("TransportFeedbackGenerator reports a reordered packet in the next feedback") {
  TransportFeedbackGenerator gen;
  const Timestamp t0 = Timestamp::Seconds(1);
  for (uint16_t s = 0; s < 10; ++s) {
    if (s != 5) gen.on_received_packet(s, t0 + 1_ms * s);
  }
  auto a = gen.process(t0 + 100_ms);
  REQUIRE(a.size() == 1);
  CHECK_FALSE(a[0].packets()[5].received());
  gen.on_received_packet(5, t0 + 120_ms);  // late
  gen.on_received_packet(10, t0 + 121_ms);
  auto b = gen.process(t0 + 200_ms);
  REQUIRE(b.size() == 1);
  CHECK(b[0].base_sequence() == 5);
  const auto pkts = b[0].packets();
  REQUIRE(pkts.size() == 6);
  CHECK(pkts[0].received());
  CHECK(b[0].base_time() + *pkts[0].receive_delta_from_base == t0 + 120_ms);
  // A duplicate arrival does not rewind the window.
  gen.on_received_packet(5, t0 + 220_ms);
  CHECK_FALSE(gen.next_wakeup());
}

TEST_CASE("TransportFeedbackGenerator memory stays bounded without process calls") {
  TransportFeedbackGenerator::Config c;
  c.max_packets = 1000;
  TransportFeedbackGenerator gen(c);
  Timestamp t = Timestamp::Seconds(1);
  for (int i = 0; i < 100'000; ++i) {
    gen.on_received_packet(static_cast<uint16_t>(i), t);
    t += 100_us;
  }
  CHECK(gen.stored_packets() <= 1000);
  const auto fbs = gen.process(t + 1_s);
  size_t covered = 0;
  for (const auto& fb : fbs) covered += fb.packet_status_count();
  CHECK(covered == 1000);
  // Reported arrivals age out after the back window.
  (void)gen.process(t + 10_s);
  CHECK(gen.stored_packets() == 0);
}

TEST_CASE("CongestionControlFeedbackGenerator reports per ssrc with arrival offsets under the MTU") {
  CongestionControlFeedbackGenerator gen;
  const Timestamp t0 = Timestamp::Seconds(7);
  for (int i = 0; i < 2000; ++i) {
    if (i % 10 == 3) continue;  // lost
    gen.on_received_packet(1111, static_cast<uint16_t>(65500 + i), t0 + 100_us * i, rtcp::EcnMarking::kEct0);
    if (i % 4 == 0) gen.on_received_packet(2222, static_cast<uint16_t>(i / 4), t0 + 100_us * i);
  }
  const Timestamp now = t0 + 300_ms;
  const auto fbs = gen.process(now);
  REQUIRE(fbs.size() > 1);
  size_t received = 0;
  size_t lost = 0;
  for (const auto& fb : fbs) {
    CHECK(fb.size() <= 1200);
    CHECK(fb.report_timestamp() == CongestionControlFeedbackGenerator::CompactNtp(now));
    for (const auto& s : fb.streams()) {
      for (const auto& p : s.packets) {
        if (!p.received) {
          ++lost;
          continue;
        }
        ++received;
        REQUIRE(p.arrival_time_offset);
        CHECK(*p.arrival_time_offset <= now - t0);
        CHECK(*p.arrival_time_offset >= 300_ms - 200_ms - 1_ms);
        if (s.media_ssrc == 1111) CHECK(p.ecn == rtcp::EcnMarking::kEct0);
      }
    }
  }
  CHECK(received == 1800 + 500);
  CHECK(lost == 200);
  CHECK_FALSE(gen.next_wakeup());
}

TEST_CASE("CompactNtp is 16.16 seconds") {
  CHECK(CongestionControlFeedbackGenerator::CompactNtp(Timestamp::Seconds(1)) == 0x10000u);
  CHECK(CongestionControlFeedbackGenerator::CompactNtp(Timestamp::Millis(1500)) == 0x18000u);
  CHECK(CongestionControlFeedbackGenerator::CompactNtp(Timestamp::Seconds(65536 + 2)) == 0x20000u);
}
