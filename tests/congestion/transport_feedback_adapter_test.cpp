// TransportFeedbackAdapter: transport-cc and RFC 8888 feedback -> TransportPacketsFeedback, with
// wire round trips, reordering, duplicates, 64 ms reference-time and sequence-number wrap.
#include "tern/congestion/transport_feedback_adapter.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "support/map_histories.h"
#include "tern/congestion/transport_feedback_generator.h"
#include "tern/core/random.h"

using namespace tern;
using namespace tern::congestion;
using namespace tern::unit_literals;

namespace {

// Writes and re-parses a feedback so tests exercise what a sender really receives.
template <typename Feedback>
Feedback over_the_wire(const Feedback& fb) {
  std::vector<uint8_t> bytes(fb.size());
  ByteWriter w(bytes);
  fb.write(w);
  REQUIRE(w.ok());
  auto header = rtcp::CommonHeader::parse(bytes);
  REQUIRE(header.ok());
  auto parsed = Feedback::parse(header.value());
  REQUIRE(parsed.ok());
  return parsed.value();
}

}  // namespace

TEST_CASE("TransportFeedbackAdapter stamps consecutive sequence numbers and tracks data in flight") {
  TransportFeedbackAdapter adapter;
  const Timestamp t0 = Timestamp::Seconds(10);
  for (int i = 0; i < 5; ++i) {
    const auto s = adapter.on_sent_packet(t0 + 1_ms * i, DataSize::Bytes(1000));
    CHECK(s.transport_seq == i);
    CHECK(s.info.sequence_number == i);
    CHECK(s.info.send_time == t0 + 1_ms * i);
  }
  CHECK(adapter.data_in_flight() == DataSize::Bytes(5000));
  rtcp::TransportFeedback fb;
  fb.set_base(0, t0 + 50_ms);
  REQUIRE(fb.add_received_packet(0, t0 + 50_ms));
  REQUIRE(fb.add_received_packet(2, t0 + 53_ms));
  const auto out = adapter.on_transport_feedback(over_the_wire(fb), t0 + 100_ms);
  REQUIRE(out);
  REQUIRE(out->packets.size() == 3);
  CHECK(out->packets[0].is_received());
  CHECK_FALSE(out->packets[1].is_received());
  CHECK(out->packets[2].is_received());
  CHECK(out->packets[2].receive_time - out->packets[0].receive_time == 3_ms);
  CHECK(out->feedback_time == t0 + 100_ms);
  CHECK(out->data_in_flight == DataSize::Bytes(2000));
}

TEST_CASE("TransportFeedbackAdapter round trips the generator with receiver-clock arrival times") {
  Random random(7);
  for (int round = 0; round < 8; ++round) {
    TransportFeedbackAdapter adapter;
    TransportFeedbackGenerator gen;
    const uint16_t first_seq = static_cast<uint16_t>(random.uniform_int(0, 65535));
    // Start the sender's sequence numbers at first_seq by stamping and acknowledging filler.
    for (uint16_t s = 0; s != first_seq; ++s) (void)adapter.on_sent_packet(Timestamp::Zero(), DataSize::Bytes(1));
    Timestamp send = Timestamp::Seconds(1000);
    Timestamp arrival = Timestamp::Seconds(5) + TimeDelta::Micros(random.uniform_int(0, 1000000));
    std::vector<Timestamp> arrivals;
    std::vector<int64_t> seqs;
    int64_t unwrapped_first = -1;
    for (int i = 0; i < 400; ++i) {
      const auto s = adapter.on_sent_packet(send, DataSize::Bytes(1200));
      if (unwrapped_first < 0) unwrapped_first = s.info.sequence_number;
      send += 2_ms;
      arrival += TimeDelta::Micros(random.uniform_int(0, 5000));
      if (!random.bernoulli(0.1)) {
        gen.on_received_packet(s.transport_seq, arrival);
        arrivals.push_back(arrival);
        seqs.push_back(s.info.sequence_number);
      }
    }
    std::vector<PacketResult> got;
    Timestamp now = arrival;
    for (int i = 0; i < 10; ++i) {
      for (const auto& fb : gen.process(now + 1_s * i)) {
        if (auto out = adapter.on_transport_feedback(over_the_wire(fb), now + 1_s * i)) {
          got.insert(got.end(), out->packets.begin(), out->packets.end());
        }
      }
    }
    std::vector<PacketResult> received;
    for (const auto& p : got) {
      if (p.is_received()) received.push_back(p);
    }
    REQUIRE(received.size() == arrivals.size());
    for (size_t i = 0; i < received.size(); ++i) {
      CHECK(received[i].sent.sequence_number == seqs[i]);
      // The adapter's clock is the receiver's clock (no wrap yet): within one 250 us quantum.
      CHECK((received[i].receive_time - arrivals[i]).abs() <= 125_us);
    }
    CHECK(got.size() == 400 - static_cast<size_t>(seqs.front() - unwrapped_first));
  }
}

