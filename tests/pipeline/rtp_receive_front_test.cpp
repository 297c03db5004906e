// Tests of the RTP receive front: each stage alone (RTX unwrap, RED split, ULPFEC recovery inside
// RED, FlexFEC recovery from its own SSRC, statistics, NACK after the reorder wait, repairs counted (RTX, FEC) apart from needless
// retransmissions, keyframe requests) and a front without stages.
#include "tern/pipeline/rtp_receive_front.h"

#include <doctest/doctest.h>

#include <utility>
#include <variant>
#include <vector>

#include "tern/recovery/audio_red_encoder.h"
#include "tern/recovery/red.h"
#include "tern/recovery/flexfec.h"
#include "tern/recovery/rtx.h"
#include "tern/recovery/ulpfec.h"
#include "tern/rtp/rtp_packet_builder.h"

namespace tern::pipeline {
namespace {

constexpr uint32_t kSsrc = 0x1111;
constexpr uint32_t kFrontRtxSsrc = 0x2222;
constexpr uint32_t kLocal = 0x9999;
constexpr uint8_t kPt = 96;
constexpr uint8_t kRtxPt = 97;
constexpr uint8_t kRedPt = 120;
constexpr uint8_t kFecPt = 122;
const Timestamp kT0 = Timestamp::Seconds(100);

rtp::RtpPacket media(uint16_t seq, uint32_t ts = 0, uint8_t fill = 0, bool marker = false) {
  rtp::RtpPacketBuilder b;
  std::vector<uint8_t> payload(40 + seq % 7, fill == 0 ? static_cast<uint8_t>(seq) : fill);
  b.set_sequence_number(seq).set_timestamp(ts).set_ssrc(kSsrc).set_payload_type(kPt).set_marker(marker);
  b.set_payload(payload);
  return b.build().value();
}

std::vector<uint8_t> bytes(const rtp::RtpPacket& p) { return {p.data().begin(), p.data().end()}; }

struct Delivered {
  rtp::RtpPacket packet;
  PacketOrigin origin;
};

struct Sink final : RtpReceiveFront::Listener {
  std::vector<Delivered> packets;
  Verdict verdict;  // returned for every packet
  Verdict on_media_packet(rtp::RtpPacket packet, PacketOrigin origin, Timestamp) override {
    packets.push_back({std::move(packet), origin});
    return verdict;
  }
};

RtpReceiveFront make(const RtpReceiveFront::Config& c) {
  auto f = RtpReceiveFront::Create(c);
  REQUIRE(f.ok());
  return std::move(f).value();
}

// Media packets 100..103 of one frame and the ULPFEC packets (in RED) protecting them.
std::pair<std::vector<rtp::RtpPacket>, std::vector<rtp::RtpPacket>> protected_frame() {
  recovery::UlpfecGenerator gen({kFecPt, kRedPt});
  gen.set_protection({255, 1, recovery::FecMaskType::kRandom}, {255, 1, recovery::FecMaskType::kRandom});
  std::vector<rtp::RtpPacket> frame;
  for (uint16_t s = 100; s < 104; ++s) frame.push_back(media(s, 3000, 0, s == 103));
  for (const rtp::RtpPacket& p : frame) gen.add_media_packet(p, true);
  std::vector<rtp::RtpPacket> fec = gen.take_fec_packets(104);
  REQUIRE(!fec.empty());
  return {std::move(frame), std::move(fec)};
}

RtpReceiveFront::Config with_nack() {
  RtpReceiveFront::Config c;
  c.ssrc = kSsrc;
  c.local_ssrc = kLocal;
  c.nack = recovery::NackGeneratorConfig{};
  return c;
}

}  // namespace

TEST_CASE("receive front: without stages, packets of the SSRC pass straight through") {
  RtpReceiveFront::Config c;
  c.ssrc = kSsrc;
  RtpReceiveFront front = make(c);
  Sink sink;
  const rtp::RtpPacket p = media(7);
  CHECK(front.on_rtp(p, kT0, sink));
  REQUIRE(sink.packets.size() == 1);
  CHECK(bytes(sink.packets[0].packet) == bytes(p));
  CHECK(sink.packets[0].origin == PacketOrigin::kMedia);
  // A RED-looking payload type is not split, other SSRCs are not ours (nor is an RTX SSRC).
  rtp::RtpPacket red = recovery::wrap_red(media(8), kRedPt).value();
  CHECK(front.on_rtp(red, kT0, sink));
  CHECK(bytes(sink.packets.back().packet) == bytes(red));
  rtp::RtpPacket other = media(9);
  other.set_ssrc(kFrontRtxSsrc);
  CHECK_FALSE(front.on_rtp(other, kT0, sink));
  CHECK(sink.packets.size() == 2);
  // Nothing to send, ever.
  std::vector<rtcp::RtcpPacket> feedback;
  for (uint16_t s = 20; s < 30; s += 3) front.on_rtp(media(s), kT0, sink);
  front.process(kT0 + TimeDelta::Seconds(1), feedback);
  CHECK(feedback.empty());
  CHECK_FALSE(front.next_wakeup());
}

TEST_CASE("receive front: RTX unwrap restores the original packet byte for byte") {
  RtpReceiveFront::Config c;
  c.ssrc = kSsrc;
  c.rtx_ssrc = kFrontRtxSsrc;
  c.rtx_payload_types[kRtxPt] = kPt;
  RtpReceiveFront front = make(c);
  Sink sink;
  const rtp::RtpPacket original = media(1234, 9000, 0, true);
  const rtp::RtpPacket rtx = recovery::build_rtx(original, kFrontRtxSsrc, kRtxPt, 55).value();
  CHECK(front.owns_ssrc(kFrontRtxSsrc));
  CHECK(front.on_rtp(rtx, kT0, sink));
  REQUIRE(sink.packets.size() == 1);
  CHECK(bytes(sink.packets[0].packet) == bytes(original));
  CHECK(sink.packets[0].origin == PacketOrigin::kRetransmission);
  CHECK(sink.packets[0].packet.arrival_time == kT0);
  CHECK(front.counters().retransmitted_packets_received == 1);
  // A padding-only probe on the RTX SSRC is ours but restores nothing.
  rtp::RtpPacketBuilder probe;
  probe.set_ssrc(kFrontRtxSsrc).set_payload_type(kRtxPt).set_sequence_number(56).set_padding(200);
  CHECK(front.on_rtp(probe.build().value(), kT0, sink));
  CHECK(sink.packets.size() == 1);
  CHECK(front.counters().rtx_rejected == 1);
}

TEST_CASE("receive front: RED split passes every block, the redundant ones first") {
  RtpReceiveFront::Config c;
  c.ssrc = kSsrc;
  c.red_payload_type = kRedPt;
  RtpReceiveFront front = make(c);
  auto enc = recovery::AudioRedEncoder::Create({kRedPt, 2, 1200}).value();
  Sink sink;
  for (uint16_t s = 10; s < 13; ++s) {
    CHECK(front.on_rtp(enc.encode(media(s, s * 960u)).value(), kT0, sink));
  }
  // 1 + 2 + 3 blocks; the last of each packet is its primary.
  REQUIRE(sink.packets.size() == 6);
  CHECK(sink.packets[5].packet.sequence_number() == 12);
  CHECK(sink.packets[5].origin == PacketOrigin::kMedia);
  CHECK(sink.packets[3].packet.sequence_number() == 10);
  CHECK(sink.packets[3].origin == PacketOrigin::kRedundancy);
  CHECK(bytes(sink.packets[5].packet) == bytes(media(12, 12 * 960u)));
  CHECK(front.counters().red_packets_received == 3);
}

TEST_CASE("receive front: ULPFEC in RED yields the lost packet, FEC counted in the statistics") {
  auto stats = rtp::ReceiveStatistics::Create({}).value();
  RtpReceiveFront::Config c;
  c.ssrc = kSsrc;
  c.red_payload_type = kRedPt;
  c.ulpfec_payload_type = kFecPt;
  c.statistics = &stats;
  c.clock_rates = {{kPt, 90000}, {kRedPt, 90000}};
  RtpReceiveFront front = make(c);

  const auto [frame, fec] = protected_frame();

  Sink sink;
  for (const rtp::RtpPacket& p : frame) {
    if (p.sequence_number() == 102) continue;  // lost
    CHECK(front.on_rtp(recovery::wrap_red(p, kRedPt).value(), kT0, sink));
  }
  for (const rtp::RtpPacket& p : fec) CHECK(front.on_rtp(p, kT0, sink));
  REQUIRE(sink.packets.size() == 4);
  const Delivered& rec = sink.packets[3];
  CHECK(rec.origin == PacketOrigin::kFecRecovery);
  CHECK(bytes(rec.packet) == bytes(frame[2]));
  CHECK(front.counters().fec_packets_recovered == 1);
  CHECK(front.counters().fec_packets_received == static_cast<int64_t>(fec.size()));
  // Statistics saw what travelled: 3 media + the FEC packets, none recovered.
  CHECK(stats.stats(kSsrc)->packets_received == static_cast<int64_t>(3 + fec.size()));
  // One FEC packet rebuilt 102; after that the others had nothing to repair (webrtc-stats: discarded).
  CHECK(front.counters().fec_packets_discarded == static_cast<int64_t>(fec.size()) - 1);
  // The same FEC packets again: nothing they protect is missing, so none is used.
  for (const rtp::RtpPacket& p : fec) front.on_rtp(p, kT0, sink);
  CHECK(front.counters().fec_packets_discarded == 2 * static_cast<int64_t>(fec.size()) - 1);
  // 102 was only late (reordered behind the FEC): its own copy arriving now makes the rebuild a
  // reordering, not a repaired loss; once only (a second copy is a plain duplicate).
  CHECK(front.counters().fec_recovered_then_received == 0);
  front.on_rtp(recovery::wrap_red(frame[2], kRedPt).value(), kT0, sink);
  CHECK(front.counters().fec_recovered_then_received == 1);
  front.on_rtp(recovery::wrap_red(frame[2], kRedPt).value(), kT0, sink);
  front.on_rtp(recovery::wrap_red(frame[1], kRedPt).value(), kT0, sink);  // never rebuilt
  CHECK(front.counters().fec_recovered_then_received == 1);
  CHECK(front.counters().fec_packets_recovered == 1);
}

TEST_CASE("receive front: a retransmission of a packet ULPFEC rebuilt leaves the rebuild a repaired loss") {
  // The NACK for 102 left before FEC rebuilt it; its answer arriving later says nothing about
  // reordering (counted as one, wifi-lossy's 12 s reported 3 FEC repairs where FEC had rebuilt 14
  // lost packets). Only 102's own late copy makes the rebuild a reordering.
  RtpReceiveFront::Config c = with_nack();
  c.red_payload_type = kRedPt;
  c.ulpfec_payload_type = kFecPt;
  c.rtx_ssrc = kFrontRtxSsrc;
  c.rtx_payload_types[kRtxPt] = kPt;
  c.clock_rates = {{kPt, 90000}, {kRedPt, 90000}};
  RtpReceiveFront front = make(c);
  const auto [frame, fec] = protected_frame();
  Sink sink;
  for (const rtp::RtpPacket& p : frame) {
    if (p.sequence_number() != 102) CHECK(front.on_rtp(recovery::wrap_red(p, kRedPt).value(), kT0, sink));
  }
  for (const rtp::RtpPacket& p : fec) CHECK(front.on_rtp(p, kT0, sink));
  REQUIRE(front.counters().fec_packets_recovered == 1);
  CHECK(front.on_rtp(recovery::build_rtx(frame[2], kFrontRtxSsrc, kRtxPt, 55).value(), kT0, sink));
  CHECK(front.counters().retransmitted_packets_received == 1);
  CHECK(front.counters().fec_recovered_then_received == 0);
  front.on_rtp(recovery::wrap_red(frame[2], kRedPt).value(), kT0, sink);
  CHECK(front.counters().fec_recovered_then_received == 1);
}

TEST_CASE("receive front: FlexFEC on its own SSRC yields the lost packet, the RTX-restored one counts as received") {
  constexpr uint32_t kFlexSsrc = 0x3333;
  constexpr uint8_t kFlexPt = 49;
  RtpReceiveFront::Config c = with_nack();
  c.rtx_ssrc = kFrontRtxSsrc;
  c.rtx_payload_types[kRtxPt] = kPt;
  c.flexfec_ssrc = kFlexSsrc;
  c.flexfec_payload_type = kFlexPt;
  RtpReceiveFront front = make(c);
  CHECK(front.owns_ssrc(kFlexSsrc));
  recovery::FlexfecGenerator gen({kFlexSsrc, kFlexPt, 7, kSsrc});
  gen.set_protection({255, 1, recovery::FecMaskType::kRandom}, {255, 1, recovery::FecMaskType::kRandom});
  std::vector<rtp::RtpPacket> frame;
  for (uint16_t s = 100; s < 104; ++s) frame.push_back(media(s, 3000, 0, s == 103));
  for (const rtp::RtpPacket& p : frame) gen.add_media_packet(p, true);
  std::vector<rtp::RtpPacket> fec = gen.take_fec_packets();
  REQUIRE(fec.size() >= 2);
  Sink sink;
  // 101 arrives by RTX (it still protects), 102 is lost: FlexFEC rebuilds 102 only.
  for (const rtp::RtpPacket& p : frame) {
    if (p.sequence_number() == 102) continue;
    CHECK(front.on_rtp(p.sequence_number() == 101 ? recovery::build_rtx(p, kFrontRtxSsrc, kRtxPt, 55).value() : p, kT0, sink));
  }
  CHECK(front.on_rtp(fec[0], kT0, sink));
  REQUIRE(sink.packets.size() == 4);
  CHECK(sink.packets[3].origin == PacketOrigin::kFecRecovery);
  CHECK(bytes(sink.packets[3].packet) == bytes(frame[2]));
  CHECK(front.counters().fec_packets_received == 1);
  CHECK(front.counters().fec_packets_recovered == 1);
  CHECK(front.nack_stats().packets_repaired_by_fec == 1);  // the gap 103 revealed, filled by FlexFEC
  // The other repair packets find nothing missing: discarded. A repair naming another protected
  // SSRC is malformed here (discarded too) and rebuilds nothing.
  for (size_t i = 1; i < fec.size(); ++i) front.on_rtp(fec[i], kT0, sink);
  recovery::FlexfecGenerator other({kFlexSsrc, kFlexPt, 50, 0x4444});
  other.set_protection({255, 1, recovery::FecMaskType::kRandom}, {255, 1, recovery::FecMaskType::kRandom});
  rtp::RtpPacket foreign = media(100, 3000, 0, true);
  foreign.set_ssrc(0x4444);
  other.add_media_packet(foreign, true);
  for (const rtp::RtpPacket& p : other.take_fec_packets()) front.on_rtp(p, kT0, sink);
  CHECK(sink.packets.size() == 4);
  CHECK(front.counters().fec_packets_discarded == front.counters().fec_packets_received - 1);
  // The FlexFEC SSRC may not be the media or RTX SSRC.
  c.flexfec_ssrc = kFrontRtxSsrc;
  CHECK_FALSE(RtpReceiveFront::Create(c).ok());
}

TEST_CASE("receive front: a repair is a missing packet filled, not every retransmission") {
  RtpReceiveFront::Config c = with_nack();
  c.rtx_ssrc = kFrontRtxSsrc;
  c.rtx_payload_types[kRtxPt] = kPt;
  RtpReceiveFront front = make(c);
  Sink sink;
  for (uint16_t s = 0; s < 10; ++s) {
    if (s != 4 && s != 6) front.on_rtp(media(s), kT0 + TimeDelta::Millis(s), sink);
  }
  const Timestamp later = kT0 + TimeDelta::Millis(100);
  uint16_t rtx_seq = 1;
  auto rtx_of = [&](uint16_t seq) { return recovery::build_rtx(media(seq), kFrontRtxSsrc, kRtxPt, rtx_seq++).value(); };
  front.on_rtp(rtx_of(4), later, sink);  // missing: repaired
  front.on_rtp(rtx_of(4), later, sink);  // the same again: a duplicate
  front.on_rtp(rtx_of(2), later, sink);  // 2 had arrived (a NACK for a reordered packet, say)
  front.on_rtp(media(6), later, sink);   // 6 arrives late on its own: reordered, not repaired
  front.on_rtp(rtx_of(6), later, sink);  // ... and its retransmission is needless
  CHECK(front.counters().retransmitted_packets_received == 4);
  const recovery::NackGeneratorStats n = front.nack_stats();
  CHECK(n.packets_repaired_by_rtx == 1);
  CHECK(n.packets_repaired_by_fec == 0);
  CHECK(n.packets_late == 1);
}

TEST_CASE("receive front: a packet FEC rebuilt is a FEC repair, its retransmission repairs nothing") {
  RtpReceiveFront::Config c = with_nack();
  c.rtx_ssrc = kFrontRtxSsrc;
  c.rtx_payload_types[kRtxPt] = kRedPt;  // retransmissions of RED-wrapped packets
  c.red_payload_type = kRedPt;
  c.ulpfec_payload_type = kFecPt;
  RtpReceiveFront front = make(c);
  const auto [frame, fec] = protected_frame();
  Sink sink;
  for (const rtp::RtpPacket& p : frame) {
    if (p.sequence_number() != 102) front.on_rtp(recovery::wrap_red(p, kRedPt).value(), kT0, sink);
  }
  for (const rtp::RtpPacket& p : fec) front.on_rtp(p, kT0, sink);
  const rtp::RtpPacket red102 = recovery::wrap_red(frame[2], kRedPt).value();
  front.on_rtp(recovery::build_rtx(red102, kFrontRtxSsrc, kRtxPt, 1).value(), kT0 + TimeDelta::Millis(50), sink);
  CHECK(front.counters().fec_packets_recovered == 1);
  CHECK(front.counters().retransmitted_packets_received == 1);
  const recovery::NackGeneratorStats n = front.nack_stats();
  CHECK(n.packets_repaired_by_fec == 1);
  CHECK(n.packets_repaired_by_rtx == 0);
}

TEST_CASE("receive front: statistics count media and retransmissions on the media SSRC") {
  auto stats = rtp::ReceiveStatistics::Create({}).value();
  RtpReceiveFront::Config c;
  c.ssrc = kSsrc;
  c.rtx_ssrc = kFrontRtxSsrc;
  c.rtx_payload_types[kRtxPt] = kPt;
  c.statistics = &stats;
  c.clock_rates = {{kPt, 90000}};
  RtpReceiveFront front = make(c);
  Sink sink;
  for (uint16_t s = 0; s < 10; ++s) {
    if (s != 4) front.on_rtp(media(s, s * 3000u), kT0 + TimeDelta::Millis(33 * s), sink);
  }
  front.on_rtp(recovery::build_rtx(media(4, 12000), kFrontRtxSsrc, kRtxPt, 1).value(), kT0 + TimeDelta::Millis(400), sink);
  auto s = stats.stats(kSsrc);
  REQUIRE(s);
  CHECK(s->packets_received == 10);
  CHECK(s->retransmitted_packets_received == 1);
  CHECK(s->packets_lost == 0);
  CHECK_FALSE(stats.stats(kFrontRtxSsrc));
  // Refused clock rates are refused at creation.
  c.clock_rates = {{200, 90000}};
  CHECK_FALSE(RtpReceiveFront::Create(c).ok());
}

TEST_CASE("receive front: a gap is NACKed after the reorder wait, repaired ones are not") {
  RtpReceiveFront::Config c = with_nack();
  c.nack->reorder_wait = TimeDelta::Millis(20);
  RtpReceiveFront front = make(c);
  Sink sink;
  front.on_rtp(media(1), kT0, sink);
  front.on_rtp(media(4), kT0, sink);  // 2 and 3 missing
  std::vector<rtcp::RtcpPacket> feedback;
  front.process(kT0 + TimeDelta::Millis(10), feedback);
  CHECK(feedback.empty());  // within the reorder wait
  REQUIRE(front.next_wakeup());
  CHECK(*front.next_wakeup() == kT0 + TimeDelta::Millis(20));
  front.process(*front.next_wakeup(), feedback);
  REQUIRE(feedback.size() == 1);
  const auto* nack = std::get_if<rtcp::Nack>(&feedback[0]);
  REQUIRE(nack != nullptr);
  CHECK(nack->sender_ssrc == kLocal);
  CHECK(nack->media_ssrc == kSsrc);
  CHECK(nack->lost == std::vector<uint16_t>{2, 3});
  CHECK(front.counters().nack_count == 1);
  // 2 arrives late: the retry asks for 3 only.
  front.on_rtp(media(2), kT0 + TimeDelta::Millis(60), sink);
  front.process(kT0 + TimeDelta::Millis(500), feedback);
  REQUIRE(feedback.size() == 2);
  CHECK(std::get<rtcp::Nack>(feedback[1]).lost == std::vector<uint16_t>{3});
  // A NACK with a bad configuration is refused at creation.
  c.nack->max_retries = 0;
  CHECK_FALSE(RtpReceiveFront::Create(c).ok());
}

TEST_CASE("receive front: a complete keyframe ends the NACKs before it, keyframe requests") {
  RtpReceiveFront front = make(with_nack());
  Sink sink;
  front.on_rtp(media(1), kT0, sink);
  sink.verdict.keyframe_packet = true;
  sink.verdict.keyframe_first_seq = 5;
  front.on_rtp(media(5), kT0, sink);  // 2..4 missing, but moot
  std::vector<rtcp::RtcpPacket> feedback;
  front.process(kT0 + TimeDelta::Millis(1), feedback);
  CHECK(feedback.empty());

  front.request_keyframe();
  front.process(kT0 + TimeDelta::Millis(2), feedback);
  REQUIRE(feedback.size() == 1);
  CHECK(std::holds_alternative<rtcp::Pli>(feedback[0]));
  front.request_keyframe(uint8_t{7});
  front.request_keyframe();  // does not downgrade the FIR
  front.process(kT0 + TimeDelta::Millis(3), feedback);
  REQUIRE(feedback.size() == 2);
  const auto* fir = std::get_if<rtcp::Fir>(&feedback[1]);
  REQUIRE(fir != nullptr);
  REQUIRE(fir->entries.size() == 1);
  CHECK(fir->entries[0].seq_nr == 7);
  CHECK(fir->entries[0].ssrc == kSsrc);
  front.process(kT0 + TimeDelta::Millis(4), feedback);
  CHECK(feedback.size() == 2);  // each request is sent once
  CHECK(front.counters().pli_count == 1);
  CHECK(front.counters().fir_count == 1);
}

TEST_CASE("receive front: invalid configurations are rejected") {
  RtpReceiveFront::Config c;
  CHECK_FALSE(RtpReceiveFront::Create(c).ok());  // zero SSRC
  c.ssrc = kSsrc;
  c.ulpfec_payload_type = kFecPt;
  CHECK_FALSE(RtpReceiveFront::Create(c).ok());  // ULPFEC without RED
}

}  // namespace tern::pipeline

