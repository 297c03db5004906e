#include "tern/recovery/packet_history.h"

#include <doctest/doctest.h>

#include <vector>

#include "recovery_test_util.h"
#include "tern/core/byte_io.h"
#include "tern/recovery/red.h"
#include "tern/recovery/rtx.h"

using namespace tern;
using namespace tern::recovery;
using tern::recovery::test::random_packet;
using tern::recovery::test::same_bytes;

namespace {

constexpr uint32_t kHistoryMediaSsrc = 0x1111, kHistoryRtxSsrc = 0x2222;

PacketHistory::Config config() {
  PacketHistory::Config c;
  c.rtx_ssrc = kHistoryRtxSsrc;
  c.rtx_payload_type = 97;
  c.rtx_pt_for_media_pt = {{96, 97}, {100, 101}};
  c.first_rtx_sequence_number = 65535;
  c.retransmission_rate = DataRate::MegabitsPerSec(10);
  return c;
}

RtxReceiver rtx_receiver() {
  RtxReceiver rx({kHistoryRtxSsrc, kHistoryMediaSsrc, {}});
  rx.map_payload_type(97, 96);
  rx.map_payload_type(101, 100);
  return rx;
}

}  // namespace

TEST_CASE("rtx: build -> unwrap restores the original byte for byte (RFC 4588)") {
  Random rng(1);
  auto rx = rtx_receiver();
  for (int i = 0; i < 300; ++i) {
    auto original = random_packet(rng, static_cast<uint16_t>(rng.next_u32()), rng.next_u32(), kHistoryMediaSsrc,
                                  rng.bernoulli(0.5) ? 96 : 100);
    const uint16_t rtx_seq = static_cast<uint16_t>(rng.next_u32());
    const uint8_t rtx_pt = original.payload_type() == 96 ? 97 : 101;
    auto rtx = build_rtx(original, kHistoryRtxSsrc, rtx_pt, rtx_seq);
    REQUIRE(rtx.ok());
    CHECK(rtx->ssrc() == kHistoryRtxSsrc);
    CHECK(rtx->payload_type() == rtx_pt);
    CHECK(rtx->sequence_number() == rtx_seq);
    CHECK(rtx->timestamp() == original.timestamp());
    CHECK(rtx->marker() == original.marker());
    CHECK(rtx->padding_size() == 0);
    REQUIRE(rtx->payload_size() == original.payload_size() + 2);
    CHECK(load_be16(rtx->payload().data()) == original.sequence_number());  // OSN first
    CHECK(rtx->header().header_size == original.header().header_size);   // CSRCs, extensions kept
    auto back = rx.unwrap(*rtx);
    REQUIRE(back.ok());
    // Padding is not carried over RTX, so compare against the original without its padding.
    CHECK(back->sequence_number() == original.sequence_number());
    CHECK(back->payload_type() == original.payload_type());
    CHECK(back->ssrc() == kHistoryMediaSsrc);
    const auto want = original.data().first(original.size() - original.padding_size());
    std::vector<uint8_t> want_bytes(want.begin(), want.end());
    want_bytes[0] &= static_cast<uint8_t>(~0x20);
    CHECK(std::vector<uint8_t>(back->data().begin(), back->data().end()) == want_bytes);
  }
  CHECK(rx.stats().retransmitted_packets_received == 300);
}

TEST_CASE("rtx receiver: wrong SSRC, unmapped payload type and padding-only probes are rejected") {
  auto rx = rtx_receiver();
  Random rng(2);
  auto media = random_packet(rng, 5, 5, kHistoryMediaSsrc, 96);
  CHECK(!rx.unwrap(media).ok());
  auto rtx = build_rtx(media, kHistoryRtxSsrc, 99, 1);
  CHECK(std::string(rx.unwrap(*rtx).error()) == "rtx: payload type not mapped");
  rtp::RtpPacketBuilder b;
  b.set_ssrc(kHistoryRtxSsrc).set_payload_type(97).set_padding(200);
  CHECK(std::string(rx.unwrap(b.build().value()).error()) == "rtx: no original sequence number");
  CHECK(rx.stats().rejected == 3);
}