TEST_CASE("TransportFeedbackAdapter handles reordered and duplicated feedback") {
  TransportFeedbackAdapter adapter;
  const Timestamp t0 = Timestamp::Seconds(1);
  for (int i = 0; i < 20; ++i) (void)adapter.on_sent_packet(t0 + 1_ms * i, DataSize::Bytes(500));
  rtcp::TransportFeedback a;
  a.set_base(0, t0 + 40_ms);
  for (uint16_t s = 0; s < 10; ++s) REQUIRE(a.add_received_packet(s, t0 + 40_ms + 1_ms * s));
  rtcp::TransportFeedback b;
  b.set_base(10, t0 + 200_ms);  // a later 64 ms tick than a's
  for (uint16_t s = 10; s < 20; ++s) REQUIRE(b.add_received_packet(s, t0 + 200_ms + 1_ms * s));

  const auto first = adapter.on_transport_feedback(over_the_wire(b), t0 + 300_ms);
  const auto second = adapter.on_transport_feedback(over_the_wire(a), t0 + 310_ms);
  REQUIRE(first);
  REQUIRE(second);
  REQUIRE(first->packets.size() == 10);
  REQUIRE(second->packets.size() == 10);
  // Times stay on one clock although the older report came second.
  const TimeDelta gap = first->packets[0].receive_time - second->packets[9].receive_time;
  CHECK((gap - (200_ms + 10_ms - 40_ms - 9_ms)).abs() <= 250_us);
  // Exact duplicates produce nothing.
  CHECK_FALSE(adapter.on_transport_feedback(over_the_wire(a), t0 + 320_ms));
  CHECK_FALSE(adapter.on_transport_feedback(over_the_wire(b), t0 + 320_ms));
  CHECK(adapter.data_in_flight() == DataSize::Zero());
}

TEST_CASE("TransportFeedbackAdapter reports a late packet received after its loss and never the reverse") {
  TransportFeedbackAdapter adapter;
  const Timestamp t0 = Timestamp::Seconds(1);
  for (int i = 0; i < 3; ++i) (void)adapter.on_sent_packet(t0, DataSize::Bytes(100));
  rtcp::TransportFeedback lost;
  lost.set_base(0, t0 + 10_ms);
  REQUIRE(lost.add_received_packet(0, t0 + 10_ms));
  REQUIRE(lost.add_received_packet(2, t0 + 11_ms));  // 1 not received
  auto out = adapter.on_transport_feedback(lost, t0 + 20_ms);
  REQUIRE(out);
  CHECK(out->packets.size() == 3);
  rtcp::TransportFeedback late;
  late.set_base(1, t0 + 12_ms);
  REQUIRE(late.add_received_packet(1, t0 + 12_ms));
  out = adapter.on_transport_feedback(late, t0 + 120_ms);
  REQUIRE(out);
  REQUIRE(out->packets.size() == 1);
  CHECK(out->packets[0].is_received());
  CHECK(out->packets[0].sent.sequence_number == 1);
  // The old report again (now saying 1 was lost): ignored entirely.
  CHECK_FALSE(adapter.on_transport_feedback(lost, t0 + 130_ms));
}