namespace tern::pipeline {
namespace {

TEST_CASE("receive front: ULPFEC without NACK asks for a keyframe once a lost packet is past repair") {
  RtpReceiveFront::Config c;
  c.ssrc = kSsrc;
  c.local_ssrc = kLocal;
  c.red_payload_type = kRedPt;
  c.ulpfec_payload_type = kFecPt;
  c.clock_rates = {{kPt, 90000}, {kRedPt, 90000}};
  RtpReceiveFront front = make(c);
  Sink sink;
  std::vector<rtcp::RtcpPacket> feedback;
  Timestamp now = kT0;
  uint16_t seq = 100;
  // Frames of 3 packets; the middle packet of the third frame is lost and no FEC repairs it.
  for (int frame = 0; frame < 8; ++frame) {
    for (int p = 0; p < 3; ++p, ++seq) {
      if (frame == 2 && p == 1) continue;
      rtp::RtpPacket m = media(seq, static_cast<uint32_t>(3000 * frame), 0, p == 2);
      front.on_rtp(recovery::wrap_red(m, kRedPt).value(), now, sink);
    }
    front.process(now, feedback);
    // Nothing before FEC could have come (3 newer frames), then exactly one request.
    const bool pli = !feedback.empty() && std::holds_alternative<rtcp::Pli>(feedback.back());
    CHECK(pli == (frame == 5));
    feedback.clear();
    now = now + TimeDelta::Millis(33);
  }
  CHECK(front.nack_stats().keyframe_requests == 1);
  CHECK(front.counters().nack_count == 0);  // no NACK was ever sent
}

}  // namespace
}  // namespace tern::pipeline