TEST_CASE("packet history: NACK -> RTX, once per RTT, wrap-aware lookup, RTX sequence numbers") {
  auto h = PacketHistory::Create(config());
  REQUIRE(h.ok());
  Random rng(3);
  Timestamp t = Timestamp::Millis(1000);
  std::vector<rtp::RtpPacket> sent;
  for (int i = 0; i < 20; ++i) {
    sent.push_back(random_packet(rng, static_cast<uint16_t>(65530 + i), 0, kHistoryMediaSsrc, i % 2 ? 96 : 100, 500));
    h->put(sent.back(), t);
    t += TimeDelta::Millis(5);
  }
  const TimeDelta rtt = TimeDelta::Millis(100);
  const uint16_t nack[] = {65533, 2, 65535, 40};
  auto out = h->on_nack(nack, t, rtt);
  REQUIRE(out.size() == 3);
  CHECK(out[0].sequence_number() == 65535);  // RTX numbering from first_rtx_sequence_number
  CHECK(out[1].sequence_number() == 0);
  CHECK(out[2].sequence_number() == 1);
  auto rx = rtx_receiver();
  const uint16_t want[] = {65533, 2, 65535};
  for (size_t i = 0; i < 3; ++i) {
    auto back = rx.unwrap(out[i]);
    REQUIRE(back.ok());
    CHECK(back->sequence_number() == want[i]);
    const auto& original = sent[static_cast<uint16_t>(want[i] - 65530)];
    CHECK(back->payload_type() == original.payload_type());
    CHECK(std::vector<uint8_t>(back->payload().begin(), back->payload().end()) ==
          std::vector<uint8_t>(original.payload().begin(), original.payload().end()));
  }
  CHECK(h->stats().not_found == 1);
  // Asked again within half an RTT (resend_guard): refused; after it: sent again.
  CHECK(h->on_nack(nack, t + TimeDelta::Millis(40), rtt).empty());
  CHECK(h->stats().refused_too_soon == 3);
  CHECK(h->on_nack(nack, t + TimeDelta::Millis(50), rtt).size() == 3);
  CHECK(h->stats().retransmitted_packets_sent == 6);
}

TEST_CASE("packet history: a receiver whose RTT is lower than ours gets its retries answered") {
  // Measured in tern-loopback (8% loss in bursts of 3): the sender's RTT 167 ms, the receiver's
  // 129 ms; its retry for a lost retransmission came 1.25 x 129 = 161 ms after the first and a
  // whole-RTT guard refused it. libwebrtc's receivers retry after exactly their RTT.
  auto h = PacketHistory::Create(config());
  REQUIRE(h.ok());
  Random rng(5);
  Timestamp t = Timestamp::Millis(2000);
  for (int i = 0; i < 4; ++i) h->put(random_packet(rng, static_cast<uint16_t>(100 + i), 0, kHistoryMediaSsrc, 96, 800), t);
  const TimeDelta sender_rtt = TimeDelta::Millis(167);
  const uint16_t lost[] = {101, 102, 103};
  REQUIRE(h->on_nack(lost, t, sender_rtt).size() == 3);
  CHECK(h->on_nack(lost, t + TimeDelta::Millis(161), sender_rtt).size() == 3);
  CHECK(h->on_nack(lost, t + TimeDelta::Millis(290), sender_rtt).size() == 3);
  // A duplicate NACK right behind the first (before any answer could have arrived) is not.
  CHECK(h->on_nack(lost, t + TimeDelta::Millis(300), sender_rtt).empty());
  CHECK(h->stats().refused_too_soon == 3);
  // A guard of one RTT (libwebrtc's sender rule) would have refused the retry.
  auto strict_config = config();
  strict_config.resend_guard = 1.0;
  auto strict = PacketHistory::Create(strict_config);
  REQUIRE(strict.ok());
  for (int i = 0; i < 4; ++i) strict->put(random_packet(rng, static_cast<uint16_t>(100 + i), 0, kHistoryMediaSsrc, 96, 800), t);
  REQUIRE(strict->on_nack(lost, t, sender_rtt).size() == 3);
  CHECK(strict->on_nack(lost, t + TimeDelta::Millis(161), sender_rtt).empty());
  auto bad = config();
  bad.resend_guard = 1.5;
  CHECK_FALSE(PacketHistory::Create(bad).ok());
}

