// MediaRouter's shared packet stores (recovery/packet_store.h): each inbound stream's packets are
// kept once, and every receiving leg's RTX history refers to them. A subscriber's NACK is answered
// with its own packet (its sequence number, payload type and extension ids), also after the
// publisher's leg is gone (the histories pin the store), and not once the packet is older than the
// hop's 1 s. And the copies it forwards are built in the caller's recycled buffers.
#include <array>
#include <span>
#include <vector>

#include "doctest/doctest.h"
#include "tern/core/buffer_pool.h"
#include "tern/core/byte_io.h"
#include "tern/pipeline/media_router.h"
#include "tern/rtp/rtcp/rtcp_packet.h"
#include "tern/rtp/rtp_packet_builder.h"
#include "tern/rtp/rtp_rtcp_split.h"

namespace tern::pipeline {
namespace {

struct StoreCapture final : DatagramSink {
  std::vector<std::vector<uint8_t>> datagrams;
  void on_datagram(std::vector<uint8_t> d, Timestamp) override { datagrams.push_back(std::move(d)); }
  std::vector<rtp::RtpPacket> rtp(uint32_t ssrc) const {
    std::vector<rtp::RtpPacket> out;
    for (const auto& d : datagrams) {
      if (rtp::is_rtcp(d)) continue;
      auto p = rtp::RtpPacket::parse(std::span<const uint8_t>(d));
      if (p.ok() && p->ssrc() == ssrc && p->payload_size() > 0) out.push_back(std::move(p).value());
    }
    return out;
  }
};

std::vector<uint8_t> nack_from(uint32_t media_ssrc, std::vector<uint16_t> seqs) {
  rtcp::Nack nack;
  nack.sender_ssrc = 0x99;
  nack.media_ssrc = media_ssrc;
  nack.lost = std::move(seqs);
  return rtcp::build_compound(std::vector<rtcp::RtcpPacket>{rtcp::ReceiverReport{0x99, {}, {}}, nack});
}

TEST_CASE("media router: subscribers' RTX from the shared store, after the publisher left, not past 1 s") {
  constexpr uint32_t kSsrc = 0x7171, kRtxSsrc = 0x7272;
  MediaRouter::Config rc;
  rc.subscriber_estimates = false;
  auto router = MediaRouter::Create(rc);
  REQUIRE(router.ok());
  MediaRouter& r = **router;
  StoreCapture to_pub, to_a, to_b;
  MediaRouter::ForwardedStream f;
  f.ssrc = kSsrc;
  f.rtx_ssrc = kRtxSsrc;
  auto pub = r.add_leg(0x61, &to_pub, {f});
  auto a = r.add_leg(0x62, &to_a, {});
  auto b = r.add_leg(0x63, &to_b, {});
  REQUIRE(pub.ok());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  MediaRouter::ForwardedStream fb = f;
  fb.media_payload_type = 120;  // b has its own numbers: its packets differ from a's in the header
  fb.rtx_payload_type = 121;
  REQUIRE(r.add_outbound(*a, f).ok());
  REQUIRE(r.add_outbound(*b, fb).ok());
  Timestamp now = Timestamp::Seconds(1);
  std::vector<uint8_t> payload(700);
  for (uint16_t i = 0; i < 20; ++i, now += TimeDelta::Millis(10)) {
    for (size_t k = 0; k < payload.size(); ++k) payload[k] = static_cast<uint8_t>(i * 31 + k);
    rtp::RtpPacketBuilder pb;
    pb.set_sequence_number(static_cast<uint16_t>(40 + i)).set_timestamp(3000u * i).set_ssrc(kSsrc).set_payload_type(96);
    pb.set_payload(payload);
    r.on_packet(*pub, pb.build().value().data(), now);
    r.process(now);
  }
  const std::vector<rtp::RtpPacket> got_a = to_a.rtp(kSsrc), got_b = to_b.rtp(kSsrc);
  REQUIRE(got_a.size() == 20);
  REQUIRE(got_b.size() == 20);
  // Both answered from the one copy: each gets its own packet back (OSN, payload type, payload).
  auto check_rtx = [](const rtp::RtpPacket& rtx, const rtp::RtpPacket& sent, uint8_t rtx_pt) {
    CHECK(rtx.payload_type() == rtx_pt);
    CHECK(rtx.timestamp() == sent.timestamp());
    REQUIRE(rtx.payload_size() == sent.payload_size() + 2);
    CHECK(load_be16(rtx.payload().data()) == sent.sequence_number());
    CHECK(std::ranges::equal(rtx.payload().subspan(2), sent.payload()));
  };
  to_a.datagrams.clear();
  to_b.datagrams.clear();
  r.on_packet(*a, nack_from(kSsrc, {got_a[3].sequence_number()}), now);
  r.on_packet(*b, nack_from(kSsrc, {got_b[5].sequence_number()}), now);
  r.process(now);
  std::vector<rtp::RtpPacket> rtx_a = to_a.rtp(kRtxSsrc), rtx_b = to_b.rtp(kRtxSsrc);
  REQUIRE(rtx_a.size() == 1);
  REQUIRE(rtx_b.size() == 1);
  check_rtx(rtx_a[0], got_a[3], f.rtx_payload_type);
  check_rtx(rtx_b[0], got_b[5], 121);

  // The publisher leaves: its store stays while the subscribers' histories refer to it.
  r.remove_leg(*pub);
  to_a.datagrams.clear();
  r.on_packet(*a, nack_from(kSsrc, {got_a[10].sequence_number()}), now);
  r.process(now);
  rtx_a = to_a.rtp(kRtxSsrc);
  REQUIRE(rtx_a.size() == 1);
  check_rtx(rtx_a[0], got_a[10], f.rtx_payload_type);

  // 1 s after it was sent, a packet is no longer answered.
  now = Timestamp::Seconds(1) + TimeDelta::Millis(10 * 15) + TimeDelta::Seconds(1) + TimeDelta::Millis(1);
  to_b.datagrams.clear();
  r.on_packet(*b, nack_from(kSsrc, {got_b[15].sequence_number(), got_b[19].sequence_number()}), now);
  r.process(now);
  rtx_b = to_b.rtp(kRtxSsrc);
  REQUIRE(rtx_b.size() == 1);
  check_rtx(rtx_b[0], got_b[19], 121);
  CHECK(r.counters(*a).retransmissions_sent == 2);
  CHECK(r.counters(*b).retransmissions_sent == 2);
}

// A subscriber's link: datagrams queue until flush() "sends" them and gives their buffers back, as
// tern-sfu's worker does after sendmmsg.
struct RecyclingSink final : DatagramSink {
  BufferPool* pool = nullptr;
  uint64_t rtp_packets = 0;
  std::vector<std::vector<uint8_t>> queued;
  void on_datagram(std::vector<uint8_t> d, Timestamp) override {
    if (!rtp::is_rtcp(d)) ++rtp_packets;
    queued.push_back(std::move(d));
  }
  void flush() {
    for (auto& d : queued) pool->give(std::move(d));
    queued.clear();
  }
};

TEST_CASE("media router: forwarded copies are built in the caller's recycled buffers") {
  constexpr uint32_t kSsrc = 0x7373;
  BufferPool pool(1536, 64);
  MediaRouter::Config rc;
  rc.buffers = &pool;
  auto router = MediaRouter::Create(rc);
  REQUIRE(router.ok());
  MediaRouter& r = **router;
  StoreCapture to_pub;
  std::array<RecyclingSink, 4> subs;
  MediaRouter::ForwardedStream f;
  f.ssrc = kSsrc;
  f.rtx_ssrc = kSsrc + 1;
  auto pub = r.add_leg(0x61, &to_pub, {f});
  REQUIRE(pub.ok());
  for (size_t i = 0; i < subs.size(); ++i) {
    subs[i].pool = &pool;
    auto leg = r.add_leg(static_cast<uint32_t>(0x70 + i), &subs[i], {});
    REQUIRE(leg.ok());
    REQUIRE(r.add_outbound(*leg, f).ok());
  }
  Timestamp now = Timestamp::Seconds(1);
  for (uint16_t i = 0; i < 200; ++i, now += TimeDelta::Millis(10)) {
    rtp::RtpPacketBuilder pb;
    pb.set_sequence_number(i).set_timestamp(3000u * i).set_ssrc(kSsrc).set_payload_type(96);
    const std::vector<uint8_t> payload(1100, static_cast<uint8_t>(i));  // the builder keeps a view
    pb.set_payload(payload);
    r.on_packet(*pub, pb.build().value().data(), now);
    r.process(now);
    for (RecyclingSink& s : subs) s.flush();
  }
  for (const RecyclingSink& s : subs) CHECK(s.rtp_packets == 200);
  // 800 copies, and the pool had to allocate only for the first packet's four (it was empty).
  CHECK(pool.allocated() == subs.size());
  // Larger than the pool's buffers: copied as before, still forwarded.
  rtp::RtpPacketBuilder big;
  big.set_sequence_number(200).set_timestamp(3000u * 200).set_ssrc(kSsrc).set_payload_type(96);
  const std::vector<uint8_t> big_payload(1520, 1);
  big.set_payload(big_payload);
  r.on_packet(*pub, big.build().value().data(), now);
  for (const RecyclingSink& s : subs) CHECK(s.rtp_packets == 201);
  CHECK(pool.allocated() == subs.size());
}

}  // namespace
}  // namespace tern::pipeline