TEST_CASE("TransportFeedbackAdapter keeps receive times continuous across the 24-bit reference wrap") {
  TransportFeedbackAdapter adapter;
  const Timestamp t0 = Timestamp::Seconds(1);
  for (int i = 0; i < 4; ++i) (void)adapter.on_sent_packet(t0 + 10_ms * i, DataSize::Bytes(100));
  const Timestamp before_wrap = Timestamp::Zero() + rtcp::TransportFeedback::kBaseTimeWrapPeriod - 100_ms;
  rtcp::TransportFeedback a;
  a.set_base(0, before_wrap);
  REQUIRE(a.add_received_packet(0, before_wrap));
  REQUIRE(a.add_received_packet(1, before_wrap + 10_ms));
  rtcp::TransportFeedback b;
  b.set_base(2, before_wrap + 200_ms);  // past the wrap: the reference field restarts near 0
  REQUIRE(b.add_received_packet(2, before_wrap + 200_ms));
  REQUIRE(b.add_received_packet(3, before_wrap + 210_ms));
  const auto x = adapter.on_transport_feedback(over_the_wire(a), t0 + 1_s);
  const auto y = adapter.on_transport_feedback(over_the_wire(b), t0 + 2_s);
  REQUIRE(x);
  REQUIRE(y);
  CHECK((y->packets[0].receive_time - x->packets[1].receive_time - 190_ms).abs() <= 250_us);
  CHECK((y->packets[1].receive_time - y->packets[0].receive_time - 10_ms).abs() <= 250_us);
}

TEST_CASE("TransportFeedbackAdapter ignores unknown sequence numbers and empty matches") {
  TransportFeedbackAdapter adapter;
  rtcp::TransportFeedback fb;
  fb.set_base(100, Timestamp::Seconds(1));
  REQUIRE(fb.add_received_packet(100, Timestamp::Seconds(1)));
  CHECK_FALSE(adapter.on_transport_feedback(fb, Timestamp::Seconds(2)));  // nothing sent yet
  (void)adapter.on_sent_packet(Timestamp::Seconds(1), DataSize::Bytes(100));
  CHECK_FALSE(adapter.on_transport_feedback(fb, Timestamp::Seconds(2)));  // seq 100 never sent
}

TEST_CASE("TransportFeedbackAdapter maps RFC 8888 feedback through ssrc and RTP sequence numbers") {
  TransportFeedbackAdapter adapter;
  CongestionControlFeedbackGenerator gen;
  const Timestamp t0 = Timestamp::Seconds(3);
  std::vector<Timestamp> arrivals;
  uint16_t video_seq = 65530;  // wraps
  uint16_t audio_seq = 7;
  for (int i = 0; i < 40; ++i) {
    const bool audio = i % 4 == 0;
    const uint32_t ssrc = audio ? 0xA0D10u : 0x51DE0u;
    const uint16_t rtp_seq = audio ? audio_seq++ : video_seq++;
    (void)adapter.on_sent_packet(t0 + 2_ms * i, DataSize::Bytes(audio ? 100 : 1200), kNotAProbe, audio,
                                          TransportFeedbackAdapter::RtpId{ssrc, rtp_seq});
    const Timestamp arrival = t0 + 50_ms + 2_ms * i + 1_ms * (i % 3);
    arrivals.push_back(arrival);
    if (i != 13) gen.on_received_packet(ssrc, rtp_seq, arrival);  // 13 is lost
  }
  // The receiver's clock is unrelated to the sender's: only differences matter.
  const auto reports = gen.process(t0 + 500_ms);
  REQUIRE(reports.size() == 1);
  const auto out = adapter.on_congestion_control_feedback(over_the_wire(reports[0]), t0 + 600_ms);
  REQUIRE(out);
  // Packet 13 (video) is inside the video block, so it is reported lost; all 40 covered.
  REQUIRE(out->packets.size() == 40);
  for (size_t i = 0; i < out->packets.size(); ++i) {
    const auto& p = out->packets[i];
    CHECK(p.sent.sequence_number == static_cast<int64_t>(i));
    if (i == 13) {
      CHECK_FALSE(p.is_received());
      continue;
    }
    REQUIRE(p.is_received());
    // ATO resolution is 1/1024 s.
    const TimeDelta want = arrivals[i] - arrivals[0];
    CHECK((p.receive_time - out->packets[0].receive_time - want).abs() <= 2_ms);
  }
  CHECK(adapter.data_in_flight() == DataSize::Zero());
  // The same report again is a duplicate.
  CHECK_FALSE(adapter.on_congestion_control_feedback(over_the_wire(reports[0]), t0 + 700_ms));
}