TEST_CASE("packet history: bounded by count and by age") {
  auto c = config();
  c.max_packets = 10;
  c.max_age = TimeDelta::Millis(100);
  auto h = PacketHistory::Create(c);
  REQUIRE(h.ok());
  Random rng(4);
  for (int i = 0; i < 25; ++i) h->put(random_packet(rng, static_cast<uint16_t>(i), 0, kHistoryMediaSsrc, 96, 100), Timestamp::Millis(i));
  CHECK(h->size() == 10);
  CHECK(h->get(14) == nullptr);
  CHECK(h->get(15) != nullptr);
  const uint16_t nack[] = {24};
  CHECK(h->on_nack(nack, Timestamp::Millis(24 + 101), TimeDelta::Millis(10)).empty());
  CHECK(h->size() == 0);
  CHECK(h->stats().not_found == 1);
  PacketHistory::Config bad = config();
  bad.max_packets = 0;
  CHECK(!PacketHistory::Create(bad).ok());
  bad = config();
  bad.max_age = TimeDelta::Zero();
  CHECK(!PacketHistory::Create(bad).ok());
}

TEST_CASE("packet history: retransmissions stay within the rate budget (token bucket)") {
  auto c = config();
  c.retransmission_rate = DataRate::KilobitsPerSec(160);  // 20 kB/s
  c.budget_window = TimeDelta::Millis(500);               // bucket: 10 kB
  auto h = PacketHistory::Create(c);
  REQUIRE(h.ok());
  std::vector<uint8_t> payload(998, 1);
  std::vector<uint16_t> seqs;
  for (uint16_t i = 0; i < 100; ++i) {
    rtp::RtpPacketBuilder b;
    b.set_ssrc(kHistoryMediaSsrc).set_payload_type(96).set_sequence_number(i).set_payload(payload);
    h->put(b.build().value(), Timestamp::Millis(0));
    seqs.push_back(i);
  }
  // 1012-byte RTX packets: nine fit in the initial 10 kB bucket.
  auto out = h->on_nack(seqs, Timestamp::Millis(1), TimeDelta::Millis(10));
  CHECK(out.size() == 9);
  CHECK(h->stats().refused_rate_limit == 91);
  // One second later 20 kB were refilled, capped at the 10 kB bucket.
  out = h->on_nack(seqs, Timestamp::Millis(1001), TimeDelta::Millis(10));
  CHECK(out.size() == 9);
  // Rate set to zero: nothing goes out.
  h->set_retransmission_rate(DataRate::Zero(), Timestamp::Millis(1001));
  CHECK(h->on_nack(seqs, Timestamp::Millis(3000), TimeDelta::Millis(10)).empty());
}