// The adapter's at-most-once rule lives in its history's entries (SendTimeHistory::report()), no
// longer in a table of its own: seeded random sends past the 16-bit wrap and transport-cc reports
// (overlapping, repeated, late, some about pruned packets) give the same packets, fates and data
// in flight as the std::map model of the history with the rule kept per packet beside it.
TEST_CASE("TransportFeedbackAdapter: same results as the map model over random sends and reports past the wrap") {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    CAPTURE(seed);
    Random rng(seed);
    TransportFeedbackAdapter::Config cfg;
    cfg.history.max_packets = seed == 2 ? 64 : 300;
    cfg.history.max_age = TimeDelta::Seconds(seed == 3 ? 1 : 60);
    TransportFeedbackAdapter adapter(cfg);
    test::map_model::SendTimeHistory model(cfg.history);
    Timestamp t = Timestamp::Seconds(5);
    uint16_t sent = 0;  // the next transport-wide number
    for (int step = 0; step < 70000; ++step) {
      t += TimeDelta::Micros(rng.uniform_int(100, 5000));
      const DataSize size = DataSize::Bytes(rng.uniform_int(60, 1200));
      const int probe = rng.bernoulli(0.05) ? 3 : kNotAProbe;
      const auto s = adapter.on_sent_packet(t, size, probe);
      const SentPacketInfo m = model.on_sent(sent, t, size, probe);
      REQUIRE(s.transport_seq == sent);
      REQUIRE(s.info.sequence_number == m.sequence_number);
      ++sent;
      if (!rng.bernoulli(0.03)) continue;
      // A report from a random recent number (sometimes pruned long ago), over up to 60 numbers.
      const auto base = static_cast<uint16_t>(sent - rng.uniform_int(1, static_cast<int64_t>(cfg.history.max_packets) * 2));
      const auto span = static_cast<uint16_t>(rng.uniform_int(1, 60));
      rtcp::TransportFeedback fb;
      fb.set_base(base, t);
      std::vector<std::pair<uint16_t, bool>> covered;  // (seq, received) as the adapter will read it
      Timestamp arrival = t;
      for (uint16_t i = 0; i < span; ++i) {
        const auto seq = static_cast<uint16_t>(base + i);
        if (static_cast<uint16_t>(sent - seq) == 0 || static_cast<uint16_t>(sent - seq) > 0x8000) break;  // not sent yet
        if (rng.bernoulli(0.2)) continue;  // lost (reported so if a later one is received)
        arrival += TimeDelta::Micros(rng.uniform_int(0, 2000));
        REQUIRE(fb.add_received_packet(seq, arrival));
      }
      if (fb.packet_status_count() == 0) continue;
      const rtcp::TransportFeedback wire = over_the_wire(fb);
      const auto received = wire.received_packets();
      std::vector<PacketResult> expected;
      size_t next = 0;
      for (size_t i = 0; i < wire.packet_status_count(); ++i) {
        const auto seq = static_cast<uint16_t>(wire.base_sequence() + i);
        const bool got = next < received.size() && received[next].sequence_number == seq;
        if (got) ++next;
        if (auto r = model.report(seq, got ? t : Timestamp::PlusInfinity())) expected.push_back(*r);
      }
      model.clear_in_flight_up_to(static_cast<uint16_t>(wire.base_sequence() + wire.packet_status_count() - 1));
      const auto out = adapter.on_transport_feedback(wire, t);
      REQUIRE(out.has_value() == !expected.empty());
      REQUIRE(adapter.data_in_flight() == model.data_in_flight());
      if (!out) continue;
      CHECK(out->data_in_flight == model.data_in_flight());
      REQUIRE(out->packets.size() == expected.size());
      for (size_t i = 0; i < expected.size(); ++i) {
        CHECK(out->packets[i].sent.sequence_number == expected[i].sent.sequence_number);
        CHECK(out->packets[i].sent.send_time == expected[i].sent.send_time);
        CHECK(out->packets[i].sent.size == expected[i].sent.size);
        CHECK(out->packets[i].sent.probe_cluster_id == expected[i].sent.probe_cluster_id);
        CHECK(out->packets[i].is_received() == expected[i].is_received());
        CHECK(out->packets[i].late == expected[i].late);
      }
    }
    CHECK(sent != 0);
  }
}