// ULPFEC's RED wrapping is not retransmitted: the RTX payload type's apt is the codec (Chromium
// decoded a RED-wrapped retransmission as VP8 and lost the frame). A RED packet with redundant
// blocks (audio style) is not unwrapped.
TEST_CASE("packet history: RED-wrapped video is retransmitted as its media block under the codec's RTX type") {
  PacketHistory::Config c = config();
  c.rtx_pt_for_media_pt = {{96, 97}};
  c.unwrap_red_payload_type = 100;
  auto h = PacketHistory::Create(c);
  REQUIRE(h.ok());
  Random rng(5);
  const rtp::RtpPacket media = random_packet(rng, 10, 0, kHistoryMediaSsrc, 96, 400);
  auto red = wrap_red(media, 100);
  REQUIRE(red.ok());
  h->put(*red, Timestamp::Millis(1));
  const uint16_t lost[] = {10};
  auto out = h->on_nack(lost, Timestamp::Millis(50), TimeDelta::Millis(100));
  REQUIRE(out.size() == 1);
  CHECK(out[0].payload_type() == 97);
  RtxReceiver rx({kHistoryRtxSsrc, kHistoryMediaSsrc, {}});
  rx.map_payload_type(97, 96);
  auto back = rx.unwrap(out[0]);
  REQUIRE(back.ok());
  CHECK(back->payload_type() == 96);
  CHECK(back->sequence_number() == 10);
  CHECK(back->marker() == media.marker());
  CHECK(std::vector<uint8_t>(back->payload().begin(), back->payload().end()) ==
        std::vector<uint8_t>(media.payload().begin(), media.payload().end()));
  // Without the setting the RED packet goes as stored (under the default RTX type).
  PacketHistory::Config plain = config();
  plain.rtx_pt_for_media_pt = {{96, 97}};
  auto h2 = PacketHistory::Create(plain);
  REQUIRE(h2.ok());
  h2->put(*red, Timestamp::Millis(1));
  auto out2 = h2->on_nack(lost, Timestamp::Millis(50), TimeDelta::Millis(100));
  REQUIRE(out2.size() == 1);
  CHECK(out2[0].payload().size() == red->payload().size() + 2);
}

TEST_CASE("packet history: a FEC packet in RED is never retransmitted, the media beside it is") {
  // ULPFEC takes the media's sequence numbers, so receivers NACK a lost FEC packet like media.
  // Unwrapped like media it went out under the codec's RTX type: FEC bytes as a VP8 packet.
  PacketHistory::Config c = config();
  c.rtx_pt_for_media_pt = {{96, 97}};
  c.unwrap_red_payload_type = 100;
  Random rng(9);
  const rtp::RtpPacket media = random_packet(rng, 10, 0, kHistoryMediaSsrc, 96, 400);
  const rtp::RtpPacket fec_body = random_packet(rng, 11, 0, kHistoryMediaSsrc, 101, 200);
  auto red_media = wrap_red(media, 100);
  auto red_fec = wrap_red(fec_body, 100);
  REQUIRE(red_media.ok());
  REQUIRE(red_fec.ok());
  const uint16_t lost[] = {10, 11};
  SUBCASE("with fec_payload_type") {
    c.fec_payload_type = 101;
    auto h = PacketHistory::Create(c);
    REQUIRE(h.ok());
    h->put(*red_media, Timestamp::Millis(1));
    h->put(*red_fec, Timestamp::Millis(2));
    auto out = h->on_nack(lost, Timestamp::Millis(50), TimeDelta::Millis(100));
    REQUIRE(out.size() == 1);
    CHECK(load_be16(out[0].payload().data()) == 10);  // the OSN: the media packet
    CHECK(h->stats().refused_fec == 1);
    CHECK(h->stats().not_found == 0);
    // Asked again later: still refused, and no budget spent on it.
    auto again = h->on_nack(std::span<const uint16_t>(lost + 1, 1), Timestamp::Millis(500), TimeDelta::Millis(100));
    CHECK(again.empty());
    CHECK(h->stats().refused_fec == 2);
  }
  SUBCASE("without it (the old behaviour): the FEC packet goes as a 'media' block under the codec's RTX type") {
    auto h = PacketHistory::Create(c);
    REQUIRE(h.ok());
    h->put(*red_media, Timestamp::Millis(1));
    h->put(*red_fec, Timestamp::Millis(2));
    auto out = h->on_nack(lost, Timestamp::Millis(50), TimeDelta::Millis(100));
    REQUIRE(out.size() == 2);
    CHECK(out[1].payload_type() == 97);
    CHECK(h->stats().refused_fec == 0);
  }
}
